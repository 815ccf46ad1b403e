"""A user's enrolment: the running sum of their samples' embeddings and its centroid."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from voiceauth_core.embedding import Embedding, Vector, check_same_model
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.identity import PhoneNumber, UserId

__all__ = ["Enrollment", "EnrollmentSample", "apply_sample"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentSample:
    """One enrolment recording reduced to what is kept of it: its embeddings, net speech and
    synthetic-speech score.

    Args:
        embedding: The embedding of the sample's speech as recorded.
        speech_seconds: Net speech in the sample.
        phone_band: The embedding of the same speech heard through a simulated telephone line
            (see :class:`voiceauth_core.ports.TelephoneChannel`), or None when not made.
        spoof_raw: The anti-spoofing countermeasure's combined raw score of the sample (its
            own scale; higher means more synthetic), or None when not assessed.

    Raises:
        ModelMismatchError: ``phone_band`` comes from another model than ``embedding``.
        InvalidInputError: ``spoof_raw`` is not a finite number.
    """

    embedding: Embedding
    speech_seconds: float
    phone_band: Embedding | None = None
    spoof_raw: float | None = None

    def __post_init__(self) -> None:
        if self.phone_band is not None:
            check_same_model(
                self.phone_band,
                model_id=self.embedding.model_id,
                dimension=self.embedding.vector.size,
            )
        if self.spoof_raw is not None and not math.isfinite(self.spoof_raw):
            raise InvalidInputError("a sample's spoof score must be a finite number")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Enrollment:
    """The voiceprint of one user.

    The centroid is the normalised sum of the samples' unit embeddings. The sum itself is kept
    (``embedding_sum``) so that a later sample can be added without the original audio, and the
    result does not depend on the order the samples arrived in.

    Beside it, ``phone_band_sum`` adds up the samples' phone-band embeddings: the same speech
    heard through a simulated telephone line. A wide-band enrolment verified over a phone line is
    scored against that phone-band voiceprint (see
    :meth:`voiceauth_core.calibration.CalibratedPolicy.template`), so both sides are heard
    through the same kind of channel. It exists only when every sample brought one: a sample
    without it (an enrolment made before it existed) leaves the enrolment without it until the
    enrolment is replaced.

    ``spoof_raw_sum`` adds up the samples' raw anti-spoofing scores in the same way (present
    only while every sample brought one); its mean, :attr:`spoof_baseline`, is how synthetic this
    person's own live speech sounds to the countermeasure, against which a probe is judged.

    Args:
        user_id: Whose voiceprint this is.
        phone: The user's phone number, if known (a hint for look-up, never an identity).
        embedding_sum: Sum of the samples' unit embeddings.
        sample_count: How many samples were added.
        speech_seconds: Net speech over all samples, in seconds.
        model_id: The model that made every sample's embedding.
        enrolled_at: When the first sample was added.
        updated_at: When the last sample was added.
        phone_band_sum: Sum of the samples' unit phone-band embeddings, or None.
        spoof_raw_sum: Sum of the samples' raw anti-spoofing scores, or None.

    Raises:
        InvalidInputError: No sample, a phone-band sum of another dimension, or a spoof sum
            that is not a finite number.
    """

    user_id: UserId
    phone: PhoneNumber | None
    embedding_sum: Vector
    sample_count: int
    speech_seconds: float
    model_id: str
    enrolled_at: datetime
    updated_at: datetime
    phone_band_sum: Vector | None = None
    spoof_raw_sum: float | None = None

    def __post_init__(self) -> None:
        if self.sample_count < 1:
            raise InvalidInputError("an enrolment has at least one sample")
        array = np.array(self.embedding_sum, dtype=np.float64)
        array.setflags(write=False)
        object.__setattr__(self, "embedding_sum", array)
        if self.phone_band_sum is not None:
            twin = np.array(self.phone_band_sum, dtype=np.float64)
            if twin.shape != array.shape:
                raise InvalidInputError("the phone-band sum must have the embedding's dimension")
            twin.setflags(write=False)
            object.__setattr__(self, "phone_band_sum", twin)
        if self.spoof_raw_sum is not None and not math.isfinite(self.spoof_raw_sum):
            raise InvalidInputError("the spoof score sum must be a finite number")

    @classmethod
    def start(
        cls, *, user_id: UserId, phone: PhoneNumber | None, sample: EnrollmentSample, now: datetime
    ) -> Enrollment:
        """A new enrolment made of one sample."""
        return cls(
            user_id=user_id,
            phone=phone,
            embedding_sum=sample.embedding.vector,
            sample_count=1,
            speech_seconds=sample.speech_seconds,
            model_id=sample.embedding.model_id,
            enrolled_at=now,
            updated_at=now,
            phone_band_sum=None if sample.phone_band is None else sample.phone_band.vector,
            spoof_raw_sum=sample.spoof_raw,
        )

    @property
    def centroid(self) -> Embedding:
        """The enrolment's voiceprint: the unit vector along the sum of its samples."""
        return Embedding.from_vector(self.embedding_sum, self.model_id)

    @property
    def phone_band_centroid(self) -> Embedding | None:
        """The voiceprint as heard through a telephone line, or None where there is none."""
        if self.phone_band_sum is None:
            return None
        return Embedding.from_vector(self.phone_band_sum, self.model_id)

    @property
    def spoof_baseline(self) -> float | None:
        """The samples' mean raw anti-spoofing score, or None where not every sample had one."""
        if self.spoof_raw_sum is None:
            return None
        return self.spoof_raw_sum / self.sample_count

    def add(
        self, sample: EnrollmentSample, *, now: datetime, phone: PhoneNumber | None = None
    ) -> Enrollment:
        """This enrolment with one more sample (and the phone number updated when given).

        Raises:
            ModelMismatchError: The sample was embedded by another model than the enrolment's.
        """
        # Checked against the stored id, not the centroid: a sum may pass through zero on the way
        # (v, then -v, then w), where the centroid is undefined but the next sum is not.
        check_same_model(
            sample.embedding, model_id=self.model_id, dimension=self.embedding_sum.size
        )
        return replace(
            self,
            phone=phone if phone is not None else self.phone,
            embedding_sum=self.embedding_sum + sample.embedding.vector,
            sample_count=self.sample_count + 1,
            speech_seconds=self.speech_seconds + sample.speech_seconds,
            updated_at=now,
            phone_band_sum=(
                None
                if self.phone_band_sum is None or sample.phone_band is None
                else self.phone_band_sum + sample.phone_band.vector
            ),
            spoof_raw_sum=(
                None
                if self.spoof_raw_sum is None or sample.spoof_raw is None
                else self.spoof_raw_sum + sample.spoof_raw
            ),
        )


def apply_sample(
    current: Enrollment | None,
    *,
    user_id: UserId,
    phone: PhoneNumber | None,
    sample: EnrollmentSample,
    now: datetime,
    replace: bool,
) -> Enrollment:
    """The enrolment after a sample: added to ``current``, or a fresh start.

    A fresh start happens when there is no enrolment yet or ``replace`` is set; the phone number
    is kept when the sample brings none. The sums that not every sample may bring
    (``phone_band_sum``, ``spoof_raw_sum``) exist only while every sample since the start brought
    theirs: a sample without one drops it until the next fresh start. Every repository applies
    this one rule inside its own transaction.

    Raises:
        ModelMismatchError: The sample's model differs from the enrolment's and not ``replace``.
    """
    if current is None or replace:
        kept_phone = phone if phone is not None or current is None else current.phone
        return Enrollment.start(user_id=user_id, phone=kept_phone, sample=sample, now=now)
    return current.add(sample, now=now, phone=phone)
