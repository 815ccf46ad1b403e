"""The ``DigitRecognizer`` port with faster-whisper (CTranslate2) and Whisper tiny.en, offline."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voiceauth_adapters.whisper.manifest import RECOGNIZER_ID, verify_files
from voiceauth_core.audio import CANONICAL_RATE, Audio
from voiceauth_core.challenge import HeardDigits, digits_in_words
from voiceauth_core.errors import AudioProcessingError

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

__all__ = ["DecodingOptions", "WhisperDigitRecognizer"]

_MIN_WORD_S = 0.02


class DecodingOptions:
    """How Whisper decodes an answer (the set-up measured in ``docs/accuracy/challenge``).

    Args:
        beam_size: Beams of the search (1: greedy).
        max_tokens: The most tokens decoded for one 30 s window.
    """

    def __init__(self, *, beam_size: int = 5, max_tokens: int = 48) -> None:
        self.beam_size = beam_size
        self.max_tokens = max_tokens


class WhisperDigitRecognizer:
    """Hears digits with Whisper; one transcription at a time per instance, off the event loop.

    Build it with :meth:`load`. It decodes in English, without carrying text between windows,
    with word timings: the first word that holds a digit tells when the answer began, and words
    aligned to no audio (Whisper's repeats after the end of speech) are left out.

    Args:
        model: The loaded model.
        options: The decoding set-up.
    """

    def __init__(self, model: WhisperModel, *, options: DecodingOptions | None = None) -> None:
        self._model = model
        self._options = options or DecodingOptions()
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, folder: Path, *, threads: int = 0, options: DecodingOptions | None = None
    ) -> WhisperDigitRecognizer:
        """Verify the files in ``folder`` (sizes and SHA-256), then load them.

        Args:
            folder: The model's folder (``resolve_model``).
            threads: CPU threads for one transcription (0: CTranslate2's default).
            options: The decoding set-up.

        Raises:
            ModelUnavailableError: A file is missing.
            ModelIntegrityError: A file differs from the published one.
        """
        from faster_whisper import WhisperModel  # noqa: PLC0415 - heavy, loaded when used

        verify_files(folder)
        model = WhisperModel(
            str(folder),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            local_files_only=True,
        )
        return cls(model, options=options)

    @property
    def recognizer_id(self) -> str:
        """The model and its weights' digest."""
        return RECOGNIZER_ID

    async def hear_digits(self, audio: Audio) -> HeardDigits:
        """The digits spoken in ``audio`` and when the first began.

        Raises:
            AudioProcessingError: The audio is not at ``CANONICAL_RATE``.
        """
        if audio.sample_rate != CANONICAL_RATE:
            raise AudioProcessingError("the recogniser takes 16 kHz audio", reason="bad_rate")
        return await asyncio.to_thread(self._hear, audio)

    def _hear(self, audio: Audio) -> HeardDigits:
        samples = np.ascontiguousarray(audio.samples, dtype=np.float32)
        with self._lock:
            segments, _ = self._model.transcribe(
                samples,
                language="en",
                beam_size=self._options.beam_size,
                word_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
                # One pass, bounded: no fallback to sampling at higher temperatures and no
                # segment dropped as silence; a looping hypothesis is cut at max_new_tokens
                # (six digits take about twelve tokens), so an answer costs one decode.
                temperature=0.0,
                compression_ratio_threshold=None,
                log_prob_threshold=None,
                no_speech_threshold=None,
                max_new_tokens=self._options.max_tokens,
            )
            words = [
                word
                for segment in segments
                for word in (segment.words or ())
                # Whisper's hallucinated repeats after the end of speech (a digit again and
                # again) are aligned to no audio at all: a word of no duration was not said.
                if word.end - word.start >= _MIN_WORD_S
            ]
        start_s = next((float(w.start) for w in words if digits_in_words([w.word])), None)
        return HeardDigits(digits=digits_in_words(w.word for w in words), start_s=start_s)
