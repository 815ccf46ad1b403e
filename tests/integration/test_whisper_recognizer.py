"""Whisper tiny.en passes the DigitRecognizer contract on real FSDD digits (tests/fixtures)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.contract.digit_recognizer_contract import DigitRecognizerContract, MakeAnswer
from voiceauth_adapters.evaluation.challenge import AnswerPlan, build_answer, read_digit_clips
from voiceauth_adapters.whisper import WhisperDigitRecognizer
from voiceauth_core import Audio
from voiceauth_web import wiring
from voiceauth_web.settings import Settings

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fsdd-eval"


@pytest.fixture(scope="module")
def whisper() -> WhisperDigitRecognizer:
    # The cache `make model` (`voiceauth model fetch`) filled; never downloads.
    recognizer = wiring.digit_recognizer(Settings(), threads=2)
    assert isinstance(recognizer, WhisperDigitRecognizer)
    return recognizer


class TestWhisperDigitRecognizer(DigitRecognizerContract):
    @pytest.fixture
    def recognizer(self, whisper: WhisperDigitRecognizer) -> WhisperDigitRecognizer:
        return whisper

    @pytest.fixture
    def answer(self) -> MakeAnswer:
        (george,) = [s for s in read_digit_clips(FIXTURES, takes=range(1)) if s.speaker == "george"]

        def make(digits: str, lead_s: float) -> Audio:
            plan = AnswerPlan(reaction_s=(lead_s, lead_s), pause_s=(0.25, 0.25))
            audio, _ = build_answer(george, digits, plan=plan, rng=random.Random(0))
            return audio

        return make
