"""Cost of one calibrated score (AS-norm against the shipped cohort + band + calibration).

Decides whether cohort statistics of an enrolment must be precomputed and stored: if a score
costs microseconds next to an embedding's tens of milliseconds, computing them per score is
simpler and always consistent with the cohort in use.

    ~/.cache/voiceauth/venv/bin/python benchmarks/score_cost.py
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np

from voiceauth_adapters.cohort import load_calibrated_policy, read_parameters
from voiceauth_core import CosinePolicy, Embedding, Enrollment, EnrollmentSample, UserId


def main() -> None:
    model_id = read_parameters().model_id
    policy = load_calibrated_policy(model_id=model_id)
    cosine = CosinePolicy()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 192))
    enrollment = Enrollment.start(
        user_id=UserId.new(),
        phone=None,
        sample=EnrollmentSample(
            embedding=Embedding.from_vector(vectors[0], model_id), speech_seconds=10
        ),
        now=datetime.now(UTC),
    )
    probes = [Embedding.from_vector(v, model_id) for v in vectors[1:]]
    # A wide-band enrolment with its phone-band voiceprint, and probes that sound phone-band:
    # every score goes through the switch to the phone-band voiceprint.
    assert policy.band is not None
    towards_phone = policy.band.direction
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    wide = Embedding.from_vector(unit[0] - 0.5 * towards_phone, model_id)
    twin = Embedding.from_vector(unit[0] + 0.5 * towards_phone, model_id)
    banded = Enrollment.start(
        user_id=UserId.new(),
        phone=None,
        sample=EnrollmentSample(embedding=wide, speech_seconds=10, phone_band=twin),
        now=datetime.now(UTC),
    )
    phone_probes = [Embedding.from_vector(v + 0.5 * towards_phone, model_id) for v in unit[1:]]
    switched = sum(policy.template(banded, probe)[0].cosine(twin) > 0.999 for probe in phone_probes)
    print(f"cohort rows: {policy.asnorm.cohort.size}, top_k {policy.asnorm.top_k}")
    print(f"phone-band switch taken for {switched}/{len(phone_probes)} phone-band probes")
    cases = (
        ("cosine", cosine, enrollment, probes),
        ("calibrated", policy, enrollment, probes),
        ("calibrated, phone-band switch", policy, banded, phone_probes),
    )
    for name, scorer, enrolled, heard in cases:
        rounds = 20
        started = time.perf_counter()
        for _ in range(rounds):
            for probe in heard:
                scorer.score(enrolled, probe, speech_seconds=3.0)
        per_score = (time.perf_counter() - started) / (rounds * len(heard))
        print(f"{name:>30}: {1e6 * per_score:8.1f} us per score")


if __name__ == "__main__":
    main()
