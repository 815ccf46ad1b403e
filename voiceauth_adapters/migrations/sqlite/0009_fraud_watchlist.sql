-- 0009: the fraud watchlist, and the caller's voice kept on each attempt for a while.
--
-- The same tables and columns as on Postgres, in SQLite's types (ids and times as text, vectors
-- in the clear as float64 little-endian blobs): `watchlist_entries` (the embedding in
-- `watchlist_embedding`, or sealed into `watchlist_embedding_sealed` with a template key),
-- `watchlist_revision` (one row, moved on by every watchlist write), and on `auth_attempts` the
-- watchlist match and the caller's embedding until `probe_expires_at` (erased by the next
-- attempt's write after that time). `auth_attempts` takes its columns by ADD COLUMN: nothing
-- is rebuilt, existing rows read NULL.

CREATE TABLE watchlist_entries (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    label TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    source TEXT NOT NULL CHECK (source <> ''),
    model_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    watchlist_embedding BLOB,
    watchlist_embedding_sealed BLOB,
    CONSTRAINT watchlist_entries_one_form
        CHECK ((watchlist_embedding IS NULL) <> (watchlist_embedding_sealed IS NULL))
);

CREATE INDEX watchlist_entries_newest ON watchlist_entries (created_at DESC, id DESC);
CREATE INDEX watchlist_entries_key
    ON watchlist_entries (substr(watchlist_embedding_sealed, 2, 4))
    WHERE watchlist_embedding_sealed IS NOT NULL;

CREATE TABLE watchlist_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO watchlist_revision (id, revision) VALUES (1, 0);

ALTER TABLE auth_attempts ADD COLUMN watchlist_entry_id TEXT;
ALTER TABLE auth_attempts ADD COLUMN watchlist_label TEXT;
ALTER TABLE auth_attempts ADD COLUMN watchlist_score REAL
    CONSTRAINT auth_attempts_watchlist_score_check
        CHECK (watchlist_score >= 0 AND watchlist_score <= 1);
ALTER TABLE auth_attempts ADD COLUMN probe_embedding BLOB;
ALTER TABLE auth_attempts ADD COLUMN probe_embedding_sealed BLOB
    CONSTRAINT auth_attempts_probe_one_form
        CHECK (probe_embedding IS NULL OR probe_embedding_sealed IS NULL);
ALTER TABLE auth_attempts ADD COLUMN probe_model_id TEXT;
ALTER TABLE auth_attempts ADD COLUMN probe_expires_at TEXT
    CONSTRAINT auth_attempts_probe_kept
        CHECK ((probe_expires_at IS NULL) = (probe_model_id IS NULL));

CREATE INDEX auth_attempts_probe_expiry
    ON auth_attempts (probe_expires_at) WHERE probe_expires_at IS NOT NULL;
CREATE INDEX auth_attempts_probe_key
    ON auth_attempts (substr(probe_embedding_sealed, 2, 4))
    WHERE probe_embedding_sealed IS NOT NULL;
CREATE INDEX auth_attempts_watchlist_matches
    ON auth_attempts (watchlist_entry_id, created_at DESC) WHERE watchlist_entry_id IS NOT NULL;
