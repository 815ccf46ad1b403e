"""VAPI live calls: the listen-socket client that hears only the caller.

Only imported when used: it needs the ``http`` and ``audio`` extras (aiohttp, scipy).
"""

from voiceauth_adapters.vapi.framing import Deinterleaver, PcmFormat, looks_like_pcm16
from voiceauth_adapters.vapi.listen_url import ListenUrlPolicy, redacted
from voiceauth_adapters.vapi.listener import VapiListener, VapiListenSource
from voiceauth_adapters.vapi.resampling import StreamingResampler

__all__ = [
    "Deinterleaver",
    "ListenUrlPolicy",
    "PcmFormat",
    "StreamingResampler",
    "VapiListenSource",
    "VapiListener",
    "looks_like_pcm16",
    "redacted",
]
