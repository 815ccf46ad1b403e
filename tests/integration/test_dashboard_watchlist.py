"""The dashboard's fraud watchlist page with Streamlit's AppTest, against the real app over HTTP."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.integration.running_app import served_app
from tests.integration.test_dashboard_apptest import _dashboard
from voiceauth_core.testing import ALICE, wav_bytes

pytestmark = pytest.mark.integration


def _upload(seed: int) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("a.wav", wav_bytes(ALICE.voice(seconds=5.0, seed=seed)), "audio/wav")}


def test_report_fraud_from_an_attempt_then_its_matches_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served_app(tmp_path, watchlist_threshold=0.82) as base:
        user = str(uuid.uuid4())
        httpx.post(
            f"{base}/api/v1/users/{user}/enrollments", files=_upload(1), timeout=30
        ).raise_for_status()
        first = httpx.post(
            f"{base}/api/v1/users/{user}/verifications", files=_upload(2), timeout=30
        )
        attempt = first.json()["attemptId"]

        app = _dashboard(base, monkeypatch, "Fraud watchlist")
        assert app.metric[0].value == "0"
        report = next(b for b in app.button if b.label == "Report fraud")
        assert report.disabled  # a label first
        app.text_input(key="report_label").set_value("account takeover").run()
        next(b for b in app.button if b.label == "Report fraud").click().run()
        assert not app.exception, app.exception
        assert "Added to the watchlist" in app.success[0].value
        entries = httpx.get(f"{base}/api/v1/watchlist", timeout=30).json()["entries"]
        assert [e["source"] for e in entries] == [f"attempt:{attempt}"]

        httpx.post(
            f"{base}/api/v1/users/{user}/verifications", files=_upload(3), timeout=30
        ).raise_for_status()
        again = _dashboard(base, monkeypatch, "Fraud watchlist")
        assert again.metric[0].value == "1"
        table = again.dataframe[0].value
        assert table["label"].tolist() == ["account takeover"]
        assert table["matches"].tolist() == [1]
        assert "Matches over time" in [h.value for h in again.subheader]
        assert len(again.get("vega_lite_chart")) == 1
