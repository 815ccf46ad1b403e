"""The store logic every SQL dialect shares; a dialect adds its statements, connection and codecs.

``voiceauth_adapters.postgres`` and ``voiceauth_adapters.sqlite`` each give a
:class:`~voiceauth_adapters.sql.codec.Codec` (how ids, times and clear vectors are stored) and
the statements of :mod:`~voiceauth_adapters.sql.tables`; reading rows into enrolments and
attempts, merging a sample, paging and resealing are written once here. Callers hold either
database as a :class:`Database`. Imports no driver.
"""

from voiceauth_adapters.sql.attempts import SqlAttemptLog
from voiceauth_adapters.sql.codec import Codec
from voiceauth_adapters.sql.database import Database
from voiceauth_adapters.sql.resealing import reseal_in_batches
from voiceauth_adapters.sql.rows import Row, stored_phone
from voiceauth_adapters.sql.tables import AttemptTable, ResealTable, UserTable, WatchlistTable
from voiceauth_adapters.sql.users import SqlUserRepository
from voiceauth_adapters.sql.watchlist import SqlWatchlist

__all__ = [
    "AttemptTable",
    "Codec",
    "Database",
    "ResealTable",
    "Row",
    "SqlAttemptLog",
    "SqlUserRepository",
    "SqlWatchlist",
    "UserTable",
    "WatchlistTable",
    "reseal_in_batches",
    "stored_phone",
]
