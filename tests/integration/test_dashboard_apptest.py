"""Every dashboard page with Streamlit's AppTest, against the real app served over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from tests.integration.running_app import free_port, served_app
from voiceauth_core.testing import ALICE, wav_bytes
from voiceauth_web.dashboard.client import ApiClient, ApiError

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parents[2] / "voiceauth_web" / "dashboard" / "app.py"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    with served_app(tmp_path) as base:
        yield base


def _dashboard(base: str, monkeypatch: pytest.MonkeyPatch, page: str, key: str = "") -> AppTest:
    monkeypatch.setenv("API_BASE_URL", base)
    monkeypatch.setenv("VOICEAUTH_API_KEY", key)
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    app.sidebar.radio(key="page").set_value(page).run()
    assert not app.exception, app.exception
    return app


def _enrol_and_verify(base: str) -> str:
    user = str(uuid.uuid4())
    audio = wav_bytes(ALICE.voice(seconds=5.0, seed=1))
    files = {"file": ("a.wav", audio, "audio/wav")}
    httpx.post(
        f"{base}/api/v1/users/{user}/enrollments",
        files=files,
        data={"phone": "+14155550166"},
        timeout=30,
    ).raise_for_status()
    httpx.post(
        f"{base}/api/v1/users/{user}/verifications", files=files, timeout=30
    ).raise_for_status()
    return user


def test_health_page_shows_the_operating_point(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _dashboard(service, monkeypatch, "Health")
    assert "Status: ok" in app.success[0].value
    assert app.metric[0].value == "0.82"
    assert any("Operating point" in info.value for info in app.info)


def test_enrol_and_verify_pages_wait_for_audio(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrol = _dashboard(service, monkeypatch, "Enrol")
    uuid.UUID(enrol.text_input(key="enrol_user").value)  # a fresh user id is proposed
    assert enrol.button[1].disabled  # "Add sample" waits for a file or a recording
    verify = _dashboard(service, monkeypatch, "Try a verification")
    assert verify.button[0].disabled


def test_users_page_lists_details_and_erases_with_confirmation(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _enrol_and_verify(service)
    app = _dashboard(service, monkeypatch, "Users")
    assert user in app.dataframe[0].value["userId"].tolist()
    assert app.metric[0].value == "+*********66"
    assert [m.label for m in app.metric][-1] == "Phone-band voiceprint"
    assert app.metric[-1].value == "yes"  # enrolled by the service, which makes one
    delete = next(b for b in app.button if b.label == "Delete user")
    assert delete.disabled
    app.checkbox(key="user_confirm").check().run()
    next(b for b in app.button if b.label == "Delete user").click().run()
    assert f"User {user} erased." in app.success[0].value
    assert httpx.get(f"{service}/api/v1/users/{user}").status_code == 404


def test_analytics_page_draws_charts(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _enrol_and_verify(service)
    app = _dashboard(service, monkeypatch, "Analytics")
    headers = [h.value for h in app.subheader]
    assert "Attempts over time" in headers
    assert "Scores of accepted and rejected callers" in headers
    assert len(app.get("vega_lite_chart")) >= 3


def test_a_service_that_is_down_is_said_so(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _dashboard(f"http://127.0.0.1:{free_port()}", monkeypatch, "Users")
    assert "ServiceUnavailable" in app.error[0].value


def test_a_wrong_api_key_shows_the_apis_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served_app(tmp_path, api_keys=("right",)) as base:
        refused = _dashboard(base, monkeypatch, "Users", key="wrong")
        assert "AuthenticationError: missing or invalid API key" in refused.error[0].value
        allowed = _dashboard(base, monkeypatch, "Users", key="right")
        assert not allowed.error


def test_the_client_carries_a_404_as_the_api_named_it(service: str) -> None:
    with pytest.raises(ApiError) as caught:
        ApiClient(base_url=service).user(str(uuid.uuid4()))
    assert caught.value.status == 404
    assert caught.value.name == "UserNotFoundError"
