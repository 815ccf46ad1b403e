"""What a ``users``, ``auth_attempts`` or ``watchlist_entries`` row holds: the columns read and
written, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voiceauth_adapters.sql.codec import Codec
from voiceauth_core.attempt import Attempt, ChallengeResult, Decision, SpoofRisk
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment
from voiceauth_core.errors import InvalidInputError
from voiceauth_core.identity import PhoneNumber, UserId
from voiceauth_core.watchlist import WatchlistEntry, WatchlistMatch

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = [
    "ATTEMPT_COLUMNS",
    "ATTEMPT_WRITTEN",
    "PROBE_COLUMNS",
    "USER_COLUMNS",
    "USER_WRITTEN",
    "WATCHLIST_COLUMNS",
    "Row",
    "attempt_from_row",
    "attempt_values",
    "enrollment_from_row",
    "enrollment_values",
    "entry_from_row",
    "entry_values",
    "holds_samples",
    "stored_phone",
]

#: A row as the driver returns it, its columns in the order the statement selected them.
Row = Sequence[Any]

#: The ``users`` columns an enrolment is read from, in :func:`enrollment_from_row`'s order.
USER_COLUMNS = (
    "id, phone, embedding_sum, embedding_sum_sealed, sample_count, speech_seconds, model_id,"
    " enrolled_at, updated_at, phone_band_sum, phone_band_sum_sealed, spoof_raw_sum"
)
_SAMPLE_COUNT = 4  # its place in USER_COLUMNS

#: The ``users`` columns a sample writes beside ``id``, in :func:`enrollment_values`'s order.
USER_WRITTEN = (
    "phone",
    "embedding",
    "embedding_sealed",
    "embedding_sum",
    "embedding_sum_sealed",
    "sample_count",
    "speech_seconds",
    "model_id",
    "enrolled_at",
    "updated_at",
    "phone_band_sum",
    "phone_band_sum_sealed",
    "spoof_raw_sum",
)

#: The ``auth_attempts`` columns an attempt is read from, in :func:`attempt_from_row`'s order.
ATTEMPT_COLUMNS = (
    "id, user_id, decision, score, raw_score, speech_seconds, channel, correlation_id,"
    " created_at, error, spoof_score, spoof_risk, watchlist_entry_id, watchlist_label,"
    " watchlist_score, challenge_result, challenge_delay_s"
)
_ATTEMPT_COLUMN_COUNT = 17  # the columns of ATTEMPT_COLUMNS

#: The ``auth_attempts`` columns of the caller's kept embedding, read after
#: :data:`ATTEMPT_COLUMNS` only where it is used (``report-fraud``), never by a listing.
PROBE_COLUMNS = "probe_embedding, probe_embedding_sealed, probe_model_id, probe_expires_at"

#: The ``watchlist_entries`` columns, read and written in :func:`entry_from_row`'s order.
WATCHLIST_COLUMNS = (
    "id",
    "label",
    "note",
    "source",
    "model_id",
    "created_at",
    "watchlist_embedding",
    "watchlist_embedding_sealed",
)

#: The ``auth_attempts`` columns an attempt is written to, in :func:`attempt_values`'s order
#: (``user_id`` second).
ATTEMPT_WRITTEN = (
    "id",
    "user_id",
    "success",
    "score",
    "raw_score",
    "decision",
    "speech_seconds",
    "channel",
    "correlation_id",
    "error",
    "created_at",
    "spoof_score",
    "spoof_risk",
    "watchlist_entry_id",
    "watchlist_label",
    "watchlist_score",
    "probe_embedding",
    "probe_embedding_sealed",
    "probe_model_id",
    "probe_expires_at",
    "challenge_result",
    "challenge_delay_s",
)


def stored_phone(stored: str | None) -> PhoneNumber | None:
    """The phone number a ``phone`` column holds; None when it holds none or one not in E.164.

    A number the original service stored as typed (``555-0100``) survives its migration without
    the separators but still without a country code: it cannot be looked up, so the enrolment
    reads as one without a number rather than failing every read. The next sample that brings a
    number replaces it.
    """
    if stored is None:
        return None
    try:
        return PhoneNumber(e164=stored)
    except InvalidInputError:
        return None


def holds_samples(row: Row) -> bool:
    """Whether a ``users`` row (:data:`USER_COLUMNS`) is an enrolment.

    A row with ``sample_count`` 0 holds no voiceprint: an original user without a usable
    embedding, or the placeholder of a first sample being written.
    """
    return bool(row[_SAMPLE_COUNT] > 0)


def enrollment_from_row(
    row: Row, codec: Codec[Any], cipher: TemplateCipher | None = None
) -> Enrollment:
    """The enrolment a ``users`` row (:data:`USER_COLUMNS`, :func:`holds_samples`) holds.

    Raises:
        TemplateProtectionError: Its voiceprint is sealed and ``cipher`` cannot open it.
    """
    (
        ident,
        phone,
        clear,
        sealed,
        count,
        speech,
        model_id,
        enrolled_at,
        updated_at,
        twin_clear,
        twin_sealed,
        spoof_raw_sum,
    ) = row
    user_id = UserId(value=codec.decode_id(ident))
    return Enrollment(
        user_id=user_id,
        phone=stored_phone(phone),
        embedding_sum=codec.decode_vector(
            user_id, field="embedding_sum", clear=clear, sealed=sealed, cipher=cipher
        ),
        sample_count=count,
        speech_seconds=speech,
        model_id=model_id,
        enrolled_at=codec.decode_time(enrolled_at),
        updated_at=codec.decode_time(updated_at),
        phone_band_sum=codec.decode_optional_vector(
            user_id, field="phone_band_sum", clear=twin_clear, sealed=twin_sealed, cipher=cipher
        ),
        spoof_raw_sum=spoof_raw_sum,
    )


def enrollment_values(
    enrollment: Enrollment, codec: Codec[Any], cipher: TemplateCipher | None = None
) -> tuple[Any, ...]:
    """The :data:`USER_WRITTEN` values of an enrolment; every vector sealed with a ``cipher``.

    ``embedding`` holds the centroid, which the original service's readers use.
    ``spoof_raw_sum`` is a scalar, not a voiceprint: it is written in the clear, key or not.
    """
    user_id = enrollment.user_id
    return (
        None if enrollment.phone is None else enrollment.phone.e164,
        *codec.encode_vector(user_id, enrollment.centroid.vector, field="embedding", cipher=cipher),
        *codec.encode_vector(
            user_id, enrollment.embedding_sum, field="embedding_sum", cipher=cipher
        ),
        enrollment.sample_count,
        enrollment.speech_seconds,
        enrollment.model_id,
        codec.encode_time(enrollment.enrolled_at),
        codec.encode_time(enrollment.updated_at),
        *codec.encode_optional_vector(
            user_id, enrollment.phone_band_sum, field="phone_band_sum", cipher=cipher
        ),
        enrollment.spoof_raw_sum,
    )


def attempt_from_row(row: Row, codec: Codec[Any], cipher: TemplateCipher | None = None) -> Attempt:
    """The attempt an ``auth_attempts`` row (:data:`ATTEMPT_COLUMNS`, then optionally
    :data:`PROBE_COLUMNS`) holds.

    A row written before migration 0007 (or by the original service) has no spoof assessment:
    both its spoof columns are NULL and read as None; one written before 0009 no watchlist
    match and no probe; one written before 0010 no liveness challenge's result.

    Raises:
        TemplateProtectionError: The probe is sealed and ``cipher`` cannot open it.
    """
    attempt_id = codec.decode_id(row[0])
    probe = None
    probe_expires_at = None
    if len(row) > _ATTEMPT_COLUMN_COUNT:
        clear, sealed, model_id, expires = row[_ATTEMPT_COLUMN_COUNT:]
        vector = codec.decode_optional_vector(
            UserId(value=attempt_id),
            field="probe_embedding",
            clear=clear,
            sealed=sealed,
            cipher=cipher,
        )
        if vector is not None and model_id is not None and expires is not None:
            probe = Embedding.from_vector(vector, model_id)
            probe_expires_at = codec.decode_time(expires)
    (
        ident,
        user,
        decision,
        score,
        raw,
        speech,
        channel,
        correlation,
        created_at,
        error,
        spoof_score,
        spoof_risk,
        watchlist_entry,
        watchlist_label,
        watchlist_score,
        challenge_result,
        challenge_delay_s,
    ) = row[:_ATTEMPT_COLUMN_COUNT]
    del ident  # decoded above
    return Attempt(
        id=attempt_id,
        user_id=UserId(value=codec.decode_id(user)),
        decision=Decision(decision),
        score=score,
        raw_score=raw,
        speech_seconds=speech,
        channel=channel,
        correlation_id=correlation,
        created_at=codec.decode_time(created_at),
        error=error,
        spoof_score=spoof_score,
        spoof_risk=None if spoof_risk is None else SpoofRisk(spoof_risk),
        watchlist=None
        if watchlist_entry is None
        else WatchlistMatch(
            entry_id=codec.decode_id(watchlist_entry),
            label=watchlist_label,
            score=watchlist_score,
        ),
        probe=probe,
        probe_expires_at=probe_expires_at,
        challenge=None if challenge_result is None else ChallengeResult(challenge_result),
        challenge_delay_s=challenge_delay_s,
    )


def attempt_values(
    attempt: Attempt, codec: Codec[Any], cipher: TemplateCipher | None = None
) -> tuple[Any, ...]:
    """The :data:`ATTEMPT_WRITTEN` values of an attempt; its probe sealed with a ``cipher``
    (bound to the attempt's id)."""
    match = attempt.watchlist
    probe = attempt.probe
    return (
        codec.encode_id(attempt.id),
        codec.encode_id(attempt.user_id.value),
        attempt.success,
        attempt.score,
        attempt.raw_score,
        attempt.decision.value,
        attempt.speech_seconds,
        attempt.channel,
        attempt.correlation_id,
        attempt.error,
        codec.encode_time(attempt.created_at),
        attempt.spoof_score,
        None if attempt.spoof_risk is None else attempt.spoof_risk.value,
        None if match is None else codec.encode_id(match.entry_id),
        None if match is None else match.label,
        None if match is None else match.score,
        *codec.encode_optional_vector(
            UserId(value=attempt.id),
            None if probe is None else probe.vector,
            field="probe_embedding",
            cipher=cipher,
        ),
        None if probe is None else probe.model_id,
        None if attempt.probe_expires_at is None else codec.encode_time(attempt.probe_expires_at),
        None if attempt.challenge is None else attempt.challenge.value,
        attempt.challenge_delay_s,
    )


def entry_from_row(
    row: Row, codec: Codec[Any], cipher: TemplateCipher | None = None
) -> WatchlistEntry:
    """The watchlist entry a ``watchlist_entries`` row (:data:`WATCHLIST_COLUMNS`) holds.

    Raises:
        TemplateProtectionError: Its embedding is sealed and ``cipher`` cannot open it.
    """
    ident, label, note, source, model_id, created_at, clear, sealed = row
    entry_id = codec.decode_id(ident)
    vector = codec.decode_vector(
        UserId(value=entry_id),
        field="watchlist_embedding",
        clear=clear,
        sealed=sealed,
        cipher=cipher,
    )
    return WatchlistEntry(
        id=entry_id,
        label=label,
        note=note,
        embedding=Embedding.from_vector(vector, model_id),
        created_at=codec.decode_time(created_at),
        source=source,
    )


def entry_values(
    entry: WatchlistEntry, codec: Codec[Any], cipher: TemplateCipher | None = None
) -> tuple[Any, ...]:
    """The :data:`WATCHLIST_COLUMNS` values of an entry; its embedding sealed with a ``cipher``
    (bound to the entry's id)."""
    return (
        codec.encode_id(entry.id),
        entry.label,
        entry.note,
        entry.source,
        entry.embedding.model_id,
        codec.encode_time(entry.created_at),
        *codec.encode_vector(
            UserId(value=entry.id),
            entry.embedding.vector,
            field="watchlist_embedding",
            cipher=cipher,
        ),
    )
