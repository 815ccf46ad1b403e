"""The HTTP downloader and the URL / upload sources against a real local file server."""

from __future__ import annotations

import importlib
import socket
from collections.abc import AsyncIterator

import pytest

from tests.contract.audio_source_contract import AudioSourceContract, MakeSource
from voiceauth_adapters.http import (
    AddressPolicy,
    AudioSourceFactory,
    HttpDownloader,
    UploadAudioSource,
    UrlAudioSource,
)
from voiceauth_adapters.http.testing import AudioFileServer, Route, StaticResolver
from voiceauth_adapters.vapi.testing import tls_contexts
from voiceauth_core import Audio, AudioDownloadError, AudioProcessingError
from voiceauth_core.ports import AudioDecoder
from voiceauth_core.testing import WaveDecoder, synthetic_voice, wav_bytes

pytestmark = pytest.mark.integration

# Tests reach the server on 127.0.0.1, so they allow exactly that address and nothing else:
# the guard stays on for every other private address, redirects included.
ONLY_THE_TEST_SERVER = AddressPolicy.build(allowed_networks=["127.0.0.1/32"])


def decoders() -> list[AudioDecoder]:
    """The fake WAV decoder, and every decoder of the real audio adapter once it exists."""
    found: list[AudioDecoder] = [WaveDecoder()]
    try:
        audio = importlib.import_module("voiceauth_adapters.audio")
    except ModuleNotFoundError:
        return found  # the decoding adapter has not landed yet
    for name in getattr(audio, "__all__", ()):
        candidate = getattr(audio, name)
        if isinstance(candidate, type) and name.endswith("Decoder"):
            decoder = candidate()
            assert isinstance(decoder, AudioDecoder)
            found.append(decoder)
    assert len(found) > 1, "voiceauth_adapters.audio exports no decoder"
    return found


@pytest.fixture
async def server() -> AsyncIterator[AudioFileServer]:
    async with AudioFileServer() as running:
        yield running


@pytest.fixture
async def downloader() -> AsyncIterator[HttpDownloader]:
    async with HttpDownloader(
        policy=ONLY_THE_TEST_SERVER, max_bytes=200_000, timeout_s=2.0, connect_timeout_s=1.0
    ) as opened:
        yield opened


@pytest.fixture
def wav() -> bytes:
    return wav_bytes(synthetic_voice(seconds=1.0, seed=3))


async def test_fetches_a_file(server: AudioFileServer, downloader: HttpDownloader, wav: bytes):
    url = server.add("/voice.wav", Route(body=wav, content_type="audio/wav; charset=binary"))
    download = await downloader.fetch(url)
    assert download.data == wav
    assert download.content_type == "audio/wav"
    assert download.url == url


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 503])
async def test_an_error_status_is_named(
    server: AudioFileServer, downloader: HttpDownloader, status: int
) -> None:
    url = server.add("/gone.wav", Route(body=b"no", status=status))
    with pytest.raises(AudioDownloadError, match=f"HTTP {status}"):
        await downloader.fetch(url)


async def test_follows_a_few_redirects_relative_and_absolute(
    server: AudioFileServer, downloader: HttpDownloader, wav: bytes
) -> None:
    final = server.add("/files/voice.wav", Route(body=wav))
    server.add("/hop2", Route(redirect_to="files/voice.wav", status=307))
    first = server.add("/hop1", Route(redirect_to=server.url("/hop2"), status=301))
    download = await downloader.fetch(first)
    assert download.data == wav
    assert download.url == final


async def test_too_many_redirects_are_refused(
    server: AudioFileServer, downloader: HttpDownloader
) -> None:
    url = server.add("/loop", Route(redirect_to="/loop"))
    with pytest.raises(AudioDownloadError, match="redirected more than 3 times"):
        await downloader.fetch(url)
    assert server.route("/loop").hits == 4


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/a.wav",
        "http://192.168.0.10/a.wav",
        "http://[::1]/a.wav",
        "http://[::ffff:127.0.0.1]/a.wav",
        "http://127.0.0.2/a.wav",
        "http://internal.example.com/a.wav",  # resolves to 172.16.0.9
    ],
)
async def test_a_redirect_to_a_private_address_is_refused(
    server: AudioFileServer, target: str
) -> None:
    url = server.add("/bounce", Route(redirect_to=target, status=302))
    resolver = StaticResolver({"internal.example.com": ["172.16.0.9"]})
    async with HttpDownloader(
        policy=ONLY_THE_TEST_SERVER, resolver=resolver, connect_timeout_s=0.5, timeout_s=2.0
    ) as guarded:
        with pytest.raises(AudioDownloadError, match="address that is not allowed"):
            await guarded.fetch(url)
    assert server.route("/bounce").hits == 1


async def test_with_the_guard_fully_on_the_local_server_is_never_contacted(
    server: AudioFileServer, wav: bytes
) -> None:
    url = server.add("/voice.wav", Route(body=wav))
    async with HttpDownloader() as guarded:
        with pytest.raises(AudioDownloadError, match="not allowed"):
            await guarded.fetch(url)
    assert server.route("/voice.wav").hits == 0


async def test_the_system_resolver_is_guarded_too(server: AudioFileServer, wav: bytes) -> None:
    # localhost resolves (from /etc/hosts, no network) to a loopback address: refused.
    server.add("/voice.wav", Route(body=wav))
    async with HttpDownloader() as guarded:
        with pytest.raises(AudioDownloadError, match="not allowed"):
            await guarded.fetch(f"http://localhost:{server.port}/voice.wav")
    assert server.route("/voice.wav").hits == 0


async def test_a_name_is_resolved_once_and_the_connection_goes_to_the_vetted_address(
    server: AudioFileServer, wav: bytes
) -> None:
    server.add("/voice.wav", Route(body=wav))
    resolver = StaticResolver({"audio.test": ["127.0.0.1"]})
    async with HttpDownloader(policy=ONLY_THE_TEST_SERVER, resolver=resolver) as guarded:
        download = await guarded.fetch(f"http://audio.test:{server.port}/voice.wav")
    assert download.data == wav
    assert resolver.lookups == ["audio.test"]  # no separate check-then-connect lookup


async def test_https_works_and_a_downgrade_to_http_is_refused(
    server: AudioFileServer, wav: bytes
) -> None:
    plain = server.add("/voice.wav", Route(body=wav))
    server_tls, client_tls = tls_contexts()
    async with AudioFileServer(ssl_context=server_tls) as secure:
        good = secure.add("/voice.wav", Route(body=wav))
        downgrade = secure.add("/down", Route(redirect_to=plain))
        async with HttpDownloader(policy=ONLY_THE_TEST_SERVER, ssl_context=client_tls) as trusted:
            assert (await trusted.fetch(good)).data == wav
            with pytest.raises(AudioDownloadError, match="from https to plain http"):
                await trusted.fetch(downgrade)
        async with HttpDownloader(policy=ONLY_THE_TEST_SERVER) as untrusting:
            with pytest.raises(AudioDownloadError, match="TLS certificate is not valid"):
                await untrusting.fetch(good)
    assert server.route("/voice.wav").hits == 0


async def test_a_declared_huge_body_is_refused_unread(
    server: AudioFileServer, downloader: HttpDownloader
) -> None:
    url = server.add("/huge.wav", Route(body=b"RIFF" + b"\0" * 100, declared_length=10**10))
    with pytest.raises(AudioDownloadError, match="larger than the limit of 200000 bytes"):
        await downloader.fetch(url)


async def test_an_undeclared_body_is_cut_at_the_cap(
    server: AudioFileServer, downloader: HttpDownloader
) -> None:
    url = server.add("/stream.wav", Route(body=b"\1" * 1_000_000, chunked=True))
    with pytest.raises(AudioDownloadError, match="larger than the limit"):
        await downloader.fetch(url)


async def test_a_slow_drip_times_out(server: AudioFileServer) -> None:
    url = server.add("/drip.wav", Route(body=b"\1" * 10_000, drip_bytes=100, drip_pause_s=0.1))
    async with HttpDownloader(policy=ONLY_THE_TEST_SERVER, timeout_s=0.5) as slow:
        with pytest.raises(AudioDownloadError, match=r"did not finish within 0\.5 seconds"):
            await slow.fetch(url)


async def test_a_server_that_never_answers_times_out(server: AudioFileServer) -> None:
    url = server.add("/never.wav", Route(hang=True))
    async with HttpDownloader(policy=ONLY_THE_TEST_SERVER, timeout_s=0.5) as slow:
        with pytest.raises(AudioDownloadError, match="did not finish"):
            await slow.fetch(url)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<!DOCTYPE html><html>login</html>", "text/html; charset=utf-8", "text/html, not audio"),
        (b'{"error": "denied"}', "application/json", "application/json, not audio"),
        (b"<html><body>Sign in</body></html>", "application/octet-stream", "a web page"),
        (b"  <!doctype HTML>", None, "a web page"),
        (b"", "audio/wav", "empty file"),
    ],
)
async def test_what_is_not_audio_is_refused(
    server: AudioFileServer,
    downloader: HttpDownloader,
    body: bytes,
    content_type: str | None,
    expected: str,
) -> None:
    url = server.add("/page", Route(body=body, content_type=content_type))
    with pytest.raises(AudioDownloadError, match=expected):
        await downloader.fetch(url)


async def test_connection_refused_is_a_download_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with HttpDownloader(policy=ONLY_THE_TEST_SERVER) as downloader:
        with pytest.raises(AudioDownloadError, match="could not connect"):
            await downloader.fetch(f"http://127.0.0.1:{port}/a.wav")


async def test_an_unknown_host_is_a_download_error() -> None:
    async with HttpDownloader(resolver=StaticResolver({})) as downloader:
        with pytest.raises(AudioDownloadError, match="could not be resolved"):
            await downloader.fetch("https://no-such-host.example/a.wav")


async def test_the_session_is_opened_and_closed_by_its_owner(server: AudioFileServer, wav: bytes):
    url = server.add("/voice.wav", Route(body=wav))
    downloader = HttpDownloader(policy=ONLY_THE_TEST_SERVER)
    with pytest.raises(RuntimeError, match="open"):
        await downloader.fetch(url)
    await downloader.open()
    await downloader.open()  # idempotent
    assert (await downloader.fetch(url)).data == wav
    await downloader.close()
    await downloader.close()
    with pytest.raises(RuntimeError):
        await downloader.fetch(url)


# --- the sources ---------------------------------------------------------------------------


@pytest.mark.parametrize("decoder", decoders(), ids=lambda d: type(d).__name__)
async def test_url_source_downloads_and_decodes(
    server: AudioFileServer, downloader: HttpDownloader, decoder: AudioDecoder
) -> None:
    voice = synthetic_voice(seconds=1.5, seed=4)
    url = server.add("/v.wav", Route(body=wav_bytes(voice)))
    source = AudioSourceFactory(downloader=downloader, decoder=decoder).from_url(url)
    assert (source.channel, source.live) == ("url", False)
    audio = await source.fetch()
    assert audio.duration == pytest.approx(1.5, abs=0.01)
    assert await source.fetch() is audio  # fetched once
    assert server.route("/v.wav").hits == 1


async def test_url_source_reports_undecodable_files_as_processing_errors(
    server: AudioFileServer, downloader: HttpDownloader
) -> None:
    url = server.add("/noise.bin", Route(body=b"\x00\x01" * 500, content_type=None))
    source = AudioSourceFactory(downloader=downloader, decoder=WaveDecoder()).from_url(url)
    with pytest.raises(AudioProcessingError):
        await source.fetch()


async def test_url_source_passes_download_errors_through(
    server: AudioFileServer, downloader: HttpDownloader
) -> None:
    url = server.add("/missing.wav", Route(status=404))
    source = AudioSourceFactory(downloader=downloader, decoder=WaveDecoder()).from_url(url)
    with pytest.raises(AudioDownloadError, match="HTTP 404"):
        await source.fetch()


async def test_upload_source_limits_and_errors(downloader: HttpDownloader) -> None:
    factory = AudioSourceFactory(downloader=downloader, decoder=WaveDecoder(), max_upload_bytes=100)
    with pytest.raises(AudioProcessingError) as too_large:
        await factory.from_upload(b"\0" * 101).fetch()
    assert too_large.value.reason == "too_large"
    with pytest.raises(AudioProcessingError) as empty:
        await factory.from_upload(b"").fetch()
    assert empty.value.reason == "empty"
    source = factory.from_upload(b"RIFF", content_type="audio/wav")
    assert (source.channel, source.live) == ("upload", False)


class TestUrlAudioSource(AudioSourceContract):
    @pytest.fixture
    def make_source(self, server: AudioFileServer, downloader: HttpDownloader) -> MakeSource:
        async def make(audio: Audio) -> UrlAudioSource:
            url = server.add(f"/{id(audio)}.wav", Route(body=wav_bytes(audio)))
            return UrlAudioSource(url, downloader=downloader, decoder=WaveDecoder())

        return make


class TestUploadAudioSource(AudioSourceContract):
    @pytest.fixture
    def make_source(self) -> MakeSource:
        async def make(audio: Audio) -> UploadAudioSource:
            return UploadAudioSource(wav_bytes(audio), decoder=WaveDecoder())

        return make
