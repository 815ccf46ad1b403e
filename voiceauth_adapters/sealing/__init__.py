"""Template protection: voiceprints sealed at rest with AES-256-GCM under an application key.

``parse_keyring`` reads ``VOICEAUTH_TEMPLATE_KEY`` (the current key first, older ones after);
``TemplateCipher`` seals and opens vectors bound to their user and column (it needs the
``cryptography`` package: import it from ``voiceauth_adapters.sealing.cipher``, so stores without
a key never import it). The stores' codecs decide, per value, between the clear and the sealed
column (``columns``).
"""

from voiceauth_adapters.sealing.census import ResealProgress, TemplateCensus
from voiceauth_adapters.sealing.columns import (
    VECTOR_FIELDS,
    load_optional_vector,
    load_vector,
    store_vector,
)
from voiceauth_adapters.sealing.keys import Keyring, TemplateKey, new_key, parse_keyring

__all__ = [
    "VECTOR_FIELDS",
    "Keyring",
    "ResealProgress",
    "TemplateCensus",
    "TemplateKey",
    "load_optional_vector",
    "load_vector",
    "new_key",
    "parse_keyring",
    "store_vector",
]
