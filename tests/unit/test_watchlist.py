"""The fraud watchlist over the in-memory fakes: the screen, Verify, Enroll, report-fraud."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pytest

from voiceauth_adapters.evaluation.watchlist import WatchlistCall, summarise_watchlist
from voiceauth_core import (
    AddToWatchlist,
    AudioProcessingError,
    CapturePlan,
    CosinePolicy,
    Decision,
    DeleteWatchlistEntry,
    Embedding,
    Enroll,
    EnrollAction,
    GetWatchlistEntry,
    InvalidInputError,
    ListWatchlist,
    NotFoundError,
    QualityGate,
    ReportFraud,
    UserId,
    Verify,
    WatchlistAction,
    WatchlistEntry,
    WatchlistMatch,
    WatchlistScreen,
)
from voiceauth_core.testing import (
    ALICE,
    BOB,
    EnergySpeechDetector,
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryStore,
    InMemoryUserRepository,
    InMemoryWatchlist,
    ManualClock,
    SpectralEmbeddingModel,
)

pytestmark = pytest.mark.unit

GATE = QualityGate(min_enroll_speech_s=3.0, strong_enroll_speech_s=8.0, min_verify_speech_s=1.0)
POLICY = CosinePolicy(threshold=0.82, margin=0.1)


class CountingWatchlist(InMemoryWatchlist):
    """The in-memory watchlist, counting how often every entry is read."""

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__(store)
        self.reads = 0

    async def entries(self) -> Sequence[WatchlistEntry]:
        self.reads += 1
        return await super().entries()


@dataclass
class World:
    store: InMemoryStore = field(default_factory=InMemoryStore)
    model: SpectralEmbeddingModel = field(default_factory=SpectralEmbeddingModel)
    clock: ManualClock = field(default_factory=ManualClock)
    matches: list[tuple[WatchlistMatch, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.users = InMemoryUserRepository(self.store)
        self.attempts = InMemoryAttemptLog(self.store)
        self.watchlist = CountingWatchlist(self.store)

    def screen(
        self,
        action: WatchlistAction = WatchlistAction.FLAG,
        enroll_action: EnrollAction = EnrollAction.FLAG,
    ) -> WatchlistScreen:
        return WatchlistScreen(
            watchlist=self.watchlist,
            policy=POLICY,
            threshold=0.82,
            action=action,
            enroll_action=enroll_action,
            on_match=lambda match, use: self.matches.append((match, use)),
        )

    def enroll(self, screen: WatchlistScreen | None = None) -> Enroll:
        return Enroll(
            model=self.model,
            detector=EnergySpeechDetector(),
            users=self.users,
            clock=self.clock,
            gate=GATE,
            screen=screen,
        )

    def verify(
        self, screen: WatchlistScreen | None = None, retention: timedelta | None = None
    ) -> Verify:
        return Verify(
            model=self.model,
            detector=EnergySpeechDetector(),
            users=self.users,
            attempts=self.attempts,
            policy=POLICY,
            clock=self.clock,
            gate=GATE,
            plan=CapturePlan(max_audio_s=20.0, check_every_s=1.0, target_speech_s=6.0),
            screen=screen,
            probe_retention=retention,
        )

    def add(self) -> AddToWatchlist:
        return AddToWatchlist(
            model=self.model,
            detector=EnergySpeechDetector(),
            gate=GATE,
            watchlist=self.watchlist,
            clock=self.clock,
        )


async def _enrolled(world: World, speaker: object, seed: int) -> UserId:
    user = UserId.new()
    voice = speaker.voice(seconds=6.0, seed=seed)  # type: ignore[attr-defined]
    await world.enroll().execute(user_id=user, phone=None, source=InMemoryAudioSource(voice))
    return user


async def _report_alice(world: World) -> WatchlistEntry:
    source = InMemoryAudioSource(ALICE.voice(seconds=5.0, seed=40), channel="upload")
    return await world.add().execute(source=source, label="alice the fraudster", note="case 17")


async def test_a_watchlisted_voice_is_flagged_on_another_account_and_others_are_not() -> None:
    world = World()
    alice_account, bob_account = await _enrolled(world, ALICE, 1), await _enrolled(world, BOB, 2)
    entry = await _report_alice(world)
    assert entry.source == "upload"
    verify = world.verify(world.screen())
    flagged = await verify.execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=6.0, seed=41)), user_id=alice_account
    )
    assert flagged.decision is Decision.ACCEPT  # flag: reported, the decision unchanged
    assert flagged.attempt.watchlist is not None
    assert flagged.attempt.watchlist.entry_id == entry.id
    assert flagged.attempt.watchlist.label == "alice the fraudster"
    assert 0.82 <= flagged.attempt.watchlist.score <= 1.0
    assert world.matches == [(flagged.attempt.watchlist, "verify")]
    clean = await verify.execute(
        source=InMemoryAudioSource(BOB.voice(seconds=6.0, seed=42)), user_id=bob_account
    )
    assert clean.decision is Decision.ACCEPT
    assert clean.attempt.watchlist is None
    logged = (await world.attempts.history(alice_account, limit=5)).items
    assert logged[0].watchlist == flagged.attempt.watchlist


async def test_reject_mode_turns_an_accept_into_a_reject() -> None:
    world = World()
    alice_account = await _enrolled(world, ALICE, 1)
    await _report_alice(world)
    verify = world.verify(world.screen(WatchlistAction.REJECT))
    result = await verify.execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=6.0, seed=41)), user_id=alice_account
    )
    assert result.score is not None
    assert result.score.calibrated >= POLICY.threshold  # the voice matched the account...
    assert result.decision is Decision.REJECT  # ...and the watchlist rejected it
    assert result.attempt.success is False
    assert result.attempt.watchlist is not None


async def test_the_screen_reads_the_entries_again_only_when_the_watchlist_changed() -> None:
    world = World()
    screen = world.screen()
    probe = await world.model.embed(ALICE.voice(seconds=4.0, seed=50))
    assert await screen.screen(probe) is None
    entry = await _report_alice(world)
    reads = world.watchlist.reads
    first = await screen.screen(probe)
    assert first is not None
    assert first.entry_id == entry.id
    for _ in range(5):
        assert await screen.screen(probe) == first
    assert world.watchlist.reads == reads + 1  # one read for six screenings
    await DeleteWatchlistEntry(watchlist=world.watchlist).execute(entry.id)
    assert await screen.screen(probe) is None


async def test_the_best_entry_wins_and_other_models_are_skipped() -> None:
    world = World()
    probe = await world.model.embed(ALICE.voice(seconds=4.0, seed=50))
    other_model = Embedding.from_vector(probe.vector, "another/model")
    for label, embedding in (
        ("same voice, other model", other_model),
        ("bob", await world.model.embed(BOB.voice(seconds=4.0, seed=51))),
        ("alice", await world.model.embed(ALICE.voice(seconds=4.0, seed=52))),
    ):
        await world.watchlist.add(
            WatchlistEntry(
                id=uuid.uuid4(),
                label=label,
                note="",
                embedding=embedding,
                created_at=world.clock.now(),
                source="upload",
            )
        )
    match = await world.screen().screen(probe)
    assert match is not None
    assert match.label == "alice"


async def test_enrolling_a_watchlisted_voice_is_refused_or_flagged() -> None:
    world = World()
    await _report_alice(world)
    voice = ALICE.voice(seconds=6.0, seed=60)
    refusing = world.enroll(world.screen(enroll_action=EnrollAction.REFUSE))
    with pytest.raises(AudioProcessingError) as refused:
        await refusing.execute(user_id=UserId.new(), phone=None, source=InMemoryAudioSource(voice))
    assert refused.value.reason == "watchlisted"
    assert not world.store.enrollments  # nothing stored
    flagging = world.enroll(world.screen(enroll_action=EnrollAction.FLAG))
    flagged = await flagging.execute(
        user_id=UserId.new(), phone=None, source=InMemoryAudioSource(voice)
    )
    assert flagged.watchlist is not None
    assert flagged.enrollment.sample_count == 1
    assert [use for _, use in world.matches] == ["enroll", "enroll"]
    bob = await flagging.execute(
        user_id=UserId.new(),
        phone=None,
        source=InMemoryAudioSource(BOB.voice(seconds=6.0, seed=61)),
    )
    assert bob.watchlist is None


async def test_report_fraud_puts_an_attempts_voice_on_the_watchlist() -> None:
    """The fraudster calls about one account, is reported, then calls about another."""
    world = World()
    victim, other_victim = await _enrolled(world, BOB, 1), await _enrolled(world, BOB, 2)
    verify = world.verify(world.screen(WatchlistAction.REJECT), retention=timedelta(days=30))
    first = await verify.execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=6.0, seed=70)), user_id=victim
    )
    assert first.attempt.probe is not None
    assert first.attempt.probe_expires_at == first.attempt.created_at + timedelta(days=30)
    report = ReportFraud(attempts=world.attempts, watchlist=world.watchlist, clock=world.clock)
    entry = await report.execute(first.attempt.id, label="impostor", note="called about 2")
    assert entry.source == f"attempt:{first.attempt.id}"
    assert (await GetWatchlistEntry(watchlist=world.watchlist).execute(entry.id)).label == (
        "impostor"
    )
    again = await verify.execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=6.0, seed=71)), user_id=other_victim
    )
    assert again.decision is Decision.REJECT
    assert again.attempt.watchlist is not None
    assert again.attempt.watchlist.entry_id == entry.id
    listed = await ListWatchlist(watchlist=world.watchlist).execute(limit=10)
    assert [e.id for e in listed.items] == [entry.id]


async def test_report_fraud_needs_a_kept_probe_within_its_retention() -> None:
    world = World()
    victim = await _enrolled(world, BOB, 1)
    report = ReportFraud(attempts=world.attempts, watchlist=world.watchlist, clock=world.clock)
    with pytest.raises(NotFoundError, match="does not exist"):
        await report.execute(uuid.uuid4(), label="x")
    unkept = await world.verify().execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=6.0, seed=80)), user_id=victim
    )
    assert unkept.attempt.probe is None  # no retention configured: the voice is not kept
    with pytest.raises(NotFoundError, match="keeps no voice"):
        await report.execute(unkept.attempt.id, label="x")
    kept = await world.verify(retention=timedelta(days=1)).execute(
        source=InMemoryAudioSource(ALICE.voice(seconds=6.0, seed=81)), user_id=victim
    )
    with pytest.raises(InvalidInputError):
        await report.execute(kept.attempt.id, label="   ")
    world.clock.advance(timedelta(days=1).total_seconds())
    with pytest.raises(NotFoundError, match="keeps no voice"):
        await report.execute(kept.attempt.id, label="too late")
    assert not world.store.watchlist


async def test_a_recording_without_enough_speech_is_not_added() -> None:
    world = World()
    silence = InMemoryAudioSource(ALICE.voice(seconds=0.6, seed=90))
    with pytest.raises(AudioProcessingError):
        await world.add().execute(source=silence, label="short")
    assert not world.store.watchlist


def test_watchlist_values_refuse_bad_input() -> None:
    embedding = Embedding.from_vector(np.ones(4), "m")
    with pytest.raises(InvalidInputError):
        WatchlistEntry(
            id=uuid.uuid4(),
            label="x" * 201,
            note="",
            embedding=embedding,
            created_at=ManualClock().now(),
            source="url",
        )
    with pytest.raises(InvalidInputError):
        WatchlistMatch(entry_id=uuid.uuid4(), label="x", score=1.5)
    with pytest.raises(InvalidInputError):
        WatchlistScreen(watchlist=InMemoryWatchlist(), policy=POLICY, threshold=1.2)


def test_the_eval_summary_counts_hits_false_hits_and_wrong_entries() -> None:
    def call(speaker: str, own: float | None, other: float, matched: str | None) -> WatchlistCall:
        return WatchlistCall(
            speaker=speaker,
            channel="clean",
            fold=0,
            listed=own is not None,
            entries=3,
            own_score=own,
            other_score=other,
            matched=matched,
            speech_s=5.0,
        )

    calls = [
        call("a", 0.999, 0.1, "a"),  # a hit
        call("b", 0.95, 0.2, None),  # missed at 0.99, a hit at 0.9
        call("c", 0.5, 0.995, "x"),  # listed, but matched someone else's entry
        call("d", None, 0.3, None),  # unlisted, clean
        call("e", None, 0.992, "y"),  # unlisted, a false hit
    ]
    summary = summarise_watchlist(calls, threshold=0.99, sweep=(0.9, 0.999))
    clean = summary["clean"]
    assert isinstance(clean, dict)
    at = clean["at_threshold"]
    assert at["hits"] == {"rate": round(1 / 3, 6), "count": 1, "total": 3}
    assert at["wrong_hits"]["count"] == 1
    assert at["false_hits"] == {"rate": 0.5, "count": 1, "total": 2}
    assert at["pairs"] == 6
    assert clean["sweep"]["0.9"]["hits"]["count"] == 2
    assert clean["sweep"]["0.999"]["false_hits"]["count"] == 0
    assert clean["lowest_own_score"] == 0.5
    assert clean["highest_unlisted_score"] == 0.992
