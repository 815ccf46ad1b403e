"""Speech detection: which parts of a recording are someone speaking (Silero VAD over ONNX)."""

from voiceauth_adapters.vad.segments import SegmentRule, speech_segments
from voiceauth_adapters.vad.silero import SileroSpeechDetector, silero_model_path

__all__ = ["SegmentRule", "SileroSpeechDetector", "silero_model_path", "speech_segments"]
