"""The in-memory fakes of ``voiceauth_core.testing`` pass every port's contract."""

from __future__ import annotations

import pytest

from tests.contract.audio_decoder_contract import AudioDecoderContract
from tests.contract.audio_source_contract import AudioSourceContract, MakeSource
from tests.contract.challenge_store_contract import ChallengeStoreContract, ChallengeStores
from tests.contract.decision_board_contract import DecisionBoardContract
from tests.contract.digit_recognizer_contract import DigitRecognizerContract, MakeAnswer
from tests.contract.embedding_model_contract import EmbeddingModelContract
from tests.contract.speech_detector_contract import SpeechDetectorContract
from tests.contract.store_contract import StoreContract, Stores, WatchlistContract
from tests.contract.telephone_channel_contract import TelephoneChannelContract
from tests.contract.voiceprint_events_contract import Replicas, VoiceprintEventsContract
from tests.contract.voiceprint_index_contract import MODEL as INDEX_MODEL
from tests.contract.voiceprint_index_contract import VoiceprintIndexContract
from voiceauth_core import Audio
from voiceauth_core.call_board import InMemoryDecisionBoard
from voiceauth_core.ports import AudioSource
from voiceauth_core.testing import (
    EnergySpeechDetector,
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryChallengeStore,
    InMemoryStore,
    InMemoryUserRepository,
    InMemoryVoiceprintEvents,
    InMemoryVoiceprintIndex,
    InMemoryWatchlist,
    LowPassLine,
    SpectralEmbeddingModel,
    ToneDigitRecognizer,
    WaveDecoder,
    synthetic_voice,
    tone_digits,
)

pytestmark = pytest.mark.unit


class TestInMemoryStores(StoreContract):
    @pytest.fixture
    def stores(self) -> Stores:
        store = InMemoryStore()
        return InMemoryUserRepository(store), InMemoryAttemptLog(store)


class TestInMemoryChallengeStore(ChallengeStoreContract):
    @pytest.fixture
    def challenge_stores(self) -> ChallengeStores:
        store = InMemoryStore()
        return InMemoryUserRepository(store), InMemoryChallengeStore(store)


class TestToneDigitRecognizer(DigitRecognizerContract):
    @pytest.fixture
    def recognizer(self) -> ToneDigitRecognizer:
        return ToneDigitRecognizer()

    @pytest.fixture
    def answer(self) -> MakeAnswer:
        return lambda digits, lead_s: tone_digits(digits, lead_s=lead_s)


class TestInMemoryWatchlist(WatchlistContract):
    @pytest.fixture
    def watchlist(self) -> InMemoryWatchlist:
        return InMemoryWatchlist()


class TestSpectralEmbeddingModel(EmbeddingModelContract):
    @pytest.fixture
    def model(self) -> SpectralEmbeddingModel:
        return SpectralEmbeddingModel()

    @pytest.fixture
    def voice_a1(self) -> Audio:
        return synthetic_voice(f0=120, formants=(700, 1200, 2600), seconds=3, seed=1)

    @pytest.fixture
    def voice_a2(self) -> Audio:
        return synthetic_voice(f0=120, formants=(700, 1200, 2600), seconds=3, seed=2)

    @pytest.fixture
    def voice_b(self) -> Audio:
        return synthetic_voice(f0=210, formants=(400, 2000, 2900), seconds=3, seed=3)


class TestEnergySpeechDetector(SpeechDetectorContract):
    @pytest.fixture
    def detector(self) -> EnergySpeechDetector:
        return EnergySpeechDetector()

    @pytest.fixture
    def speech_clip(self) -> Audio:
        return synthetic_voice(seconds=4.0, seed=3, pause_fraction=0.1)


class TestWaveDecoder(AudioDecoderContract):
    @pytest.fixture
    def decoder(self) -> WaveDecoder:
        return WaveDecoder()


class TestInMemoryAudioSource(AudioSourceContract):
    @pytest.fixture
    def make_source(self) -> MakeSource:
        async def make(audio: Audio) -> AudioSource:
            return InMemoryAudioSource(audio)

        return make


class TestLiveInMemoryAudioSource(AudioSourceContract):
    @pytest.fixture
    def make_source(self) -> MakeSource:
        async def make(audio: Audio) -> AudioSource:
            return InMemoryAudioSource(audio, channel="vapi", live=True)

        return make


class TestLowPassLine(TelephoneChannelContract):
    @pytest.fixture
    def line(self) -> LowPassLine:
        return LowPassLine()


class TestInMemoryDecisionBoard(DecisionBoardContract):
    @pytest.fixture
    def board(self) -> InMemoryDecisionBoard:
        return InMemoryDecisionBoard()


class TestInMemoryVoiceprintIndex(VoiceprintIndexContract):
    @pytest.fixture
    def index(self) -> InMemoryVoiceprintIndex:
        return InMemoryVoiceprintIndex(INDEX_MODEL)


class TestInMemoryVoiceprintEvents(VoiceprintEventsContract):
    @pytest.fixture
    def events(self) -> Replicas:
        hub = InMemoryVoiceprintEvents()
        return lambda: hub
