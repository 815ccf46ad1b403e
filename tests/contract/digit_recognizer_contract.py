"""The contract every DigitRecognizer passes: the tone fake and Whisper.

Subclass :class:`DigitRecognizerContract` and provide a ``recognizer`` fixture and an
``answer`` fixture: a function that returns ``digits`` said after ``lead_s`` of silence, at
``CANONICAL_RATE``, as the recogniser is meant to hear them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from voiceauth_core import Audio, AudioProcessingError
from voiceauth_core.challenge import digit_distance
from voiceauth_core.ports import DigitRecognizer

#: Makes an answer: the digits, said after ``lead_s`` seconds of silence.
MakeAnswer = Callable[[str, float], Audio]


class DigitRecognizerContract:
    """Behaviour every digit recogniser must show."""

    def test_it_is_a_digit_recognizer(self, recognizer: DigitRecognizer) -> None:
        assert isinstance(recognizer, DigitRecognizer)
        assert recognizer.recognizer_id

    async def test_it_hears_the_digits_and_when_they_begin(
        self, recognizer: DigitRecognizer, answer: MakeAnswer
    ) -> None:
        heard = await recognizer.hear_digits(answer("490127", 1.2))
        # One digit in twenty answers is misheard by the real model: the rule's tolerance.
        assert digit_distance("490127", heard.digits) <= 1
        assert heard.start_s is not None
        assert heard.start_s == pytest.approx(1.2, abs=0.5)

    async def test_other_digits_are_heard_as_others(
        self, recognizer: DigitRecognizer, answer: MakeAnswer
    ) -> None:
        heard = await recognizer.hear_digits(answer("385", 0.3))
        assert digit_distance("490127", heard.digits) >= 4

    async def test_silence_holds_no_digits(self, recognizer: DigitRecognizer) -> None:
        heard = await recognizer.hear_digits(Audio.silence(2.0))
        assert heard.digits == ""
        assert heard.start_s is None

    async def test_another_rate_is_refused(self, recognizer: DigitRecognizer) -> None:
        with pytest.raises(AudioProcessingError) as refused:
            await recognizer.hear_digits(Audio.silence(1.0, sample_rate=8000))
        assert refused.value.reason == "bad_rate"
