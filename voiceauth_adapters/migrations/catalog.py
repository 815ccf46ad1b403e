"""The migrations shipped with this version of voiceauth, read from the package's SQL files."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

__all__ = ["DIALECTS", "LEGACY_MODEL_ID", "Dialect", "Migration", "load_migrations"]

Dialect = Literal["postgres", "sqlite"]
DIALECTS: tuple[Dialect, ...] = ("postgres", "sqlite")

#: The model id given to enrolments made by the original service (one ECAPA-TDNN embedding each);
#: migration 0002 writes it into ``users.model_id``. It names the same SpeechBrain checkpoint the
#: speechbrain adapter loads, so original voiceprints keep verifying without re-enrolment.
LEGACY_MODEL_ID = "speechbrain/spkrec-ecapa-voxceleb@0575cb64"

_FILE_NAME = re.compile(r"(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql")


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    """One SQL file: applied once, in one transaction, in version order.

    Args:
        version: The file's number (``0002`` is 2); versions run 1, 2, 3... without gaps.
        name: The rest of the file name (``enrolments_and_attempts``).
        sql: The statements.
        checksum: SHA-256 of the statements, recorded when applied so an edited file is noticed.
    """

    version: int
    name: str
    sql: str
    checksum: str

    @property
    def label(self) -> str:
        """``0002_enrolments_and_attempts``."""
        return f"{self.version:04d}_{self.name}"


def load_migrations(dialect: Dialect) -> tuple[Migration, ...]:
    """The dialect's migrations in version order.

    Raises:
        ValueError: The dialect is unknown, or the files are misnamed or not numbered 1, 2, 3...
            (a packaging mistake, never a user's).
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    folder = resources.files(__package__).joinpath(dialect)
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.fullmatch(entry.name)
        if match is None:
            raise ValueError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        # Line endings are normalised so a checkout on Windows has the same checksums.
        sql = entry.read_text(encoding="utf-8").replace("\r\n", "\n")
        found.append(
            Migration(
                version=int(match["version"]),
                name=match["name"],
                sql=sql,
                checksum=hashlib.sha256(sql.encode()).hexdigest(),
            )
        )
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"{dialect} migrations must be numbered 1, 2, 3... without gaps")
    return tuple(found)
