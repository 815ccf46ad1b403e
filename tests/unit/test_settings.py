"""Settings: the original names and defaults, and a clear error naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceauth_web.settings import INFERENCE_BACKENDS, Settings, SettingsError
from voiceauth_web.wiring import challenge_rule

pytestmark = pytest.mark.unit


def test_defaults_are_the_original_services() -> None:
    settings = Settings.from_env({})
    assert settings.voice_threshold == 0.82
    assert settings.max_audio_duration == 30.0
    assert settings.websocket_timeout == 65.0
    assert settings.log_level == "INFO"
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.database_url is None
    assert settings.rate_limit_per_minute == 100
    assert settings.vapi_allowed_hosts == ("vapi.ai",)


def test_the_inference_backend_defaults_to_onnx_and_names_every_backend() -> None:
    from voiceauth_adapters.inference import BACKENDS, DEFAULT_BACKEND, load_embedder

    assert Settings.from_env({}).inference_backend == DEFAULT_BACKEND == "onnx"
    assert INFERENCE_BACKENDS == BACKENDS
    for backend in BACKENDS:
        assert Settings.from_env({"VOICEAUTH_INFERENCE": backend}).inference_backend == backend
    with pytest.raises(ValueError, match="unknown inference backend 'gpu'"):
        load_embedder("gpu", Path("/nowhere"), cache_dir=Path("/nowhere"), threads=1)


def test_values_are_read_and_typed() -> None:
    settings = Settings.from_env(
        {
            "VOICE_THRESHOLD": "0.9",
            "PORT": "9000",
            "LOG_LEVEL": "debug",
            "VOICEAUTH_API_KEYS": " a , b ,",
            "VOICEAUTH_DATA_DIR": "/tmp/x",
            "DB_STATEMENT_CACHE": "0",
            "VOICEAUTH_ALLOW_PRIVATE_NETWORKS": "yes",
        }
    )
    assert settings.voice_threshold == 0.9
    assert settings.port == 9000
    assert settings.log_level == "DEBUG"
    assert settings.api_keys == ("a", "b")
    assert settings.sqlite_path == Path("/tmp/x/voiceauth.db")
    assert settings.db_statement_cache is False
    assert settings.allow_private_networks is True


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"VOICE_THRESHOLD": "high"}, "VOICE_THRESHOLD"),
        ({"VOICE_THRESHOLD": "1.5"}, "VOICE_THRESHOLD"),
        ({"PORT": "0"}, "PORT"),
        ({"MAX_AUDIO_DURATION": "-3"}, "MAX_AUDIO_DURATION"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"VOICEAUTH_ALLOW_INSECURE": "maybe"}, "VOICEAUTH_ALLOW_INSECURE"),
        ({"VOICEAUTH_INFERENCE": "gpu"}, "VOICEAUTH_INFERENCE"),
        ({"VAPI_CHANNELS": "1", "VAPI_CUSTOMER_CHANNEL": "1"}, "VAPI_CUSTOMER_CHANNEL"),
        ({"DB_POOL_MIN": "20", "DB_POOL_MAX": "5"}, "DB_POOL_MIN"),
        ({"VOICEAUTH_WATCHLIST_THRESHOLD": "2"}, "VOICEAUTH_WATCHLIST_THRESHOLD"),
        ({"VOICEAUTH_WATCHLIST_ACTION": "block"}, "VOICEAUTH_WATCHLIST_ACTION"),
        ({"VOICEAUTH_WATCHLIST_ENROLL_ACTION": "reject"}, "VOICEAUTH_WATCHLIST_ENROLL_ACTION"),
        ({"VOICEAUTH_PROBE_RETENTION_DAYS": "-1"}, "VOICEAUTH_PROBE_RETENTION_DAYS"),
        ({"VOICEAUTH_CHALLENGE_DIGITS": "3"}, "VOICEAUTH_CHALLENGE_DIGITS"),
        ({"VOICEAUTH_CHALLENGE_TTL_SECONDS": "1"}, "VOICEAUTH_CHALLENGE_TTL_SECONDS"),
        ({"VOICEAUTH_CHALLENGE_MAX_ANSWER_DELAY": "0"}, "VOICEAUTH_CHALLENGE_MAX_ANSWER_DELAY"),
        (
            {"VOICEAUTH_CHALLENGE_DIGITS": "4", "VOICEAUTH_CHALLENGE_TOLERANCE": "2"},
            "VOICEAUTH_CHALLENGE_TOLERANCE",
        ),
    ],
)
def test_bad_values_name_their_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env)


def test_the_vapi_hmac_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "VAPI_HMAC_SECRET": "hm4c",
            "VAPI_HMAC_ALGORITHM": "SHA512",
            "VAPI_HMAC_SIGNATURE_HEADER": "X-Vapi-Signature",
            "VAPI_HMAC_TIMESTAMP_HEADER": "X-Vapi-Timestamp",
            "VAPI_HMAC_TOLERANCE": "60",
        }
    )
    assert (settings.vapi_hmac_secret, settings.vapi_hmac_algorithm) == ("hm4c", "sha512")
    assert settings.vapi_hmac_signature_header == "x-vapi-signature"
    assert settings.vapi_hmac_timestamp_header == "x-vapi-timestamp"
    assert settings.vapi_hmac_tolerance == 60.0
    defaults = Settings.from_env({})
    assert defaults.vapi_hmac_secret is None
    assert (defaults.vapi_hmac_signature_header, defaults.vapi_hmac_tolerance) == (
        "x-signature",
        300.0,
    )
    for bad in ({"VAPI_HMAC_ALGORITHM": "md5"}, {"VAPI_HMAC_TOLERANCE": "0"}):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            Settings.from_env(bad)


def test_the_watchlist_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "VOICEAUTH_WATCHLIST_THRESHOLD": "0.995",
            "VOICEAUTH_WATCHLIST_ACTION": "reject",
            "VOICEAUTH_WATCHLIST_ENROLL_ACTION": "refuse",
            "VOICEAUTH_PROBE_RETENTION_DAYS": "0",
        }
    )
    assert settings.watchlist_threshold == 0.995
    assert (settings.watchlist_action, settings.watchlist_enroll_action) == ("reject", "refuse")
    assert settings.probe_retention_days == 0
    defaults = Settings.from_env({})
    assert (defaults.watchlist_action, defaults.watchlist_enroll_action) == ("flag", "flag")
    assert defaults.probe_retention_days == 30


def test_the_challenge_settings_are_read_into_its_rule() -> None:
    settings = Settings.from_env(
        {
            "VOICEAUTH_CHALLENGE_DIGITS": "8",
            "VOICEAUTH_CHALLENGE_TOLERANCE": "2",
            "VOICEAUTH_CHALLENGE_TTL_SECONDS": "60",
            "VOICEAUTH_CHALLENGE_MAX_ANSWER_DELAY": "3.5",
        }
    )
    rule = challenge_rule(settings)
    assert (rule.length, rule.tolerance, rule.ttl_s, rule.max_answer_delay_s) == (8, 2, 60.0, 3.5)
    defaults = challenge_rule(Settings.from_env({}))
    assert (defaults.length, defaults.tolerance, defaults.max_answer_delay_s) == (6, 2, 4.0)


def test_public_host_without_keys_refuses_to_start() -> None:
    with pytest.raises(SettingsError, match="VOICEAUTH_API_KEYS"):
        Settings.from_env({"HOST": "0.0.0.0"})
    assert Settings.from_env({"HOST": "0.0.0.0", "VOICEAUTH_API_KEYS": "k"}).api_keys == ("k",)
    assert Settings.from_env({"HOST": "0.0.0.0", "VOICEAUTH_ALLOW_INSECURE": "1"}).allow_insecure
    assert Settings.from_env({"HOST": "localhost"}).is_loopback


def test_supabase_anon_key_alone_explains_what_is_needed() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL") as caught:
        Settings.from_env({"SUPABASE_URL": "https://x.supabase.co", "SUPABASE_ANON_KEY": "k"})
    assert "Connection string" in str(caught.value)
