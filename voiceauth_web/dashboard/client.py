"""A typed client of voiceauth's HTTP API for the dashboard; errors carry the API's message."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["DEFAULT_BASE_URL", "ApiClient", "ApiError"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class ApiError(Exception):
    """A failed call: the API's error name and message, or why the service could not be reached."""

    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.status = status
        self.name = name
        self.message = message


@dataclass(frozen=True, slots=True)
class ApiClient:
    """Calls the API at ``base_url`` with ``api_key`` (``X-API-Key``) when given."""

    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = None
    timeout_s: float = 90.0

    @classmethod
    def from_env(cls) -> ApiClient:
        """``API_BASE_URL`` and ``VOICEAUTH_API_KEY`` from the environment."""
        return cls(
            base_url=os.environ.get("API_BASE_URL", DEFAULT_BASE_URL).rstrip("/"),
            api_key=os.environ.get("VOICEAUTH_API_KEY") or None,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"X-API-Key": self.api_key} if self.api_key else {}
        try:
            response = httpx.request(
                method, f"{self.base_url}{path}", headers=headers, timeout=self.timeout_s, **kwargs
            )
        except httpx.HTTPError as exc:
            raise ApiError(
                0, "ServiceUnavailable", f"cannot reach the service at {self.base_url} ({exc})"
            ) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
                name, message = str(body["error"]), str(body["message"])
            except (ValueError, KeyError, TypeError):
                name, message = f"HTTP {response.status_code}", response.text[:200]
            raise ApiError(response.status_code, name, message)
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        """``GET /api/v1/health`` (a 503 still returns the component statuses)."""
        try:
            response = httpx.get(f"{self.base_url}/api/v1/health", timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise ApiError(
                0, "ServiceUnavailable", f"cannot reach the service at {self.base_url} ({exc})"
            ) from exc
        body: dict[str, Any] = response.json()
        return body

    def enroll(
        self,
        user_id: str,
        audio: bytes,
        filename: str,
        content_type: str,
        *,
        phone: str | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Add an uploaded sample to a user's enrolment."""
        form = {"replace": "true" if replace else "false"} | ({"phone": phone} if phone else {})
        result: dict[str, Any] = self._call(
            "POST",
            f"/api/v1/users/{user_id}/enrollments",
            files={"file": (filename, audio, content_type)},
            data=form,
        )
        return result

    def verify(
        self, user_id: str, audio: bytes, filename: str, content_type: str
    ) -> dict[str, Any]:
        """Verify an uploaded recording against a user."""
        result: dict[str, Any] = self._call(
            "POST",
            f"/api/v1/users/{user_id}/verifications",
            files={"file": (filename, audio, content_type)},
        )
        return result

    def users(self, *, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        """A page of users."""
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        result: dict[str, Any] = self._call("GET", "/api/v1/users", params=params)
        return result

    def user(self, user_id: str) -> dict[str, Any]:
        """One user."""
        result: dict[str, Any] = self._call("GET", f"/api/v1/users/{user_id}")
        return result

    def delete_user(self, user_id: str) -> None:
        """Erase a user."""
        self._call("DELETE", f"/api/v1/users/{user_id}")

    def history(self, user_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """A user's attempts, newest first."""
        body = self._call("GET", f"/api/v1/users/{user_id}/auth-history", params={"limit": limit})
        attempts: list[dict[str, Any]] = body["attempts"]
        return attempts

    def watchlist(self, *, limit: int = 500) -> list[dict[str, Any]]:
        """The fraud watchlist's entries, newest first (without their voices)."""
        body = self._call("GET", "/api/v1/watchlist", params={"limit": limit})
        entries: list[dict[str, Any]] = body["entries"]
        return entries

    def report_fraud(self, attempt_id: str, label: str, note: str) -> dict[str, Any]:
        """Put an attempt's voice on the watchlist."""
        entry: dict[str, Any] = self._call(
            "POST",
            f"/api/v1/attempts/{attempt_id}/report-fraud",
            json={"label": label, "note": note},
        )
        return entry

    def delete_watchlist_entry(self, entry_id: str) -> None:
        """Erase a watchlist entry."""
        self._call("DELETE", f"/api/v1/watchlist/{entry_id}")

    def attempts(self, *, since: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Every user's attempts, newest first."""
        params: dict[str, Any] = {"limit": limit} | ({"since": since} if since else {})
        attempts: list[dict[str, Any]] = self._call("GET", "/api/v1/attempts", params=params)[
            "attempts"
        ]
        return attempts
