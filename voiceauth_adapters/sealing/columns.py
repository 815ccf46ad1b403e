"""Which column a voiceprint goes in: sealed when a cipher is configured, else in the clear."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voiceauth_core.embedding import Vector
from voiceauth_core.errors import TemplateProtectionError
from voiceauth_core.identity import UserId

if TYPE_CHECKING:
    # Only for annotations: a store without a key works where cryptography is not installed.
    from voiceauth_adapters.sealing.cipher import Field, TemplateCipher

__all__ = [
    "PROBE_FIELDS",
    "VECTOR_FIELDS",
    "WATCHLIST_FIELDS",
    "load_optional_vector",
    "load_vector",
    "store_vector",
]

#: Every vector column of ``users`` (each beside its ``<name>_sealed`` twin), in order; the
#: values of :data:`~voiceauth_adapters.sealing.cipher.Field`.
VECTOR_FIELDS: tuple[Field, ...] = ("embedding", "embedding_sum", "phone_band_sum")
#: The sealed vector of a watchlist entry (``watchlist_entries``), bound to the entry's id.
WATCHLIST_FIELDS: tuple[Field, ...] = ("watchlist_embedding",)
#: The caller's embedding an attempt keeps (``auth_attempts``), bound to the attempt's id.
PROBE_FIELDS: tuple[Field, ...] = ("probe_embedding",)


def store_vector(
    cipher: TemplateCipher | None, user_id: UserId, field: Field, vector: Vector
) -> bytes | None:
    """The sealed column's value, or None when the vector is to be stored in the clear."""
    return None if cipher is None else cipher.seal(user_id, field, vector)


def load_vector(
    cipher: TemplateCipher | None,
    user_id: UserId,
    field: Field,
    *,
    clear: Vector | None,
    sealed: bytes | None,
) -> Vector:
    """The vector a row holds, sealed or in the clear (a row not yet resealed is still read).

    Raises:
        TemplateProtectionError: The value is sealed and no key is configured, or it does not
            open (see :meth:`TemplateCipher.open`); or the row holds neither form.
    """
    if sealed is not None:
        if cipher is None:
            raise TemplateProtectionError(
                "a stored voiceprint is encrypted but VOICEAUTH_TEMPLATE_KEY is not set: set it "
                "to the key it was encrypted with"
            )
        return cipher.open(user_id, field, sealed)
    if clear is None:
        raise TemplateProtectionError("an enrolled user's row holds no voiceprint")
    return clear


def load_optional_vector(
    cipher: TemplateCipher | None,
    user_id: UserId,
    field: Field,
    *,
    clear: Vector | None,
    sealed: bytes | None,
) -> Vector | None:
    """As :func:`load_vector`, for a vector a row may lack (``phone_band_sum``): None when the
    row holds neither form.

    Raises:
        TemplateProtectionError: The value is sealed and no key is configured, or it does not
            open (see :meth:`TemplateCipher.open`).
    """
    if sealed is None and clear is None:
        return None
    return load_vector(cipher, user_id, field, clear=clear, sealed=sealed)
