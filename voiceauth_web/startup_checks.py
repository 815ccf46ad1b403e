"""The start-up checks of a database, and the messages and commands they name.

``serve`` (its pre-flight and the app's lifespan) and every command that touches voiceprints run
them on the database the composition root (``voiceauth_web.wiring``) built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voiceauth_core.errors import StorageUnavailableError

if TYPE_CHECKING:
    from voiceauth_adapters.sealing import TemplateCensus
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_adapters.sql import Database

__all__ = [
    "CLEAR_TEMPLATES_WARNING",
    "MIGRATE_COMMAND",
    "ROTATE_COMMAND",
    "VECTOR_SEARCH_REASON",
    "check_schema",
    "check_templates",
    "check_vector_search",
    "vector_search_note",
]

#: The command that brings a database up to this version's schema; named in start-up errors.
MIGRATE_COMMAND = "voiceauth db migrate"
#: The command that seals every voiceprint under the current template key.
ROTATE_COMMAND = "voiceauth db rotate-key"
#: What the service logs, and the commands that touch voiceprints print, without a template key.
CLEAR_TEMPLATES_WARNING = (
    "VOICEAUTH_TEMPLATE_KEY is not set: voiceprints are stored in the clear "
    "(make a key with `voiceauth db new-key`)"
)
#: Why identification never searches in the database, even one that offers pgvector.
VECTOR_SEARCH_REASON = (
    "voiceprints are sealed by the service (encrypted at rest), so the database cannot compare "
    "them; identification searches each replica's in-memory index (docs/watchlist.md)"
)


async def check_schema(database: Database) -> None:
    """Refuse to serve on a database whose schema is behind or ahead of this code.

    Raises:
        SchemaVersionError: The message names what to do (``voiceauth db migrate``, or upgrade).
        StorageUnavailableError: The database cannot be reached.
    """
    status = await database.schema_status()
    status.require_current(migrate_command=MIGRATE_COMMAND)


async def check_templates(database: Database, cipher: TemplateCipher | None) -> TemplateCensus:
    """Refuse to serve voiceprints this configuration cannot open (a key removed or replaced).

    Call it at start-up, after :func:`check_schema`. Returns the census, for the start-up log.

    Raises:
        TemplateProtectionError: Rows are sealed and no key, or not their key, is configured.
        StorageUnavailableError: The database cannot be reached.
    """
    census = await database.template_census()
    census.require_readable(cipher)
    return census


async def check_vector_search(database: Database) -> str:
    """What the database offers of pgvector: ``installed``, ``available``, ``not available``,
    ``not postgres`` (SQLite), or ``unknown`` (the question failed: it only informs, so it
    never stops the start). Read once at start, for the log and the readiness route; it is
    never used for search (:data:`VECTOR_SEARCH_REASON`).
    """
    try:
        from voiceauth_adapters.postgres import PostgresDatabase  # noqa: PLC0415
        from voiceauth_adapters.postgres.extensions import vector_extension  # noqa: PLC0415
    except ImportError:  # no asyncpg (the postgres extra): the database is SQLite
        return "not postgres"
    if not isinstance(database, PostgresDatabase):
        return "not postgres"
    try:
        return str(await vector_extension(database))
    except StorageUnavailableError:
        return "unknown"


def vector_search_note(offered: str) -> str | None:
    """The start-up log line for what :func:`check_vector_search` found; None on SQLite."""
    if offered == "not postgres":
        return None
    if offered == "unknown":
        unknown = "pgvector: could not tell whether this database offers it; not used either way"
        return f"{unknown}: {VECTOR_SEARCH_REASON}"
    return f"pgvector {offered} in this database; not used: {VECTOR_SEARCH_REASON}"
