"""Audio sources for recordings: a file at a URL and a file already uploaded."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from voiceauth_adapters.http.downloader import HttpDownloader
from voiceauth_core.audio import Audio
from voiceauth_core.errors import AudioProcessingError
from voiceauth_core.ports import AudioDecoder

__all__ = ["AudioSourceFactory", "UploadAudioSource", "UrlAudioSource"]


async def _chunks(audio: Audio, chunk_s: float) -> AsyncGenerator[Audio, None]:
    step = max(1, round(chunk_s * audio.sample_rate))
    for start in range(0, len(audio.samples), step):
        yield Audio(samples=audio.samples[start : start + step], sample_rate=audio.sample_rate)


class UrlAudioSource:
    """A recording at an HTTP(S) URL: downloaded safely, then decoded.

    The recording is fetched once; :meth:`fetch` and :meth:`stream` share it.

    Args:
        url: The file's URL.
        downloader: The process's shared downloader (already open).
        decoder: Turns the file into 16 kHz mono audio.
        chunk_s: Chunk length for :meth:`stream`.
    """

    def __init__(
        self, url: str, *, downloader: HttpDownloader, decoder: AudioDecoder, chunk_s: float = 0.5
    ) -> None:
        self._url = url
        self._downloader = downloader
        self._decoder = decoder
        self._chunk_s = chunk_s
        self._audio: Audio | None = None

    @property
    def channel(self) -> str:
        """Always ``url``."""
        return "url"

    @property
    def live(self) -> bool:
        """A recording, not a live call."""
        return False

    async def fetch(self) -> Audio:
        """Download and decode the file.

        Raises:
            AudioDownloadError: The file could not be fetched (status, timeout, size, address).
            AudioProcessingError: The file is not decodable audio.
        """
        if self._audio is None:
            download = await self._downloader.fetch(self._url)
            self._audio = await self._decoder.decode(
                download.data, content_type=download.content_type
            )
        return self._audio

    async def stream(self) -> AsyncGenerator[Audio, None]:
        """The fetched recording in ``chunk_s`` chunks."""
        audio = await self.fetch()
        async for chunk in _chunks(audio, self._chunk_s):
            yield chunk


class UploadAudioSource:
    """A recording the service already received in a request body.

    Args:
        data: The encoded file.
        decoder: Turns the file into 16 kHz mono audio.
        content_type: The media type the client declared, if any (a hint for the decoder).
        max_bytes: The largest file accepted (None: no limit here).
        chunk_s: Chunk length for :meth:`stream`.
    """

    def __init__(
        self,
        data: bytes,
        *,
        decoder: AudioDecoder,
        content_type: str | None = None,
        max_bytes: int | None = None,
        chunk_s: float = 0.5,
    ) -> None:
        self._data = data
        self._decoder = decoder
        self._content_type = content_type
        self._max_bytes = max_bytes
        self._chunk_s = chunk_s
        self._audio: Audio | None = None

    @property
    def channel(self) -> str:
        """Always ``upload``."""
        return "upload"

    @property
    def live(self) -> bool:
        """A recording, not a live call."""
        return False

    async def fetch(self) -> Audio:
        """Decode the upload.

        Raises:
            AudioProcessingError: The upload is empty, too large, or not decodable audio.
        """
        if self._audio is None:
            if not self._data:
                raise AudioProcessingError("the uploaded file is empty", reason="empty")
            if self._max_bytes is not None and len(self._data) > self._max_bytes:
                raise AudioProcessingError(
                    f"the uploaded file is larger than the limit of {self._max_bytes} bytes",
                    reason="too_large",
                )
            self._audio = await self._decoder.decode(self._data, content_type=self._content_type)
        return self._audio

    async def stream(self) -> AsyncGenerator[Audio, None]:
        """The decoded upload in ``chunk_s`` chunks."""
        audio = await self.fetch()
        async for chunk in _chunks(audio, self._chunk_s):
            yield chunk


class AudioSourceFactory:
    """Makes the per-request recording sources; the web container holds one.

    Args:
        downloader: The process's shared downloader (opened and closed by the app).
        decoder: The audio decoder.
        max_upload_bytes: The largest upload accepted (defaults to the downloader's cap).
        chunk_s: Chunk length of the sources' streams.
    """

    def __init__(
        self,
        *,
        downloader: HttpDownloader,
        decoder: AudioDecoder,
        max_upload_bytes: int | None = None,
        chunk_s: float = 0.5,
    ) -> None:
        self._downloader = downloader
        self._decoder = decoder
        self._max_upload_bytes = max_upload_bytes or downloader.max_bytes
        self._chunk_s = chunk_s

    def from_url(self, url: str) -> UrlAudioSource:
        """A source for the file at ``url`` (nothing is fetched until it is read)."""
        return UrlAudioSource(
            url, downloader=self._downloader, decoder=self._decoder, chunk_s=self._chunk_s
        )

    def from_upload(self, data: bytes, *, content_type: str | None = None) -> UploadAudioSource:
        """A source for an uploaded file."""
        return UploadAudioSource(
            data,
            decoder=self._decoder,
            content_type=content_type,
            max_bytes=self._max_upload_bytes,
            chunk_s=self._chunk_s,
        )
