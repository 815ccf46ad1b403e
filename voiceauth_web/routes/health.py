"""Liveness, readiness, metrics, and the way to the interactive API docs."""

from __future__ import annotations

from litestar import MediaType, Response, get
from litestar.datastructures import State
from litestar.response import Redirect
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voiceauth_core import StorageUnavailableError
from voiceauth_core.ports import EmbeddingModel, ScoringPolicy
from voiceauth_web.index_keeper import IndexStatus
from voiceauth_web.observability import Metrics
from voiceauth_web.routes.injected import SchemaCheck, ServiceDatabase
from voiceauth_web.settings import DEFAULT_VOICE_THRESHOLD, Settings

__all__ = ["docs", "health", "healthz", "metrics_text"]

VERSION = "0.1.0"


#: What the default threshold was measured to mean (docs/accuracy.md).
_MEASURED = (
    "calibrated score; at the default 0.82, on held-out LibriSpeech speakers (clean and over a "
    "phone line) 0.015 % of impostors were accepted and no genuine caller was rejected; on "
    "2-second telephone digit strings 0.4 % of impostors were accepted and 3.9 % of genuine "
    "callers not accepted; docs/accuracy.md"
)


def operating_point(policy: str, threshold: float) -> str:
    """What the configured threshold stands for, in error rates where it was measured."""
    if policy == "cosine":
        return f"raw cosine similarity at {threshold} (VOICEAUTH_SCORING=cosine): not calibrated"
    if threshold == DEFAULT_VOICE_THRESHOLD:
        return _MEASURED
    if threshold > DEFAULT_VOICE_THRESHOLD:
        effect = "stricter than the measured default 0.82: fewer impostors accepted, more"
        effect += " genuine callers rejected"
    else:
        effect = "more lenient than the measured default 0.82: fewer genuine callers rejected,"
        effect += " more impostors accepted"
    return f"calibrated score at {threshold}: {effect}; docs/accuracy.md"


@get("/healthz", tags=["health"], include_in_schema=True)
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. Touches nothing else."""
    return {"status": "ok"}


@get("/api/v1/health", tags=["health"])
async def health(
    database: ServiceDatabase,
    schema_check: SchemaCheck,
    model: EmbeddingModel,
    policy: ScoringPolicy,
    settings: Settings,
    state: State,
) -> Response[dict[str, object]]:
    """Readiness: each component's status; 503 when one is down."""
    components: dict[str, dict[str, str]] = {}
    try:
        await schema_check(database)
        components["database"] = {"status": "ok", "kind": type(database).__name__}
    except StorageUnavailableError as exc:
        components["database"] = {"status": "down", "detail": exc.message}
    components["model"] = {
        "status": "ok",
        "id": model.model_id,
        "backend": settings.inference_backend,
    }
    components["scoring"] = {"status": "ok", "policy": policy.name}
    index_status: IndexStatus | None = state.get("index_status")
    if index_status is not None:  # set by the lifespan: identification's index
        components["index"] = await index_status.component()
    healthy = all(c["status"] == "ok" for c in components.values())
    body: dict[str, object] = {
        "status": "ok" if healthy else "degraded",
        "version": VERSION,
        "modelId": model.model_id,
        "threshold": settings.voice_threshold,
        "operatingPoint": operating_point(policy.name, settings.voice_threshold),
        "components": components,
    }
    return Response(body, status_code=200 if healthy else 503)


@get("/metrics", tags=["health"], media_type=MediaType.TEXT)
async def metrics_text(metrics: Metrics) -> Response[bytes]:
    """Prometheus text format."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


@get("/docs", include_in_schema=False)
async def docs() -> Redirect:
    """The interactive API docs (Swagger UI over ``/schema``)."""
    return Redirect(path="/schema/swagger")
