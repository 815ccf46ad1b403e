"""The start-up checks of a database, and the messages and commands they name.

``serve`` (its pre-flight and the app's lifespan) and every command that touches voiceprints run
them on the database the composition root (``voiceauth_web.wiring``) built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voiceauth_adapters.sealing import TemplateCensus
    from voiceauth_adapters.sealing.cipher import TemplateCipher
    from voiceauth_adapters.sql import Database

__all__ = [
    "CLEAR_TEMPLATES_WARNING",
    "MIGRATE_COMMAND",
    "ROTATE_COMMAND",
    "check_schema",
    "check_templates",
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
