"""In-memory fakes of every port, for tests of the core and of code that uses it.

They are real, small implementations, not mocks: the fake model is deterministic and tells
different voices apart, the fake detector finds loud frames, the stores keep what they are given.
"""

from voiceauth_core.testing.clock import ManualClock
from voiceauth_core.testing.decoder import WaveDecoder
from voiceauth_core.testing.model import SpectralEmbeddingModel
from voiceauth_core.testing.signals import synthetic_voice, wav_bytes
from voiceauth_core.testing.sources import InMemoryAudioSource
from voiceauth_core.testing.speech import EnergySpeechDetector
from voiceauth_core.testing.stores import InMemoryAttemptLog, InMemoryStore, InMemoryUserRepository
from voiceauth_core.testing.telephone import LowPassLine

__all__ = [
    "EnergySpeechDetector",
    "InMemoryAttemptLog",
    "InMemoryAudioSource",
    "InMemoryStore",
    "InMemoryUserRepository",
    "LowPassLine",
    "ManualClock",
    "SpectralEmbeddingModel",
    "WaveDecoder",
    "synthetic_voice",
    "wav_bytes",
]
