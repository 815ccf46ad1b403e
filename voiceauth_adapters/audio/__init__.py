"""Audio in: the real decoder (soundfile, ffmpeg, mu-law, raw PCM) and local files as sources."""

from voiceauth_adapters.audio.decoder import (
    AudioDecoderLimits,
    FfmpegSoundfileDecoder,
    ffmpeg_executable,
    mulaw_decode,
)
from voiceauth_adapters.audio.source import FileAudioSource

__all__ = [
    "AudioDecoderLimits",
    "FfmpegSoundfileDecoder",
    "FileAudioSource",
    "ffmpeg_executable",
    "mulaw_decode",
]
