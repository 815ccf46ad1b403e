"""What the service does with a fraud watchlist match: count it, and log it without the voice."""

from __future__ import annotations

from collections.abc import Callable

from loguru import logger

from voiceauth_core.watchlist import WatchlistMatch
from voiceauth_web.observability import Metrics
from voiceauth_web.settings import Settings

__all__ = ["watchlist_alert"]


def watchlist_alert(settings: Settings, metrics: Metrics) -> Callable[[WatchlistMatch, str], None]:
    """The ``on_match`` of the service's watchlist screen.

    Each match is counted in ``voiceauth_watchlist_hits_total{use, action}`` and logged at
    WARNING with the entry's id and the calibrated score: never an embedding, audio, or the
    operator's label and note (free text that may name people).
    """

    def alert(match: WatchlistMatch, use: str) -> None:
        action = settings.watchlist_enroll_action if use == "enroll" else settings.watchlist_action
        if use == "identify":
            action = "flag"  # an identification names candidates; it has nothing to reject
        metrics.watchlist_hits.labels(use, action).inc()
        logger.bind(
            watchlist_entry=str(match.entry_id), watchlist_score=match.score, use=use
        ).warning("fraud watchlist match ({use}, action {action})", use=use, action=action)

    return alert
