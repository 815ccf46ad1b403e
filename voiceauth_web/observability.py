"""Logs (loguru, JSON lines), Prometheus metrics and OpenTelemetry spans."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from loguru import logger
from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from voiceauth_web.correlation import correlation_id

if TYPE_CHECKING:
    from voiceauth_adapters.vapi.layout import ListenLayout

__all__ = ["Metrics", "configure_logging", "configure_tracing", "traced"]

T = TypeVar("T")
tracer = trace.get_tracer("voiceauth")


class _InterceptHandler(logging.Handler):
    """Routes the adapters' standard-library logging into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        # The record's own logger name, not the frame loguru would guess from the call depth.
        name = record.name

        def named(entry: Any) -> None:
            entry["name"] = name

        logger.patch(named).opt(exception=record.exc_info).log(level, record.getMessage())


def _json_line(message: Any) -> None:
    """One compact JSON object per line: time, level, message, correlation id, fields."""
    record = message.record
    line = {
        "time": record["time"].isoformat(),
        "level": record["level"].name,
        "message": record["message"],
        "logger": record["name"],
        **{k: v for k, v in record["extra"].items() if isinstance(v, str | int | float | bool)},
    }
    if record["exception"] is not None:
        line["exception"] = record["exception"].type.__name__ if record["exception"].type else ""
    sys.stdout.write(json.dumps(line, default=str) + "\n")
    sys.stdout.flush()


def configure_logging(level: str) -> None:
    """JSON lines on stdout at ``level``; every line carries the request's correlation id."""
    logger.remove()
    logger.configure(
        patcher=lambda record: record["extra"].setdefault("correlation_id", correlation_id())
    )
    logger.add(_json_line, level=level, backtrace=False, diagnose=False)
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)
    # Libraries stay at INFO (their DEBUG is noise); our adapters follow LOG_LEVEL, or their
    # DEBUG records would be dropped before they reach the sink.
    logging.getLogger("voiceauth_adapters").setLevel(logger.level(level.upper()).no)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = [_InterceptHandler()]
        logging.getLogger(name).propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # the request middleware logs requests


def configure_tracing() -> None:
    """An SDK tracer provider only when the standard ``OTEL_*`` variables ask for an exporter."""
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").lower()
    if exporter in ("", "none"):
        return  # the API's no-op tracer: spans cost nothing and go nowhere
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
        BatchSpanProcessor,
        ConsoleSpanExporter,
    )

    provider = TracerProvider(resource=Resource.create({"service.name": "voiceauth"}))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
                OTLPSpanExporter,
            )
        except ImportError:
            logger.warning(
                "OTEL_TRACES_EXPORTER={} needs opentelemetry-exporter-otlp installed; "
                "traces are not exported",
                exporter,
            )
            return
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


class Metrics:
    """The service's Prometheus metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "voiceauth_http_requests_total",
            "HTTP requests",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "voiceauth_http_request_seconds",
            "HTTP request latency",
            ["route", "method"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80),
            registry=self.registry,
        )
        self.enrollments = Counter(
            "voiceauth_enrollments_total",
            "Enrolment samples stored",
            ["channel"],
            registry=self.registry,
        )
        self.verifications = Counter(
            "voiceauth_verifications_total",
            "Verifications by decision",
            ["decision", "channel"],
            registry=self.registry,
        )
        self.scores = Histogram(
            "voiceauth_verification_score",
            "Calibrated scores of scored verifications",
            buckets=tuple(i / 20 for i in range(1, 21)),
            registry=self.registry,
        )
        self.spoof = Histogram(
            "voiceauth_spoof_probability",
            "Synthetic-speech probability of assessed verifications, by risk level",
            ["risk"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0),
            registry=self.registry,
        )
        self.capture = Histogram(
            "voiceauth_capture_speech_seconds",
            "Net speech a decision used",
            buckets=(0.5, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30),
            registry=self.registry,
        )
        self.inference = Histogram(
            "voiceauth_inference_seconds",
            "Time to embed one recording",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2),
            registry=self.registry,
        )
        self.database_errors = Counter(
            "voiceauth_database_errors_total",
            "Operations that found the database unavailable",
            registry=self.registry,
        )
        self.listen_layout = Counter(
            "voiceauth_listen_layout_total",
            "Calls heard over VAPI's listen socket, by channel layout and how it was decided",
            ["layout", "source"],
            registry=self.registry,
        )
        self.call_sessions = Gauge(
            "voiceauth_call_sessions",
            "VAPI call sessions this replica holds (passive verification)",
            registry=self.registry,
        )
        self.call_sessions_refused = Counter(
            "voiceauth_call_sessions_refused_total",
            "VAPI call sessions refused because the replica held its maximum",
            registry=self.registry,
        )
        self.watchlist_hits = Counter(
            "voiceauth_watchlist_hits_total",
            "Callers whose voice matched a fraud watchlist entry, by use and configured action",
            ["use", "action"],
            registry=self.registry,
        )
        self.index_repairs = Counter(
            "voiceauth_index_repairs_total",
            "Voiceprints the periodic re-sync repaired in this replica's identification index "
            "(drift from the store: a missed event), by kind (added, updated, removed)",
            ["kind"],
            registry=self.registry,
        )

        self.challenge_answers = Counter(
            "voiceauth_challenge_answers_total",
            "Answers to spoken liveness challenges, by outcome (passed, or why not)",
            ["outcome"],
            registry=self.registry,
        )

    def count_index_repairs(self, kind: str, count: int) -> None:
        """Count a re-sync's repairs of one kind (``voiceauth_index_repairs_total``)."""
        self.index_repairs.labels(kind).inc(count)

    def count_listen_layout(self, found: ListenLayout) -> None:
        """Count one call's listen-socket layout (``voiceauth_listen_layout_total``)."""
        self.listen_layout.labels(str(found.layout), str(found.source)).inc()


@contextmanager
def _span(name: str) -> Any:
    with tracer.start_as_current_span(name) as span:
        yield span


def traced(
    name: str, call: Callable[..., Awaitable[T]], *, seconds: Histogram | None = None
) -> Callable[..., Awaitable[T]]:
    """``call`` inside a span named ``name``, its duration observed in ``seconds`` if given."""

    async def wrapper(*args: Any, **kwargs: Any) -> T:
        started = time.perf_counter()
        with _span(name):
            result = await call(*args, **kwargs)
        if seconds is not None:
            seconds.observe(time.perf_counter() - started)
        return result

    return cast("Callable[..., Awaitable[T]]", wrapper)
