"""In-memory fakes of every port, for tests of the core and of code that uses it.

They are real, small implementations, not mocks: the fake model is deterministic and tells
different voices apart, the fake detector finds loud frames, the stores keep what they are given.
The stores, the audio source and the clock are ``voiceauth_core.memory``'s, re-exported here.
``ALICE`` and ``BOB`` are two synthetic speakers the fake model tells apart.
"""

from voiceauth_core.memory import (
    InMemoryAttemptLog,
    InMemoryAudioSource,
    InMemoryChallengeStore,
    InMemoryStore,
    InMemoryUserRepository,
    InMemoryVoiceprintEvents,
    InMemoryVoiceprintIndex,
    InMemoryWatchlist,
    ManualClock,
)
from voiceauth_core.testing.decoder import WaveDecoder
from voiceauth_core.testing.digits import ToneDigitRecognizer, tone_digits
from voiceauth_core.testing.model import SpectralEmbeddingModel
from voiceauth_core.testing.signals import synthetic_voice, wav_bytes
from voiceauth_core.testing.speakers import ALICE, BOB, SyntheticSpeaker
from voiceauth_core.testing.speech import EnergySpeechDetector
from voiceauth_core.testing.spoofing import SpectralFluxSpoofDetector
from voiceauth_core.testing.telephone import LowPassLine

__all__ = [
    "ALICE",
    "BOB",
    "EnergySpeechDetector",
    "InMemoryAttemptLog",
    "InMemoryAudioSource",
    "InMemoryChallengeStore",
    "InMemoryStore",
    "InMemoryUserRepository",
    "InMemoryVoiceprintEvents",
    "InMemoryVoiceprintIndex",
    "InMemoryWatchlist",
    "LowPassLine",
    "ManualClock",
    "SpectralEmbeddingModel",
    "SpectralFluxSpoofDetector",
    "SyntheticSpeaker",
    "ToneDigitRecognizer",
    "WaveDecoder",
    "synthetic_voice",
    "tone_digits",
    "wav_bytes",
]
