"""Template keys: 32 random bytes in URL-safe base64, the current one first, older ones after."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass

from voiceauth_core.errors import InvalidInputError

__all__ = ["KEY_BYTES", "KEY_ID_BYTES", "Keyring", "TemplateKey", "new_key", "parse_keyring"]

#: AES-256: a key is 32 bytes.
KEY_BYTES = 32
# The key id is a hash of the key under this label, so it says nothing usable about the key.
_KEY_ID_LABEL = b"voiceauth template key id\x00"
KEY_ID_BYTES = 4
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateKey:
    """One AES-256 key and its short id (stored in every value it seals).

    Args:
        secret: The 32 key bytes.
    """

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise InvalidInputError(f"a template key is {KEY_BYTES} bytes, not {len(self.secret)}")

    @property
    def key_id(self) -> bytes:
        """The first 4 bytes of SHA-256 over a label and the key: names the key, hides it."""
        return hashlib.sha256(_KEY_ID_LABEL + self.secret).digest()[:KEY_ID_BYTES]

    def __repr__(self) -> str:
        return f"TemplateKey(key_id={self.key_id.hex()})"  # never the secret, not even in logs


@dataclass(frozen=True, slots=True, kw_only=True)
class Keyring:
    """The key new values are sealed with, and the older keys still accepted for reading.

    Args:
        current: Seals every value written.
        older: Open values sealed before a rotation, until ``voiceauth db rotate-key`` reseals
            them under ``current``.
    """

    current: TemplateKey
    older: tuple[TemplateKey, ...] = ()

    def __post_init__(self) -> None:
        ids = [key.key_id for key in self.keys]
        if len(set(ids)) != len(ids):
            raise InvalidInputError("the same template key is listed twice")

    @property
    def keys(self) -> tuple[TemplateKey, ...]:
        """Every key, the current one first."""
        return (self.current, *self.older)

    def find(self, key_id: bytes) -> TemplateKey | None:
        """The key with this id, or None."""
        return next((key for key in self.keys if key.key_id == key_id), None)


def _decode(text: str, position: int) -> TemplateKey:
    where = "the first key" if position == 0 else f"key {position + 1}"
    if _BASE64URL.fullmatch(text) is None:
        # The decoder would skip stray characters silently; a typo must not pass.
        raise InvalidInputError(
            f"{where} is not URL-safe base64 (make one with `voiceauth db new-key`)"
        )
    try:
        # Padding is optional: some tools strip the trailing "=".
        secret = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInputError(
            f"{where} is not URL-safe base64 (make one with `voiceauth db new-key`)"
        ) from None
    if len(secret) != KEY_BYTES:
        raise InvalidInputError(
            f"{where} decodes to {len(secret)} bytes, not {KEY_BYTES} "
            "(make one with `voiceauth db new-key`)"
        )
    return TemplateKey(secret=secret)


def parse_keyring(text: str) -> Keyring:
    """The keyring written as ``current[,older,...]``, each key URL-safe base64 of 32 bytes.

    Raises:
        InvalidInputError: A key is not base64, not 32 bytes, empty, or listed twice; the
            message never repeats a key.
    """
    items = [item.strip() for item in text.split(",")]
    if not items or any(not item for item in items):
        raise InvalidInputError("a key is empty (keys are separated by single commas)")
    keys = [_decode(item, position) for position, item in enumerate(items)]
    return Keyring(current=keys[0], older=tuple(keys[1:]))


def new_key() -> str:
    """A fresh random key, as ``VOICEAUTH_TEMPLATE_KEY`` takes it (44 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
