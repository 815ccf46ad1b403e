"""The fraud watchlist: report an attempt's voice, add a recording, list, read, erase."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, delete, get, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter

from voiceauth_adapters.http import AudioSourceFactory
from voiceauth_core import (
    AddToWatchlist,
    DeleteWatchlistEntry,
    GetWatchlistEntry,
    InvalidInputError,
    ListWatchlist,
    ReportFraud,
)
from voiceauth_core.ports import AudioSource
from voiceauth_web.error_responses import ApiError
from voiceauth_web.instrumented import InstrumentedSource
from voiceauth_web.presenters import watchlist_entry_out
from voiceauth_web.routes.guards import require_json, uploaded_audio_type
from voiceauth_web.schemas import (
    ReportFraudRequest,
    WatchlistAddRequest,
    WatchlistEntryOut,
    WatchlistPage,
)

__all__ = [
    "add_to_watchlist",
    "delete_watchlist_entry",
    "list_watchlist",
    "read_watchlist_entry",
    "report_fraud",
]

_ADD_JSON = msgspec.json.Decoder(WatchlistAddRequest)


def _uuid(text: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidInputError(f"{what} must be a UUID") from None


@post(
    "/api/v1/attempts/{attempt_id:str}/report-fraud",
    status_code=201,
    guards=[require_json],
    tags=["watchlist"],
)
async def report_fraud(
    attempt_id: str, data: ReportFraudRequest, report_fraud: ReportFraud
) -> WatchlistEntryOut:
    """Put the voice of an attempt judged fraudulent on the watchlist (while the attempt keeps
    it: ``VOICEAUTH_PROBE_RETENTION_DAYS``)."""
    entry = await report_fraud.execute(
        _uuid(attempt_id, "attemptId"), label=data.label, note=data.note
    )
    return watchlist_entry_out(entry)


async def _source(
    request: Request[Any, Any, Any], sources: AudioSourceFactory
) -> tuple[AudioSource, str, str]:
    """The recording of a watchlist addition, its label and note: JSON with ``audioUrl``, or a
    multipart form with ``file``."""
    kind = request.headers.get("content-type", "").lower()
    if kind.startswith("application/json"):
        try:
            body = _ADD_JSON.decode(await request.body())
        except msgspec.ValidationError as exc:
            raise InvalidInputError(f"invalid watchlist entry: {exc}") from None
        except msgspec.DecodeError:
            raise InvalidInputError("the body is not valid JSON") from None
        return sources.from_url(body.audioUrl), body.label, body.note
    if kind.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        label, note = form.get("label"), form.get("note", "")
        if not isinstance(upload, UploadFile):
            raise InvalidInputError("upload the recording as the form's `file` field")
        if not isinstance(label, str) or not isinstance(note, str):
            raise InvalidInputError("give the entry's `label` (and `note`) as form fields")
        content_type = uploaded_audio_type(upload.content_type)
        audio = await upload.read()
        return sources.from_upload(audio, content_type=content_type), label, note
    raise ApiError(
        415,
        "UnsupportedMediaType",
        "send JSON with audioUrl, or upload the recording as multipart/form-data, field `file`",
    )


@post("/api/v1/watchlist", status_code=201, tags=["watchlist"])
async def add_to_watchlist(
    request: Request[Any, Any, Any],
    add_to_watchlist: AddToWatchlist,
    sources: AudioSourceFactory,
) -> WatchlistEntryOut:
    """Put the voice of a recording (JSON ``audioUrl``, or a multipart ``file``) on the
    watchlist, with a ``label`` and a ``note``."""
    source, label, note = await _source(request, sources)
    entry = await add_to_watchlist.execute(
        source=InstrumentedSource(source), label=label, note=note
    )
    return watchlist_entry_out(entry)


@get("/api/v1/watchlist", tags=["watchlist"])
async def list_watchlist(
    list_watchlist: ListWatchlist,
    limit: int = Parameter(ge=1, le=500, default=50),
    cursor: str | None = None,
) -> WatchlistPage:
    """Watchlist entries, newest first, a page at a time (never their voices)."""
    page = await list_watchlist.execute(limit=limit, cursor=cursor)
    return WatchlistPage(
        entries=[watchlist_entry_out(e) for e in page.items], nextCursor=page.next_cursor
    )


@get("/api/v1/watchlist/{entry_id:str}", tags=["watchlist"])
async def read_watchlist_entry(
    entry_id: str, get_watchlist_entry: GetWatchlistEntry
) -> WatchlistEntryOut:
    """One watchlist entry (without its voice)."""
    return watchlist_entry_out(await get_watchlist_entry.execute(_uuid(entry_id, "entryId")))


@delete("/api/v1/watchlist/{entry_id:str}", status_code=204, tags=["watchlist"])
async def delete_watchlist_entry(
    entry_id: str, delete_watchlist_entry: DeleteWatchlistEntry
) -> None:
    """Erase a watchlist entry and its voice."""
    await delete_watchlist_entry.execute(_uuid(entry_id, "entryId"))
