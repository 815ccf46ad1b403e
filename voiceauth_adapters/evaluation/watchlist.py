"""The fraud watchlist measured: hit and false-hit rates of the service's screen on a corpus.

The speakers chosen (the evaluation split, never the cohort's or the calibration's) are dealt
into two folds. In each fold one half of them is put on a watchlist through the service's
``AddToWatchlist`` (one utterance each: the enrolment half of their recording, as recorded),
and every speaker's held-out test half is screened through the service's ``WatchlistScreen``,
heard through each test channel: a listed speaker's call should hit their own entry (a hit), an
unlisted speaker's call should hit none (otherwise a false hit). Each call is also scored against
every entry, so the rates are reported at other thresholds too.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from voiceauth_adapters.evaluation.runner import Evaluator
from voiceauth_adapters.evaluation.trials import Segment
from voiceauth_adapters.pipeline import Engine
from voiceauth_core.errors import VoiceAuthError
from voiceauth_core.memory import InMemoryAudioSource, InMemoryWatchlist, ManualClock
from voiceauth_core.quality import QualityGate
from voiceauth_core.use_cases import AddToWatchlist
from voiceauth_core.watchlist import WatchlistEntry, WatchlistScreen

__all__ = ["WatchlistCall", "WatchlistRun", "calls_json", "summarise_watchlist", "watchlist_lines"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchlistCall:
    """One call screened against one fold's watchlist.

    Args:
        speaker: Who calls.
        channel: How the call was heard (``clean``, ``phone``, ``mobile``).
        fold: Which fold's watchlist screened it.
        listed: Whether the caller's own voice is on that watchlist.
        entries: How many entries the watchlist held.
        own_score: The calibrated score against the caller's own entry (None when unlisted).
        other_score: The highest calibrated score against any other entry.
        matched: The speaker of the entry the screen reported at its threshold, or None.
        speech_s: Net speech of the call.
    """

    speaker: str
    channel: str
    fold: int
    listed: bool
    entries: int
    own_score: float | None
    other_score: float
    matched: str | None
    speech_s: float


class WatchlistRun:
    """Builds the folds' watchlists and screens every call, as the service would.

    Args:
        evaluator: Decodes segments and puts them through the channels.
        engine: The service's model, detector and policy.
        gate: The service's quality gate.
        threshold: The screen's threshold (``VOICEAUTH_WATCHLIST_THRESHOLD``).
    """

    def __init__(
        self, *, evaluator: Evaluator, engine: Engine, gate: QualityGate, threshold: float
    ) -> None:
        self._evaluator = evaluator
        self._engine = engine
        self._gate = gate
        self._threshold = threshold
        self.failed_entries: list[str] = []

    async def _watchlist(
        self, segments: Sequence[Segment], update: Callable[[int], None]
    ) -> tuple[InMemoryWatchlist, dict[uuid.UUID, str]]:
        watchlist = InMemoryWatchlist()
        add = AddToWatchlist(
            model=self._engine.model,
            detector=self._engine.detector,
            gate=self._gate,
            watchlist=watchlist,
            clock=ManualClock(),
        )
        speakers: dict[uuid.UUID, str] = {}
        for segment in segments:
            audio = await self._evaluator.segment_audio(segment, "clean")
            try:
                entry = await add.execute(
                    source=InMemoryAudioSource(audio), label=segment.speaker, note=segment.key
                )
            except VoiceAuthError:
                self.failed_entries.append(segment.key)
            else:
                speakers[entry.id] = segment.speaker
            update(1)
        return watchlist, speakers

    async def run(
        self,
        entries: Sequence[Segment],
        calls: Sequence[Segment],
        *,
        channels: Sequence[str],
        update: Callable[[int], None],
    ) -> list[WatchlistCall]:
        """Screen every call of ``calls`` on each channel against both folds' watchlists."""
        speakers = sorted({segment.speaker for segment in entries})
        folds = [set(speakers[0::2]), set(speakers[1::2])]
        results: list[WatchlistCall] = []
        for fold, listed in enumerate(folds):
            chosen = [segment for segment in entries if segment.speaker in listed]
            watchlist, owner = await self._watchlist(chosen, update)
            stored = list(await watchlist.entries())
            screen = WatchlistScreen(
                watchlist=watchlist, policy=self._engine.policy, threshold=self._threshold
            )
            for channel in channels:
                for call in calls:
                    results.append(await self._screen(call, channel, fold, stored, owner, screen))
                    update(1)
        return results

    async def _screen(
        self,
        call: Segment,
        channel: str,
        fold: int,
        stored: Sequence[WatchlistEntry],
        owner: dict[uuid.UUID, str],
        screen: WatchlistScreen,
    ) -> WatchlistCall:
        audio = await self._evaluator.segment_audio(call, channel)
        speech = await self._engine.detector.speech(audio)
        embedding = await self._engine.model.embed(speech)
        own: float | None = None
        other = 0.0
        for entry in stored:
            score = self._engine.policy.score(
                entry.as_enrollment(), embedding, speech_seconds=speech.duration
            ).calibrated
            if owner[entry.id] == call.speaker:
                own = score
            else:
                other = max(other, score)
        match = await screen.screen(embedding, speech_seconds=speech.duration)
        return WatchlistCall(
            speaker=call.speaker,
            channel=channel,
            fold=fold,
            listed=own is not None,
            entries=len(stored),
            own_score=own,
            other_score=other,
            matched=None if match is None else owner[match.entry_id],
            speech_s=round(speech.duration, 3),
        )


def _rate(count: int, total: int) -> dict[str, object]:
    return {"rate": round(count / total, 6) if total else None, "count": count, "total": total}


def summarise_watchlist(
    calls: Sequence[WatchlistCall], *, threshold: float, sweep: Sequence[float]
) -> dict[str, object]:
    """Hit and false-hit rates per channel: at the screen's threshold (what the service
    reported), and at each threshold of ``sweep`` (from the scores against every entry).

    A hit is a listed caller reported as their own entry; a false hit is an unlisted caller
    reported as any entry; a listed caller reported as someone else's entry is a wrong hit.
    ``pairs`` counts the unlisted caller-entry comparisons behind the false hits.
    """
    summary: dict[str, object] = {}
    for channel in sorted({c.channel for c in calls}):
        mine = [c for c in calls if c.channel == channel]
        listed = [c for c in mine if c.listed]
        unlisted = [c for c in mine if not c.listed]
        at_default = {
            "hits": _rate(sum(c.matched == c.speaker for c in listed), len(listed)),
            "wrong_hits": _rate(
                sum(c.matched not in (None, c.speaker) for c in listed), len(listed)
            ),
            "false_hits": _rate(sum(c.matched is not None for c in unlisted), len(unlisted)),
            "pairs": sum(c.entries for c in unlisted),
        }
        swept = {}
        for point in sweep:
            swept[f"{point:g}"] = {
                "hits": _rate(
                    sum(c.own_score is not None and c.own_score >= point for c in listed),
                    len(listed),
                ),
                "false_hits": _rate(sum(c.other_score >= point for c in unlisted), len(unlisted)),
            }
        own = sorted(c.own_score for c in listed if c.own_score is not None)
        summary[channel] = {
            "threshold": threshold,
            "at_threshold": at_default,
            "sweep": swept,
            "lowest_own_score": own[0] if own else None,
            "highest_unlisted_score": max((c.other_score for c in unlisted), default=None),
        }
    return summary


def _percent(block: object) -> str:
    data = dict(block)  # type: ignore[call-overload]
    rate = data["rate"]
    shown = "n/a" if rate is None or math.isnan(rate) else f"{100 * rate:.2f} %"
    return f"{shown} ({data['count']}/{data['total']})"


def watchlist_lines(summary: dict[str, object]) -> list[str]:
    """A short text summary of :func:`summarise_watchlist` for the terminal."""
    lines = []
    for channel, block in summary.items():
        data = dict(block)  # type: ignore[call-overload]
        at = data["at_threshold"]
        lines.append(
            f"{channel}: threshold {data['threshold']}: hits {_percent(at['hits'])}, "
            f"false hits {_percent(at['false_hits'])} over {at['pairs']} caller-entry pairs, "
            f"wrong entry {_percent(at['wrong_hits'])}"
        )
    return lines


def calls_json(calls: Sequence[WatchlistCall]) -> list[dict[str, object]]:
    """Every call, for the JSON report."""
    return [asdict(call) for call in calls]
