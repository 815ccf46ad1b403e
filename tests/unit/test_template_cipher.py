"""Template protection: AES-GCM sealing bound to user and column, keys, rotation, bad keys."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from voiceauth_adapters.sealing import (
    TemplateCensus,
    load_optional_vector,
    load_vector,
    new_key,
    parse_keyring,
)
from voiceauth_adapters.sealing.cipher import Field, TemplateCipher, sealed_key_id
from voiceauth_core import InvalidInputError, TemplateProtectionError, UserId
from voiceauth_web.settings import Settings, SettingsError

pytestmark = pytest.mark.unit

KEY_A = base64.urlsafe_b64encode(bytes(range(32))).decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(32, 64))).decode()
VECTOR = np.random.default_rng(7).normal(size=192)


def cipher(text: str) -> TemplateCipher:
    return TemplateCipher(parse_keyring(text))


def test_round_trip_is_exact() -> None:
    user = UserId.new()
    sealed = cipher(KEY_A).seal(user, "embedding_sum", VECTOR)
    np.testing.assert_array_equal(cipher(KEY_A).open(user, "embedding_sum", sealed), VECTOR)


def test_sealed_value_holds_no_plaintext_and_a_fresh_nonce() -> None:
    user = UserId.new()
    one, two = (cipher(KEY_A).seal(user, "embedding", VECTOR) for _ in range(2))
    assert one != two  # a fresh 96-bit nonce each time
    plain = VECTOR.astype("<f8").tobytes()
    for chunk in (plain[i : i + 8] for i in range(0, len(plain), 8)):
        assert chunk not in one
    # version 1 | key id | nonce | ciphertext | tag
    assert one[0] == 1
    assert len(one) == 1 + 4 + 12 + len(plain) + 16


def test_another_users_row_does_not_open() -> None:
    sealed = cipher(KEY_A).seal(UserId.new(), "embedding_sum", VECTOR)
    with pytest.raises(TemplateProtectionError, match="integrity check"):
        cipher(KEY_A).open(UserId.new(), "embedding_sum", sealed)


def test_a_value_moved_to_the_other_column_does_not_open() -> None:
    user = UserId.new()
    sealed = cipher(KEY_A).seal(user, "embedding", VECTOR)
    with pytest.raises(TemplateProtectionError, match="integrity check"):
        cipher(KEY_A).open(user, "embedding_sum", sealed)


@pytest.mark.parametrize(
    ("sealed_as", "opened_as"),
    [
        ("embedding_sum", "phone_band_sum"),
        ("phone_band_sum", "embedding_sum"),
        ("phone_band_sum", "embedding"),
    ],
)
def test_the_phone_band_sum_is_a_column_of_its_own(sealed_as: Field, opened_as: Field) -> None:
    user = UserId.new()
    sealed = cipher(KEY_A).seal(user, sealed_as, VECTOR)
    np.testing.assert_array_equal(cipher(KEY_A).open(user, sealed_as, sealed), VECTOR)
    with pytest.raises(TemplateProtectionError, match="integrity check"):
        cipher(KEY_A).open(user, opened_as, sealed)


@pytest.mark.parametrize("position", [5, 17, 100, -1])  # nonce, ciphertext, middle, tag
def test_any_altered_byte_is_refused(position: int) -> None:
    user = UserId.new()
    sealed = bytearray(cipher(KEY_A).seal(user, "embedding_sum", VECTOR))
    sealed[position] ^= 0x01
    with pytest.raises(TemplateProtectionError, match="integrity check"):
        cipher(KEY_A).open(user, "embedding_sum", bytes(sealed))


def test_an_altered_header_is_refused() -> None:
    user = UserId.new()
    sealed = cipher(KEY_A).seal(user, "embedding_sum", VECTOR)
    with pytest.raises(TemplateProtectionError, match="sealed format"):
        cipher(KEY_A).open(user, "embedding_sum", b"\x02" + sealed[1:])
    with pytest.raises(TemplateProtectionError, match="does not hold"):
        cipher(KEY_A).open(user, "embedding_sum", sealed[:1] + b"\x00" * 4 + sealed[5:])
    with pytest.raises(TemplateProtectionError, match="sealed format"):
        cipher(KEY_A).open(user, "embedding_sum", sealed[:20])


def test_an_older_key_still_opens_during_rotation() -> None:
    user = UserId.new()
    old = cipher(KEY_A).seal(user, "embedding_sum", VECTOR)
    rotating = cipher(f"{KEY_B},{KEY_A}")
    np.testing.assert_array_equal(rotating.open(user, "embedding_sum", old), VECTOR)
    # New values go under the current (first) key.
    assert sealed_key_id(rotating.seal(user, "embedding_sum", VECTOR)) == rotating.key_id
    assert rotating.key_id != cipher(KEY_A).key_id


def test_reseal_moves_values_to_the_current_key() -> None:
    user = UserId.new()
    rotating = cipher(f"{KEY_B},{KEY_A}")
    old = cipher(KEY_A).seal(user, "embedding", VECTOR)
    resealed = rotating.reseal(user, "embedding", clear=None, sealed=old)
    assert resealed is not None
    np.testing.assert_array_equal(cipher(KEY_B).open(user, "embedding", resealed), VECTOR)
    current = rotating.seal(user, "embedding", VECTOR)
    assert rotating.reseal(user, "embedding", clear=None, sealed=current) == current
    from_clear = rotating.reseal(user, "embedding", clear=VECTOR, sealed=None)
    assert from_clear is not None
    np.testing.assert_array_equal(cipher(KEY_B).open(user, "embedding", from_clear), VECTOR)
    assert rotating.reseal(user, "embedding", clear=None, sealed=None) is None


def test_a_key_that_is_not_held_is_named_by_its_id() -> None:
    user = UserId.new()
    sealed = cipher(KEY_A).seal(user, "embedding_sum", VECTOR)
    with pytest.raises(TemplateProtectionError) as refused:
        cipher(KEY_B).open(user, "embedding_sum", sealed)
    assert cipher(KEY_A).key_id.hex() in refused.value.message
    assert "VOICEAUTH_TEMPLATE_KEY does not hold" in refused.value.message
    assert KEY_A not in refused.value.message


def test_a_sealed_value_without_a_key_is_refused_not_guessed() -> None:
    user = UserId.new()
    sealed = cipher(KEY_A).seal(user, "embedding_sum", VECTOR)
    with pytest.raises(TemplateProtectionError, match="VOICEAUTH_TEMPLATE_KEY is not set"):
        load_vector(None, user, "embedding_sum", clear=None, sealed=sealed)
    # A row still in the clear is read with or without a key (until `db rotate-key`).
    clear = load_vector(cipher(KEY_A), user, "embedding_sum", clear=VECTOR, sealed=None)
    np.testing.assert_array_equal(clear, VECTOR)


def test_an_absent_phone_band_sum_is_none_and_a_present_one_is_read() -> None:
    user = UserId.new()
    for keyring in (None, cipher(KEY_A)):
        assert (
            load_optional_vector(keyring, user, "phone_band_sum", clear=None, sealed=None) is None
        )
    clear = load_optional_vector(None, user, "phone_band_sum", clear=VECTOR, sealed=None)
    assert clear is not None
    np.testing.assert_array_equal(clear, VECTOR)
    sealed = cipher(KEY_A).seal(user, "phone_band_sum", VECTOR)
    opened = load_optional_vector(cipher(KEY_A), user, "phone_band_sum", clear=None, sealed=sealed)
    assert opened is not None
    np.testing.assert_array_equal(opened, VECTOR)
    # Sealed and unreadable is refused, never taken for absent.
    with pytest.raises(TemplateProtectionError, match="VOICEAUTH_TEMPLATE_KEY is not set"):
        load_optional_vector(None, user, "phone_band_sum", clear=None, sealed=sealed)
    with pytest.raises(TemplateProtectionError, match="does not hold"):
        load_optional_vector(cipher(KEY_B), user, "phone_band_sum", clear=None, sealed=sealed)
    # The required form still refuses a row without its vector.
    with pytest.raises(TemplateProtectionError, match="holds no voiceprint"):
        load_vector(None, user, "embedding_sum", clear=None, sealed=None)


def test_the_census_lists_a_key_found_in_any_column() -> None:
    key_a, key_b = cipher(KEY_A).key_id.hex(), cipher(KEY_B).key_id.hex()
    census = TemplateCensus.from_columns(
        clear=0, by_column=[{key_a: 3}, {key_a: 3}, {key_a: 2, key_b: 1}]
    )
    assert census.sealed == {key_a: 3, key_b: 1}
    with pytest.raises(TemplateProtectionError, match=key_b):
        census.require_readable(cipher(KEY_A))
    census.require_readable(cipher(f"{KEY_A},{KEY_B}"))


def test_the_census_refuses_keys_the_configuration_lacks() -> None:
    key_a = cipher(KEY_A).key_id.hex()
    TemplateCensus(clear=3).require_readable(None)
    census = TemplateCensus(clear=0, sealed={key_a: 2})
    census.require_readable(cipher(KEY_A))
    census.require_readable(cipher(f"{KEY_B},{KEY_A}"))
    with pytest.raises(TemplateProtectionError, match="2 stored voiceprint"):
        census.require_readable(None)
    with pytest.raises(TemplateProtectionError, match=key_a):
        census.require_readable(cipher(KEY_B))


def test_new_keys_are_valid_and_distinct() -> None:
    first, second = new_key(), new_key()
    assert first != second
    assert len(first) == 44
    assert parse_keyring(first).current.key_id != parse_keyring(second).current.key_id
    assert parse_keyring(first.rstrip("=")) == parse_keyring(first)  # padding is optional


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64!", "the first key is not URL-safe base64"),
        (base64.urlsafe_b64encode(b"short").decode(), "decodes to 5 bytes, not 32"),
        (base64.b64encode(bytes([251]) * 32).decode(), "not URL-safe base64"),  # "+" and "/"
        (f"{KEY_A},", "a key is empty"),
        (f"{KEY_A},,{KEY_B}", "a key is empty"),
        (f"{KEY_A},{KEY_A}", "listed twice"),
        (f"{KEY_A},x{KEY_B}", "key 2 "),
    ],
)
def test_bad_keys_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_keyring(text)


def test_a_bad_key_stops_start_up_naming_the_variable_not_the_key() -> None:
    bad = KEY_A[:-6]
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"VOICEAUTH_TEMPLATE_KEY": bad})
    assert str(refused.value).startswith("VOICEAUTH_TEMPLATE_KEY: ")
    assert bad not in str(refused.value)
    settings = Settings.from_env({"VOICEAUTH_TEMPLATE_KEY": f" {KEY_B}, {KEY_A} "})
    assert settings.template_key is not None


def test_the_key_never_shows_in_its_repr() -> None:
    keyring = parse_keyring(KEY_A)
    assert KEY_A not in repr(keyring)
    assert str(bytes(range(32))) not in repr(keyring)
