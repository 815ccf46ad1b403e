"""/docs renders in a real browser with no network beyond the service (local Swagger UI)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.test_dashboard_browser import _browser
from tests.integration.running_app import served_app

pytestmark = pytest.mark.e2e

PATHS = ("/api/v1/enroll-user", "/api/v1/verify-password", "/api/v1/vapi/tool-calls")


def test_the_interactive_docs_render_every_route_from_local_assets(tmp_path: Path) -> None:
    with served_app(tmp_path) as api:
        page = httpx.get(f"{api}/docs", follow_redirects=True).text
        assert "cdn.jsdelivr" not in page
        browser = _browser(tmp_path / "profile")
        try:
            browser.get(f"{api}/docs")
            wait = WebDriverWait(browser, 60)
            for path in (
                "/api/v1/enroll-user",
                "/api/v1/verify-password",
                "/api/v1/vapi/tool-calls",
            ):
                wait.until(
                    ready.presence_of_element_located(
                        (By.CSS_SELECTOR, f".opblock-summary-path[data-path='{path}']")
                    )
                )
            title = browser.find_element(By.CSS_SELECTOR, ".info .title").text
            assert title.startswith("voiceauth")
        finally:
            browser.quit()
