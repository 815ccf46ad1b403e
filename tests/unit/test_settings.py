"""Settings: the original names and defaults, and a clear error naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceauth_web.settings import INFERENCE_BACKENDS, Settings, SettingsError

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
    ],
)
def test_bad_values_name_their_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env)


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
