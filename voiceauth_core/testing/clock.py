"""A clock that moves only when told to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock"]


class ManualClock:
    """Starts at a fixed time; :meth:`advance` moves it; every ``now()`` ticks one microsecond.

    The tick keeps successive events strictly ordered, as on a real clock.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """The current fake time."""
        self._now += timedelta(microseconds=1)
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self._now += timedelta(seconds=seconds)
