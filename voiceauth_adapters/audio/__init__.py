"""Audio in: the real decoder (soundfile, ffmpeg, raw PCM, mu-law) and local files as sources."""

from voiceauth_adapters.audio.decoder import (
    AudioDecoderLimits,
    FfmpegSoundfileDecoder,
    to_canonical,
)
from voiceauth_adapters.audio.ffmpeg import ffmpeg_executable
from voiceauth_adapters.audio.media_type import MediaType, RawEncoding
from voiceauth_adapters.audio.raw import decode_raw, mulaw_decode
from voiceauth_adapters.audio.source import FileAudioSource
from voiceauth_adapters.audio.telephone import G711Line, phone_channel

__all__ = [
    "AudioDecoderLimits",
    "FfmpegSoundfileDecoder",
    "FileAudioSource",
    "G711Line",
    "MediaType",
    "RawEncoding",
    "decode_raw",
    "ffmpeg_executable",
    "mulaw_decode",
    "phone_channel",
    "to_canonical",
]
