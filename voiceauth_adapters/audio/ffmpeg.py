"""ffmpeg as a subprocess: encoded bytes on stdin, 32-bit float WAV on stdout, nothing on disk.

Untrusted input is fenced in: only the ``pipe`` protocol is allowed, so a playlist format (HLS,
concat) cannot make ffmpeg open local files or URLs. MP4/M4A keep their index at the end of the
file, which a pipe cannot seek to; for them stdin is an anonymous in-memory file (``memfd``, or an
already unlinked temporary file elsewhere) read through ``/dev/stdin``, with the demuxer forced to
``mov`` (whose external references are off by default). Either way no named file ever exists.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from typing import IO

__all__ = ["FfmpegFailedError", "FfmpegTimeoutError", "ffmpeg_executable", "ffmpeg_to_wav"]

_MP4_BRAND = b"ftyp"


class FfmpegFailedError(Exception):
    """ffmpeg could not decode the input (its message stays inside: it may reveal internals)."""


class FfmpegTimeoutError(FfmpegFailedError):
    """ffmpeg ran past its time limit and was killed."""


def ffmpeg_executable() -> str:
    """The ffmpeg binary: ``VOICEAUTH_FFMPEG`` if set, else the one imageio-ffmpeg ships."""
    configured = os.environ.get("VOICEAUTH_FFMPEG")
    if configured:
        return configured
    import imageio_ffmpeg  # noqa: PLC0415 - only when ffmpeg is needed

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def needs_seeking(data: bytes, input_format: str | None) -> bool:
    """Whether the input is an MP4-family file (its index may sit at the end)."""
    return input_format == "mov" or data[4:8] == _MP4_BRAND


def ffmpeg_to_wav(
    data: bytes,
    *,
    input_format: str | None,
    max_seconds: float,
    timeout_s: float,
    executable: str | None = None,
) -> bytes:
    """Decode the first audio stream of ``data`` to a float32 WAV at its own rate and channels.

    Args:
        data: The encoded file.
        input_format: The demuxer to force (``mp3``, ``ogg``, ...), or None to let ffmpeg probe.
        max_seconds: Decode at most this much audio (a longer input is cut there).
        timeout_s: Kill ffmpeg after this long.
        executable: The ffmpeg binary (default: :func:`ffmpeg_executable`).

    Raises:
        FfmpegTimeoutError: ffmpeg ran out of time.
        FfmpegFailedError: ffmpeg found no decodable audio.
    """
    seekable = needs_seeking(data, input_format)
    command = [executable or ffmpeg_executable(), "-hide_banner", "-nostats", "-loglevel", "error"]
    if seekable:
        command += ["-protocol_whitelist", "file", "-f", "mov", "-i", "file:/dev/stdin"]
    else:
        command += ["-protocol_whitelist", "pipe"]
        command += ["-f", input_format] if input_format else []
        command += ["-i", "pipe:0"]
    command += ["-map", "0:a:0", "-vn", "-sn", "-dn", "-t", f"{max_seconds:.3f}"]
    command += ["-c:a", "pcm_f32le", "-f", "wav", "pipe:1"]
    try:
        if seekable:
            with _in_memory_file(data) as stdin:
                done = subprocess.run(  # noqa: S603 - our binary, fixed arguments
                    command, stdin=stdin, capture_output=True, timeout=timeout_s, check=False
                )
        else:
            done = subprocess.run(  # noqa: S603 - our binary, fixed arguments
                command, input=data, capture_output=True, timeout=timeout_s, check=False
            )
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed ffmpeg already
        raise FfmpegTimeoutError(f"ffmpeg ran over {timeout_s:g} s") from exc
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode(errors="replace").strip()[-500:]
        raise FfmpegFailedError(message or f"ffmpeg exited with status {done.returncode}")
    return done.stdout


@contextlib.contextmanager
def _in_memory_file(data: bytes) -> Iterator[IO[bytes] | int]:
    """A seekable, nameless file holding ``data``, positioned at its start."""
    if hasattr(os, "memfd_create"):
        descriptor = os.memfd_create("voiceauth-audio", os.MFD_CLOEXEC)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.lseek(descriptor, 0, os.SEEK_SET)
            yield descriptor
        finally:
            os.close(descriptor)
        return
    with tempfile.TemporaryFile() as handle:  # unlinked at once on POSIX: never left behind
        handle.write(data)
        handle.seek(0)
        yield handle
