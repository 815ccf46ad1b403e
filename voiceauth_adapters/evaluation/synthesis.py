"""The offline speech synthesisers of the spoof corpus: espeak-ng, flite, festival and Piper.

Each runs as its own program, reading the text from a file and writing a WAV file in a private
temporary folder, which is read back at 16 kHz. Piper (``piper-tts``, GPL) runs in a Python
interpreter that has it installed (the project's or a separate one), through a short driver
that seeds ONNX Runtime before it loads the voice: Piper's network draws random noise, and a
seeded session makes each utterance the same on every run.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from voiceauth_adapters.audio.decoder import to_canonical
from voiceauth_core.audio import Audio
from voiceauth_core.errors import AudioProcessingError

__all__ = [
    "ESPEAK_NG_VOICES",
    "FAMILIES",
    "FESTIVAL_VOICES",
    "FLITE_VOICES",
    "Job",
    "Prosody",
    "Synthesiser",
    "SynthesiserUnavailableError",
    "Voice",
    "espeak_ng",
    "festival",
    "flite",
    "piper",
]

#: The synthesiser families, as ``--systems`` names them.
FAMILIES = ("espeak-ng", "flite", "festival", "piper")

#: English espeak-ng voices: six accents, male and female variants, one with the Klatt engine.
ESPEAK_NG_VOICES = (
    "en-us",
    "en-us+f3",
    "en-gb-x-rp+m3",
    "en-gb-scotland+f2",
    "en-029+m5",
    "en-gb-x-gbclan+klatt",
)
#: Every English voice built into Debian's flite (``awb_time`` speaks only the time).
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")


@dataclass(frozen=True, slots=True, kw_only=True)
class _FestivalVoice:
    function: str
    hts: bool
    package: str


#: Debian's English festival voices: two diphone voices and the HTS (statistical) voice.
FESTIVAL_VOICES: Mapping[str, _FestivalVoice] = {
    "kal": _FestivalVoice(function="voice_kal_diphone", hts=False, package="festvox-kallpc16k"),
    "ked": _FestivalVoice(function="voice_ked_diphone", hts=False, package="festvox-kdlpc16k"),
    "slt-hts": _FestivalVoice(
        function="voice_cmu_us_slt_arctic_hts", hts=True, package="festvox-us-slt-hts"
    ),
}

#: Run by the Piper interpreter: model, seed, length scale, text file, WAV file.
_PIPER_DRIVER = """
import sys, wave
import onnxruntime
from piper import PiperVoice, SynthesisConfig
model, seed, length_scale, text_file, wav_file = sys.argv[1:6]
onnxruntime.set_seed(int(seed))  # before the session exists: its random kernels take it
voice = PiperVoice.load(model)
with open(text_file, encoding="utf-8") as text, wave.open(wav_file, "wb") as wav:
    voice.synthesize_wav(text.read(), wav, SynthesisConfig(length_scale=float(length_scale)))
"""
_PIPER_PACKAGE = "piper-tts==1.8.0"
_TIMEOUT_S = 300.0


class SynthesiserUnavailableError(RuntimeError):
    """A synthesiser, one of its voices or its runtime is not installed (the message says what
    to install)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Voice:
    """One voice of one synthesiser.

    Args:
        family: The synthesiser (``espeak-ng``, ``flite``, ``festival``, ``piper``).
        name: The voice as the manifest names it (``en-us+f3``, ``slt``, ``slt-hts``, ``joe``).
        system: The manifest's system: the family, or ``family-name`` where voices differ in
            kind (festival's diphone and HTS voices) or are separate models (Piper's).
        model: Piper's ONNX model file (its ``.onnx.json`` beside it); None for the others.
    """

    family: str
    name: str
    system: str
    model: Path | None = None

    @property
    def speaker(self) -> str:
        """The voice's identity in the manifest's ``speaker`` column (``family:name``)."""
        return f"{self.family}:{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Prosody:
    """How an utterance is varied, drawn per voice and text.

    Args:
        rate: Speaking-rate factor (1.1 speaks 10 % faster).
        pitch: Pitch offset in [-1, 1] (honoured by espeak-ng, which has the knob).
    """

    rate: float = 1.0
    pitch: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One utterance for a synthesiser's command line.

    Args:
        voice: Who speaks.
        prosody: How.
        seed: Seeds a synthesiser that samples (Piper).
        text_file: The text, UTF-8.
        wav_file: Where the program writes its WAV file.
    """

    voice: Voice
    prosody: Prosody
    seed: int
    text_file: Path
    wav_file: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Synthesiser:
    """A synthesiser run as a program, with its voices.

    Args:
        family: Its name (one of :data:`FAMILIES`).
        program: The executable (a name looked up on ``PATH``, or a path).
        install: What to install when the program is missing.
        voices: The voices to build.
        command: The argument list (after the program) that speaks one :class:`Job`.
        missing_voices: The voices the installed program lacks, each with what to install
            (checked by :meth:`check`).
    """

    family: str
    program: str
    install: str
    voices: tuple[Voice, ...]
    command: Callable[[Job], list[str]]
    missing_voices: Callable[[str, tuple[Voice, ...]], dict[str, str]]

    def executable(self) -> str:
        """The program's path.

        Raises:
            SynthesiserUnavailableError: It is not installed.
        """
        found = shutil.which(self.program)
        if found is None:
            raise SynthesiserUnavailableError(
                f"{self.family}: `{self.program}` is not installed; install {self.install}, "
                "or leave it out with --systems"
            )
        return found

    def check(self) -> None:
        """Raise if the program or one of the voices is missing.

        Raises:
            SynthesiserUnavailableError: Names what is missing and what to install.
        """
        missing = self.missing_voices(self.executable(), self.voices)
        if missing:
            named = "; ".join(f"{voice} needs {what}" for voice, what in sorted(missing.items()))
            raise SynthesiserUnavailableError(
                f"{self.family} cannot speak: {named} (or leave {self.family} out with --systems)"
            )

    def synthesise(self, voice: Voice, text: str, *, prosody: Prosody, seed: int) -> Audio:
        """``text`` spoken by ``voice``, at 16 kHz.

        Raises:
            SynthesiserUnavailableError: The program is not installed.
            AudioProcessingError: The program failed, ran out of time or wrote no audio.
        """
        executable = self.executable()
        with tempfile.TemporaryDirectory(prefix="voiceauth-tts-") as folder:
            job = Job(
                voice=voice,
                prosody=prosody,
                seed=seed,
                text_file=Path(folder) / "text.txt",
                wav_file=Path(folder) / "speech.wav",
            )
            job.text_file.write_text(text + "\n", encoding="utf-8")
            what = f"{self.family} (voice {voice.name})"
            try:
                done = subprocess.run(  # noqa: S603 - our arguments, the text in a file
                    [executable, *self.command(job)],
                    capture_output=True,
                    timeout=_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise AudioProcessingError(
                    f"{what} ran over {_TIMEOUT_S:g} s", reason="synthesis_failed"
                ) from exc
            if done.returncode != 0 or not job.wav_file.is_file():
                message = done.stderr.decode(errors="replace").strip()[-300:]
                raise AudioProcessingError(
                    f"{what} failed (status {done.returncode}): {message}",
                    reason="synthesis_failed",
                )
            try:
                frames, rate = soundfile.read(job.wav_file, dtype="float32", always_2d=True)
            except (RuntimeError, soundfile.LibsndfileError) as exc:
                raise AudioProcessingError(
                    f"{what} wrote no readable audio", reason="synthesis_failed"
                ) from exc
        if frames.shape[0] == 0 or not np.any(frames):
            raise AudioProcessingError(f"{what} wrote silence", reason="synthesis_failed")
        return to_canonical(frames, int(rate))


def _listed(command: list[str]) -> str:
    """What a program prints to list its voices (empty if it fails)."""
    try:
        done = subprocess.run(  # noqa: S603 - our arguments
            command, capture_output=True, timeout=60, check=False, text=True
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout + done.stderr


def _espeak_command(job: Job) -> list[str]:
    words_per_minute = round(175 * job.prosody.rate)
    pitch = round(50 + 15 * job.prosody.pitch)
    return [
        *("-v", job.voice.name, "-s", str(words_per_minute), "-p", str(pitch)),
        *("-w", str(job.wav_file), "-f", str(job.text_file)),
    ]


def _espeak_missing(executable: str, voices: tuple[Voice, ...]) -> dict[str, str]:
    missing: dict[str, str] = {}
    for voice in voices:
        probe = subprocess.run(  # noqa: S603 - our arguments
            [executable, "-v", voice.name, "-q", "test"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if probe.returncode != 0:
            missing[voice.name] = "the Debian package espeak-ng-data"
    return missing


def espeak_ng(voices: tuple[str, ...] = ESPEAK_NG_VOICES) -> Synthesiser:
    """espeak-ng (formant synthesis; one voice uses the Klatt engine), Debian's ``espeak-ng``."""
    return Synthesiser(
        family="espeak-ng",
        program="espeak-ng",
        install="the Debian package espeak-ng",
        voices=tuple(Voice(family="espeak-ng", name=name, system="espeak-ng") for name in voices),
        command=_espeak_command,
        missing_voices=_espeak_missing,
    )


def _flite_command(job: Job) -> list[str]:
    stretch = 1.0 / job.prosody.rate
    return [
        *("-voice", job.voice.name, "--setf", f"duration_stretch={stretch:.4f}"),
        *("-f", str(job.text_file), "-o", str(job.wav_file)),
    ]


def _flite_missing(executable: str, voices: tuple[Voice, ...]) -> dict[str, str]:
    listed = set(_listed([executable, "-lv"]).replace(":", " ").split())
    return {v.name: "the Debian package flite" for v in voices if v.name not in listed}


def flite(voices: tuple[str, ...] = FLITE_VOICES) -> Synthesiser:
    """flite (diphone ``kal``, ``kal16``; unit selection ``awb``, ``rms``, ``slt``), Debian's
    ``flite``."""
    return Synthesiser(
        family="flite",
        program="flite",
        install="the Debian package flite",
        voices=tuple(Voice(family="flite", name=name, system="flite") for name in voices),
        command=_flite_command,
        missing_voices=_flite_missing,
    )


def _festival_command(job: Job) -> list[str]:
    known = FESTIVAL_VOICES[job.voice.name]
    if known.hts:  # the HTS engine's own speed knob: -r is a rate, not a stretch
        rate = f'(list (list "-r" {job.prosody.rate:.4f}))'
        speed = f"(set! hts_engine_params (append hts_engine_params {rate}))"
    else:
        speed = f"(Parameter.set 'Duration_Stretch {1.0 / job.prosody.rate:.4f})"
    return [
        *("-eval", f"({known.function})", "-eval", speed),
        *("-o", str(job.wav_file), str(job.text_file)),
    ]


def _festival_missing(executable: str, voices: tuple[Voice, ...]) -> dict[str, str]:
    festival_binary = Path(executable).with_name("festival")
    listed = _listed([str(festival_binary), "-b", "(print (voice.list))"])
    return {
        voice.name: f"the Debian package {FESTIVAL_VOICES[voice.name].package}"
        for voice in voices
        if FESTIVAL_VOICES[voice.name].function.removeprefix("voice_") not in listed
    }


def festival(voices: tuple[str, ...] = tuple(FESTIVAL_VOICES)) -> Synthesiser:
    """festival's ``text2wave`` with its English voices (diphone and HTS), Debian's ``festival``
    and ``festvox-*``."""
    return Synthesiser(
        family="festival",
        program="text2wave",
        install="the Debian package festival",
        voices=tuple(
            Voice(family="festival", name=name, system=f"festival-{name}") for name in voices
        ),
        command=_festival_command,
        missing_voices=_festival_missing,
    )


def _piper_command(job: Job) -> list[str]:
    assert job.voice.model is not None  # every Piper voice is built with its model
    return [
        "-c",
        _PIPER_DRIVER,
        str(job.voice.model),
        str(job.seed),
        f"{1.0 / job.prosody.rate:.4f}",
        str(job.text_file),
        str(job.wav_file),
    ]


def _piper_missing(executable: str, voices: tuple[Voice, ...]) -> dict[str, str]:
    probe = subprocess.run(  # noqa: S603 - our arguments
        [executable, "-c", "import piper, onnxruntime"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    runtime = f"{_PIPER_PACKAGE} installed for {executable}, or another --piper-python"
    missing = {voice.name: runtime for voice in voices} if probe.returncode != 0 else {}
    for voice in voices:
        if voice.model is None or not voice.model.is_file():
            missing[voice.name] = f"its model file {voice.model}"
    return missing


def piper(*, python: str, models: Mapping[str, Path]) -> Synthesiser:
    """Piper neural voices, run by ``python`` (an interpreter with ``piper-tts``).

    Args:
        python: The interpreter that has ``piper-tts`` installed.
        models: Each voice's name and verified ONNX model (see :mod:`.piper_voices`).
    """
    return Synthesiser(
        family="piper",
        program=python,
        install=f"Python with {_PIPER_PACKAGE} (pass it as --piper-python)",
        voices=tuple(
            Voice(family="piper", name=name, system=f"piper-{name}", model=model)
            for name, model in sorted(models.items())
        ),
        command=_piper_command,
        missing_voices=_piper_missing,
    )
