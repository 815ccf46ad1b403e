"""Keyset pagination over rows fetched one beyond the page, to know whether another follows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from voiceauth_adapters.sql.rows import Row
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.paging import Page

__all__ = ["page_of", "require_limit"]

T = TypeVar("T")


def require_limit(limit: int) -> None:
    """Refuse a page size below one.

    Raises:
        InvalidInputError: ``limit < 1``.
    """
    if limit < 1:
        raise InvalidInputError("limit must be at least 1")


def page_of(
    rows: Sequence[Row], limit: int, item: Callable[[Row], T], cursor: Callable[[T], str]
) -> Page[T]:
    """The first ``limit`` of ``rows`` (up to ``limit + 1`` fetched) as items, and the cursor
    after the last one when more rows follow."""
    items = [item(row) for row in rows[:limit]]
    next_cursor = cursor(items[-1]) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor)
