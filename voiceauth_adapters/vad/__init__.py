"""Speech detection: which parts of a recording are someone speaking."""

from voiceauth_adapters.vad.silero import SileroSpeechDetector

__all__ = ["SileroSpeechDetector"]
