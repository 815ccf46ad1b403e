"""Which listen URLs may be opened, and how they appear in logs (never in full)."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from yarl import URL

from voiceauth_adapters.http.guard import classify
from voiceauth_core.errors import InvalidInputError

__all__ = ["ListenUrlPolicy", "redacted"]


def redacted(url: str | URL) -> str:
    """The URL's host and a short hash: a listen URL is a bearer capability, never logged whole."""
    try:
        host = (url if isinstance(url, URL) else URL(url)).host or "?"
    except (ValueError, TypeError):
        host = "?"
    return f"{host}#{hashlib.sha256(str(url).encode()).hexdigest()[:12]}"


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return classify(ipaddress.ip_address(host)) is not None
    except ValueError:
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenUrlPolicy:
    """Listen URLs must be ``wss://`` on a host under one of ``allowed_hosts``.

    ``allow_private_networks`` (development and tests only) also admits ``ws://`` and local hosts
    (``localhost`` and non-public IP literals).

    Args:
        allowed_hosts: Domains whose hosts and subdomains may be opened (``vapi.ai``).
        allow_private_networks: The development escape hatch.
    """

    allowed_hosts: tuple[str, ...] = ("vapi.ai",)
    allow_private_networks: bool = False

    def check(self, url: str) -> URL:
        """The parsed URL if it may be opened.

        Raises:
            InvalidInputError: It may not (the message says why, without echoing the URL).
        """
        try:
            parsed = URL(url.strip())
        except (ValueError, TypeError):
            raise InvalidInputError("the listen URL is not a valid URL") from None
        host = (parsed.host or "").lower().rstrip(".")
        if not host or parsed.scheme not in ("ws", "wss"):
            raise InvalidInputError("the listen URL must be a wss:// URL")
        if parsed.user or parsed.password:
            raise InvalidInputError("the listen URL must not carry credentials")
        local = self.allow_private_networks and _is_local(host)
        if parsed.scheme == "ws" and not local:
            raise InvalidInputError("the listen URL must use wss:// (TLS)")
        allowed = any(host == d or host.endswith("." + d) for d in self._domains())
        if not (allowed or local):
            raise InvalidInputError("the listen URL's host is not an allowed VAPI host")
        return parsed

    def _domains(self) -> tuple[str, ...]:
        return tuple(d.strip().lower().lstrip(".").rstrip(".") for d in self.allowed_hosts if d)
