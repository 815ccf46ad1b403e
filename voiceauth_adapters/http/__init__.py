"""HTTP(S) audio: a safe downloader (SSRF guard, limits) and the URL and upload audio sources.

Only imported when used: it needs the ``http`` extra (aiohttp).
"""

from voiceauth_adapters.http.downloader import Download, HttpDownloader, redacted
from voiceauth_adapters.http.guard import AddressPolicy, AddressRefusedError, GuardedResolver
from voiceauth_adapters.http.sources import AudioSourceFactory, UploadAudioSource, UrlAudioSource

__all__ = [
    "AddressPolicy",
    "AddressRefusedError",
    "AudioSourceFactory",
    "Download",
    "GuardedResolver",
    "HttpDownloader",
    "UploadAudioSource",
    "UrlAudioSource",
    "redacted",
]
