"""The request's correlation id (``X-Call-ID``), carried by every log line of the request."""

from __future__ import annotations

import contextvars
import re
import uuid

__all__ = ["HEADER", "correlation_id", "new_correlation_id", "set_correlation_id"]

HEADER = "x-call-id"
_current: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")
# A caller's id is echoed into headers and logs: keep it short and printable.
_SAFE = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def new_correlation_id(offered: str | None) -> str:
    """The caller's id if it is safe to echo, else a fresh one."""
    if offered and _SAFE.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def set_correlation_id(value: str) -> contextvars.Token[str]:
    """Make ``value`` the current request's id."""
    return _current.set(value)


def correlation_id() -> str:
    """The current request's id ('' outside a request)."""
    return _current.get()
