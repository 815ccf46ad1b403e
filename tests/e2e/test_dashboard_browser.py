"""A real browser (headless Chromium) enrols a user through the dashboard served locally."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.running_app import free_port, served_app
from voiceauth_core.testing import synthetic_voice, wav_bytes

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
#: Set to refresh the committed screenshot: VOICEAUTH_SCREENSHOT=docs/dashboard.png
SCREENSHOT = os.environ.get("VOICEAUTH_SCREENSHOT")


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin")
    assert found, f"{name} is missing: `make system-deps` installs it from Debian"
    return found


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with served_app(tmp_path) as api:
        port = free_port()
        env = {**os.environ, "API_BASE_URL": api, "VOICEAUTH_API_KEY": "", "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            [sys.executable, "-m", "voiceauth_web.cli", "dashboard", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{url}/_stcore/health", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "the dashboard did not start"
                    time.sleep(0.3)
            yield url, api
        finally:
            process.terminate()
            process.wait(timeout=20)
        # Stopping `voiceauth dashboard` stops Streamlit itself: nothing keeps the port.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{url}/_stcore/health", timeout=1)


def _browser(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=ChromeService(_binary("chromedriver")), options=options)


def test_a_browser_enrols_a_user_by_uploading_a_file(
    dashboard: tuple[str, str], tmp_path: Path
) -> None:
    url, api = dashboard
    sample = tmp_path / "alice.wav"
    sample.write_bytes(wav_bytes(synthetic_voice(seconds=5.0, seed=1)))
    browser = _browser(tmp_path / "profile")
    wait = WebDriverWait(browser, 60)
    try:
        browser.get(url)
        wait.until(
            ready.element_to_be_clickable((By.XPATH, "//label[.//p[text()='Enrol']]"))
        ).click()
        user_field = wait.until(
            ready.presence_of_element_located((By.XPATH, "//input[@aria-label='User id (UUID)']"))
        )
        user_id = user_field.get_attribute("value")
        assert user_id
        uuid.UUID(user_id)
        wait.until(
            ready.presence_of_element_located((By.XPATH, "//input[@type='file']"))
        ).send_keys(str(sample))
        add = "//button[.//p[text()='Add sample']]"
        wait.until(ready.element_to_be_clickable((By.XPATH, add))).click()
        wait.until(
            ready.presence_of_element_located(
                (By.XPATH, "//*[contains(text(), 'Enrolled: 1 sample')]")
            )
        )
        screenshot = ROOT / SCREENSHOT if SCREENSHOT else tmp_path / "dashboard.png"
        assert browser.save_screenshot(str(screenshot))
        assert screenshot.stat().st_size > 10_000
    finally:
        browser.quit()
    enrolled = httpx.get(f"{api}/api/v1/users/{user_id}").json()
    assert enrolled["sampleCount"] == 1
