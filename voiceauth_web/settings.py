"""Settings, read once from the environment at start-up; a bad value names its variable."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

__all__ = ["DEFAULT_VOICE_THRESHOLD", "INFERENCE_BACKENDS", "Settings", "SettingsError"]

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting is malformed; the message names the environment variable."""


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voiceauth"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voiceauth"


#: ``VOICE_THRESHOLD``'s default, the operating point ``docs/accuracy.md`` measures.
DEFAULT_VOICE_THRESHOLD = 0.82
#: ``VOICEAUTH_WATCHLIST_THRESHOLD``'s default, the operating point ``docs/accuracy.md`` measures.
DEFAULT_WATCHLIST_THRESHOLD = 0.99
#: ``VOICEAUTH_INFERENCE``'s choices, the default first: ``voiceauth_adapters.inference``'s
#: ``BACKENDS`` (a unit test keeps them equal), written out so that reading the settings, as every
#: command does, imports no adapter (that package pulls in numpy).
INFERENCE_BACKENDS = ("onnx", "onnx-int8", "speechbrain")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Every setting of the service, with the original service's names and defaults.

    Build it with :meth:`from_env`; tests build it directly.
    """

    # The original service's settings.
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    voice_threshold: float = DEFAULT_VOICE_THRESHOLD
    # Identification: the highest chance, for the gallery's size, that a stranger scores as high
    # as the best candidate, at which it is still a match.
    identify_max_false_match: float = 0.01
    # Seconds between the checks of each replica's voiceprint index against the store (0: off).
    identify_resync_s: float = 300.0
    max_audio_duration: float = 30.0
    websocket_timeout: float = 65.0
    supabase_url: str | None = None
    supabase_anon_key: str | None = None

    # Storage.
    database_url: str | None = None
    data_dir: Path = field(default_factory=_default_data_dir)
    db_pool_min: int = 1
    db_pool_max: int = 10
    db_statement_cache: bool | None = None  # None: detect Supabase's transaction pooler
    template_key: str | None = None

    # The model and inference.
    model_dir: Path | None = None
    cache_dir: Path = field(default_factory=_default_cache_dir)
    inference_backend: str = INFERENCE_BACKENDS[0]
    inference_threads: int = 0  # 0: one per core
    inference_workers: int = 0  # 0: one per core
    inference_nice: int = 0  # added to the inference threads' niceness
    inference_queue_timeout: float = 10.0

    # Audio and decisions.
    max_upload_bytes: int = 20 * 1024 * 1024
    download_timeout: float = 20.0
    min_enroll_speech: float = 3.0
    strong_enroll_speech: float = 10.0
    min_verify_speech: float = 1.0
    target_verify_speech: float = 8.0
    scoring: str = "calibrated"

    # Synthetic speech (voiceauth_core.spoof_gate.SpoofGate): the operating point measured for
    # the shipped AASIST back-end and calibration, on the fit half of the local spoof corpus
    # (docs/spoofing.md).
    spoof_check: bool = True
    spoof_step_up: float = 0.4874
    spoof_elevated: float = 0.4874
    spoof_baseline_margin: float = 2.0
    spoof_enroll_refuse: float = 0.9787

    # The spoken liveness challenge (voiceauth_core.challenge.ChallengeRule): the tolerance and
    # the late-answer bound measured on FSDD digit strings (docs/accuracy.md).
    challenge_digits: int = 6
    challenge_tolerance: int = 2
    challenge_ttl: float = 120.0
    challenge_max_answer_delay: float = 4.0

    # The fraud watchlist (voiceauth_core.watchlist): the threshold is the operating point
    # `voiceauth eval --watchlist` measures (docs/accuracy.md); probes kept this many days for
    # report-fraud (0: not kept).
    watchlist_threshold: float = DEFAULT_WATCHLIST_THRESHOLD
    watchlist_action: str = "flag"
    watchlist_enroll_action: str = "flag"
    probe_retention_days: int = 30

    # Security.
    api_keys: tuple[str, ...] = ()
    allow_insecure: bool = False
    allow_private_networks: bool = False
    cors_origins: tuple[str, ...] = ()
    rate_limit_per_minute: int = 100
    trusted_proxies: tuple[str, ...] = ()
    redis_url: str | None = None

    # VAPI.
    vapi_public_key: str | None = None
    vapi_tool_secret: str | None = None
    #: VAPI's HMAC credential (docs/vapi-auth.md): secret, algorithm, header names and how old
    #: a signed timestamp may be, in seconds.
    vapi_hmac_secret: str | None = None
    vapi_hmac_algorithm: str = "sha256"
    vapi_hmac_signature_header: str = "x-signature"
    vapi_hmac_timestamp_header: str = "x-timestamp"
    vapi_hmac_tolerance: float = 300.0
    vapi_allowed_hosts: tuple[str, ...] = ("vapi.ai",)
    vapi_sample_rate: int = 16000
    vapi_channels: int = 2
    vapi_customer_channel: int = 0
    tool_max_capture: float = 15.0
    #: Concurrent call sessions (passive verification) one replica holds; more are refused.
    vapi_max_sessions: int = 200
    #: A call session with no audio and no message for this long is closed.
    vapi_session_idle: float = 120.0

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded database lives when ``DATABASE_URL`` is unset."""
        return self.data_dir / "voiceauth.db"

    @property
    def is_loopback(self) -> bool:
        """Whether the service listens on loopback only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from the environment.

        Raises:
            SettingsError: A value is malformed; the message names the variable.
        """
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        defaults = cls()
        settings = cls(
            host=reader.text("HOST", defaults.host),
            port=reader.number("PORT", int, defaults.port, low=1, high=65535),
            log_level=reader.choice(
                "LOG_LEVEL",
                defaults.log_level,
                ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"),
                upper=True,
            ),
            voice_threshold=reader.number(
                "VOICE_THRESHOLD", float, defaults.voice_threshold, low=0.0, high=1.0
            ),
            identify_max_false_match=reader.number(
                "VOICEAUTH_IDENTIFY_MAX_FALSE_MATCH",
                float,
                defaults.identify_max_false_match,
                low=1e-9,
                high=0.5,
            ),
            identify_resync_s=reader.number(
                "VOICEAUTH_IDENTIFY_RESYNC_S",
                float,
                defaults.identify_resync_s,
                low=0.0,
                high=86400.0,
            ),
            max_audio_duration=reader.number(
                "MAX_AUDIO_DURATION", float, defaults.max_audio_duration, low=1.0, high=600.0
            ),
            websocket_timeout=reader.number(
                "WEBSOCKET_TIMEOUT", float, defaults.websocket_timeout, low=1.0, high=3600.0
            ),
            supabase_url=reader.optional("SUPABASE_URL"),
            supabase_anon_key=reader.optional("SUPABASE_ANON_KEY"),
            database_url=reader.optional("DATABASE_URL"),
            data_dir=Path(reader.text("VOICEAUTH_DATA_DIR", str(defaults.data_dir))),
            db_pool_min=reader.number("DB_POOL_MIN", int, defaults.db_pool_min, low=0, high=100),
            db_pool_max=reader.number("DB_POOL_MAX", int, defaults.db_pool_max, low=1, high=500),
            db_statement_cache=reader.optional_flag("DB_STATEMENT_CACHE"),
            template_key=reader.optional("VOICEAUTH_TEMPLATE_KEY"),
            model_dir=reader.optional_path("VOICEAUTH_MODEL_DIR"),
            cache_dir=Path(reader.text("VOICEAUTH_CACHE_DIR", str(defaults.cache_dir))),
            inference_backend=reader.choice(
                "VOICEAUTH_INFERENCE", defaults.inference_backend, INFERENCE_BACKENDS
            ),
            inference_threads=reader.number(
                "VOICEAUTH_INFERENCE_THREADS", int, defaults.inference_threads, low=0, high=256
            ),
            inference_workers=reader.number(
                "VOICEAUTH_INFERENCE_WORKERS", int, defaults.inference_workers, low=0, high=64
            ),
            inference_nice=reader.number(
                "VOICEAUTH_INFERENCE_NICE", int, defaults.inference_nice, low=0, high=19
            ),
            inference_queue_timeout=reader.number(
                "VOICEAUTH_QUEUE_TIMEOUT", float, defaults.inference_queue_timeout, low=0.0
            ),
            max_upload_bytes=reader.number(
                "MAX_UPLOAD_BYTES", int, defaults.max_upload_bytes, low=1024
            ),
            download_timeout=reader.number(
                "DOWNLOAD_TIMEOUT", float, defaults.download_timeout, low=0.1, high=600.0
            ),
            min_enroll_speech=reader.number(
                "MIN_ENROLL_SPEECH", float, defaults.min_enroll_speech, low=0.1, high=120.0
            ),
            strong_enroll_speech=reader.number(
                "STRONG_ENROLL_SPEECH", float, defaults.strong_enroll_speech, low=0.1, high=600.0
            ),
            min_verify_speech=reader.number(
                "MIN_VERIFY_SPEECH", float, defaults.min_verify_speech, low=0.1, high=60.0
            ),
            target_verify_speech=reader.number(
                "TARGET_VERIFY_SPEECH", float, defaults.target_verify_speech, low=0.5, high=120.0
            ),
            scoring=reader.choice("VOICEAUTH_SCORING", defaults.scoring, ("calibrated", "cosine")),
            spoof_check=reader.flag("VOICEAUTH_SPOOF_CHECK", default=defaults.spoof_check),
            spoof_step_up=reader.number(
                "SPOOF_STEP_UP_THRESHOLD", float, defaults.spoof_step_up, low=0.01, high=1.0
            ),
            spoof_elevated=reader.number(
                "SPOOF_ELEVATED_THRESHOLD", float, defaults.spoof_elevated, low=0.01, high=1.0
            ),
            spoof_baseline_margin=reader.number(
                "SPOOF_BASELINE_MARGIN", float, defaults.spoof_baseline_margin, low=0.0, high=50.0
            ),
            spoof_enroll_refuse=reader.number(
                "SPOOF_ENROLL_REFUSE_THRESHOLD",
                float,
                defaults.spoof_enroll_refuse,
                low=0.01,
                high=1.0,
            ),
            watchlist_threshold=reader.number(
                "VOICEAUTH_WATCHLIST_THRESHOLD",
                float,
                defaults.watchlist_threshold,
                low=0.0,
                high=1.0,
            ),
            watchlist_action=reader.choice(
                "VOICEAUTH_WATCHLIST_ACTION", defaults.watchlist_action, ("flag", "reject")
            ),
            watchlist_enroll_action=reader.choice(
                "VOICEAUTH_WATCHLIST_ENROLL_ACTION",
                defaults.watchlist_enroll_action,
                ("flag", "refuse"),
            ),
            probe_retention_days=reader.number(
                "VOICEAUTH_PROBE_RETENTION_DAYS",
                int,
                defaults.probe_retention_days,
                low=0,
                high=3650,
            ),
            challenge_digits=reader.number(
                "VOICEAUTH_CHALLENGE_DIGITS", int, defaults.challenge_digits, low=4, high=12
            ),
            challenge_tolerance=reader.number(
                "VOICEAUTH_CHALLENGE_TOLERANCE", int, defaults.challenge_tolerance, low=0, high=5
            ),
            challenge_ttl=reader.number(
                "VOICEAUTH_CHALLENGE_TTL_SECONDS",
                float,
                defaults.challenge_ttl,
                low=5.0,
                high=3600.0,
            ),
            challenge_max_answer_delay=reader.number(
                "VOICEAUTH_CHALLENGE_MAX_ANSWER_DELAY",
                float,
                defaults.challenge_max_answer_delay,
                low=0.5,
                high=60.0,
            ),
            api_keys=reader.items("VOICEAUTH_API_KEYS"),
            allow_insecure=reader.flag("VOICEAUTH_ALLOW_INSECURE", default=False),
            allow_private_networks=reader.flag("VOICEAUTH_ALLOW_PRIVATE_NETWORKS", default=False),
            cors_origins=reader.items("CORS_ORIGINS"),
            rate_limit_per_minute=reader.number(
                "RATE_LIMIT_PER_MINUTE", int, defaults.rate_limit_per_minute, low=0
            ),
            trusted_proxies=reader.items("TRUSTED_PROXIES"),
            redis_url=reader.optional("REDIS_URL"),
            vapi_public_key=reader.optional("VAPI_PUBLIC_KEY"),
            vapi_tool_secret=reader.optional("VAPI_TOOL_SECRET"),
            vapi_hmac_secret=reader.optional("VAPI_HMAC_SECRET"),
            vapi_hmac_algorithm=reader.choice(
                "VAPI_HMAC_ALGORITHM", defaults.vapi_hmac_algorithm, ("sha256", "sha512", "sha1")
            ),
            vapi_hmac_signature_header=reader.text(
                "VAPI_HMAC_SIGNATURE_HEADER", defaults.vapi_hmac_signature_header
            ).lower(),
            vapi_hmac_timestamp_header=reader.text(
                "VAPI_HMAC_TIMESTAMP_HEADER", defaults.vapi_hmac_timestamp_header
            ).lower(),
            vapi_hmac_tolerance=reader.number(
                "VAPI_HMAC_TOLERANCE", float, defaults.vapi_hmac_tolerance, low=1.0, high=3600.0
            ),
            vapi_allowed_hosts=reader.items("VAPI_ALLOWED_HOSTS") or defaults.vapi_allowed_hosts,
            vapi_sample_rate=reader.number(
                "VAPI_SAMPLE_RATE", int, defaults.vapi_sample_rate, low=8000, high=48000
            ),
            vapi_channels=reader.number(
                "VAPI_CHANNELS", int, defaults.vapi_channels, low=1, high=2
            ),
            vapi_customer_channel=reader.number(
                "VAPI_CUSTOMER_CHANNEL", int, defaults.vapi_customer_channel, low=0, high=1
            ),
            tool_max_capture=reader.number(
                "VAPI_TOOL_MAX_CAPTURE", float, defaults.tool_max_capture, low=1.0, high=19.0
            ),
            vapi_max_sessions=reader.number(
                "VAPI_MAX_SESSIONS", int, defaults.vapi_max_sessions, low=0, high=100_000
            ),
            vapi_session_idle=reader.number(
                "VAPI_SESSION_IDLE", float, defaults.vapi_session_idle, low=1.0, high=86_400.0
            ),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse combinations that are unsafe or cannot work.

        Raises:
            SettingsError: With the variable to change and how.
        """
        if self.db_pool_min > self.db_pool_max:
            raise SettingsError("DB_POOL_MIN must not exceed DB_POOL_MAX")
        if self.spoof_elevated > self.spoof_step_up:
            raise SettingsError("SPOOF_ELEVATED_THRESHOLD must not exceed SPOOF_STEP_UP_THRESHOLD")
        if self.challenge_tolerance * 2 >= self.challenge_digits:
            raise SettingsError(
                "VOICEAUTH_CHALLENGE_TOLERANCE must be below half of VOICEAUTH_CHALLENGE_DIGITS"
            )
        if self.vapi_customer_channel >= self.vapi_channels:
            raise SettingsError("VAPI_CUSTOMER_CHANNEL must be below VAPI_CHANNELS")
        if self.database_url is not None and not self.database_url.startswith(
            ("postgres://", "postgresql://")
        ):
            raise SettingsError(
                "DATABASE_URL must be a postgres:// or postgresql:// connection string (for "
                "Supabase: Project Settings > Database > Connection string, not the https:// "
                "project URL)"
            )
        if self.database_url is None and (self.supabase_url or self.supabase_anon_key):
            raise SettingsError(
                "SUPABASE_URL/SUPABASE_ANON_KEY are not enough: voiceprints are never stored "
                "through the anon key. Set DATABASE_URL to the project's Postgres connection "
                "string (Supabase dashboard: Project Settings > Database > Connection string; "
                "use the session pooler, or the transaction pooler with DB_STATEMENT_CACHE=0)."
            )
        if self.template_key is not None:
            # Imported here: the CLI imports this module for every command, even `--help`.
            from voiceauth_adapters.sealing.keys import parse_keyring  # noqa: PLC0415
            from voiceauth_core.errors import InvalidInputError  # noqa: PLC0415

            try:
                parse_keyring(self.template_key)
            except InvalidInputError as exc:
                # The message says which key is wrong, never what it holds.
                raise SettingsError(f"VOICEAUTH_TEMPLATE_KEY: {exc.message}") from None
        if not self.is_loopback and not self.api_keys and not self.allow_insecure:
            raise SettingsError(
                f"HOST={self.host} is reachable from other machines but VOICEAUTH_API_KEYS is "
                "empty: set API keys, or VOICEAUTH_ALLOW_INSECURE=1 to serve without them"
            )


class _Reader:
    """Reads typed values from an environment mapping, naming the variable on failure."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def optional(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def optional_path(self, name: str) -> Path | None:
        value = self.optional(name)
        return Path(value) if value else None

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in self._env.get(name, "").split(",") if item.strip())

    def flag(self, name: str, *, default: bool) -> bool:
        value = self.optional_flag(name)
        return default if value is None else value

    def optional_flag(self, name: str) -> bool | None:
        raw = self._env.get(name)
        if raw is None:
            return None
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise SettingsError(f"{name} must be true or false (1/0, yes/no), not {raw!r}")

    def choice(
        self, name: str, default: str, options: tuple[str, ...], *, upper: bool = False
    ) -> str:
        value = self.text(name, default)
        value = value.upper() if upper else value.lower()
        if value not in options:
            raise SettingsError(f"{name} must be one of {', '.join(options)}, not {value!r}")
        return value

    def number(
        self,
        name: str,
        kind: Callable[[str], T],
        default: T,
        *,
        low: float | None = None,
        high: float | None = None,
    ) -> T:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, not {raw!r}") from None
        number = float(value)  # type: ignore[arg-type]  # T is int or float here
        if (low is not None and number < low) or (high is not None and number > high):
            raise SettingsError(f"{name}={raw} is out of range [{low}, {high}]")
        return value
