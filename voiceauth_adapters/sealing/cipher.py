"""AES-256-GCM sealing of voiceprint vectors, bound to their user and column.

A sealed value is ``version (1 byte) | key id (4) | nonce (12) | ciphertext | tag (16)``; the
plaintext is the vector as float64 little-endian. The associated data is a domain label, the
column's name, the user id's 16 bytes and the header, so a value copied to another user's row,
or from one column to another (``embedding``, ``embedding_sum``, ``phone_band_sum``), fails to
open, as does any altered byte.
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from voiceauth_adapters.sealing.keys import KEY_ID_BYTES, Keyring
from voiceauth_core.embedding import Vector
from voiceauth_core.errors import TemplateProtectionError
from voiceauth_core.identity import UserId

__all__ = ["FORMAT_VERSION", "Field", "TemplateCipher", "sealed_key_id"]

#: The first byte of every sealed value; a later format gets the next number.
FORMAT_VERSION = 1
#: The sealed columns, each bound by name into its values' associated data. The ``users``
#: columns are bound to the user's id; ``watchlist_embedding`` (``watchlist_entries``) to the
#: entry's id and ``probe_embedding`` (``auth_attempts``) to the attempt's id, passed as the
#: ``UserId`` argument: the row's own UUID.
Field = Literal[
    "embedding", "embedding_sum", "phone_band_sum", "watchlist_embedding", "probe_embedding"
]

_DOMAIN = b"voiceauth template v1\x00"
_NONCE_BYTES = 12  # 96 bits, fresh from os.urandom for every value
_TAG_BYTES = 16
_HEADER_BYTES = 1 + KEY_ID_BYTES
_FLOAT64_LE = np.dtype("<f8")


def sealed_key_id(sealed: bytes) -> bytes:
    """The id of the key that sealed ``sealed`` (its bytes 1 to 4)."""
    return bytes(sealed[1:_HEADER_BYTES])


def _associated_data(user_id: UserId, field: Field, header: bytes) -> bytes:
    return _DOMAIN + field.encode("ascii") + b"\x00" + user_id.value.bytes + header


class TemplateCipher:
    """Seals vectors under the keyring's current key; opens those of any key it holds.

    Args:
        keyring: The current key and the older ones still accepted.
    """

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._aead = {key.key_id: AESGCM(key.secret) for key in keyring.keys}

    @property
    def key_id(self) -> bytes:
        """The current key's id: every value sealed now carries it."""
        return self._keyring.current.key_id

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """The ids of every key held, the current one first."""
        return tuple(key.key_id for key in self._keyring.keys)

    def seal(self, user_id: UserId, field: Field, vector: Vector) -> bytes:
        """``vector`` of ``user_id``'s ``field``, encrypted under the current key."""
        header = bytes([FORMAT_VERSION]) + self.key_id
        nonce = os.urandom(_NONCE_BYTES)
        plaintext = np.asarray(vector, dtype=_FLOAT64_LE).tobytes()
        ciphertext = self._aead[self.key_id].encrypt(
            nonce, plaintext, _associated_data(user_id, field, header)
        )
        return header + nonce + ciphertext

    def open(self, user_id: UserId, field: Field, sealed: bytes) -> Vector:
        """The vector :meth:`seal` sealed for this user and field.

        Raises:
            TemplateProtectionError: An unknown format, a key this keyring does not hold, or a
                value altered or moved from another user's row or field.
        """
        sealed = bytes(sealed)
        if len(sealed) < _HEADER_BYTES + _NONCE_BYTES + _TAG_BYTES or sealed[0] != FORMAT_VERSION:
            raise TemplateProtectionError(
                "a stored voiceprint is not in a sealed format this voiceauth knows"
            )
        key_id = sealed_key_id(sealed)
        aead = self._aead.get(key_id)
        if aead is None:
            raise TemplateProtectionError(
                f"a stored voiceprint was encrypted with template key {key_id.hex()}, which "
                "VOICEAUTH_TEMPLATE_KEY does not hold: add that key after the current one"
            )
        header, nonce = sealed[:_HEADER_BYTES], sealed[_HEADER_BYTES : _HEADER_BYTES + _NONCE_BYTES]
        try:
            plaintext = aead.decrypt(
                nonce,
                sealed[_HEADER_BYTES + _NONCE_BYTES :],
                _associated_data(user_id, field, header),
            )
        except InvalidTag:
            raise TemplateProtectionError(
                "a stored voiceprint fails its integrity check: it was altered, or moved from "
                "another user's row or column"
            ) from None
        if len(plaintext) % _FLOAT64_LE.itemsize:
            raise TemplateProtectionError("a stored voiceprint is not a float64 vector")
        return np.frombuffer(plaintext, dtype=_FLOAT64_LE).astype(np.float64)

    def reseal(
        self, user_id: UserId, field: Field, *, clear: Vector | None, sealed: bytes | None
    ) -> bytes | None:
        """The value sealed under the current key: a clear vector sealed, an older key's value
        opened and sealed again, the current key's value as it is; None when there is none.

        Raises:
            TemplateProtectionError: A sealed value does not open (see :meth:`open`).
        """
        if sealed is not None:
            if sealed_key_id(sealed) == self.key_id:
                return bytes(sealed)
            return self.seal(user_id, field, self.open(user_id, field, sealed))
        if clear is None:
            return None
        return self.seal(user_id, field, clear)
