-- 0002: enrolments that grow sample by sample, and the full attempt log.
--
-- The same tables as on Postgres, in SQLite's types:
-- * ids are UUIDs in their lowercase text form (which sorts like Postgres's UUID order);
-- * times are UTC text, 'YYYY-MM-DDTHH:MM:SS.ffffffZ', fixed width so text order is time order;
-- * vectors are float64 little-endian blobs (`embedding` is the centroid, as on Postgres).

CREATE TABLE users (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    phone TEXT,
    embedding BLOB,
    embedding_sum BLOB,
    sample_count INTEGER NOT NULL DEFAULT 0 CHECK (sample_count >= 0),
    speech_seconds REAL NOT NULL DEFAULT 0,
    model_id TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT users_enrolled_has_sum CHECK (sample_count = 0 OR embedding_sum IS NOT NULL)
);

CREATE UNIQUE INDEX users_phone_key ON users (phone) WHERE phone IS NOT NULL;

CREATE TABLE auth_attempts (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    success INTEGER NOT NULL CHECK (success IN (0, 1)),
    score REAL,
    raw_score REAL,
    decision TEXT NOT NULL
        CHECK (decision IN ('accept', 'reject', 'not_enough_speech', 'error')),
    speech_seconds REAL NOT NULL DEFAULT 0,
    channel TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    error TEXT,
    created_at TEXT NOT NULL,
    CONSTRAINT auth_attempts_success_check CHECK (success = (decision = 'accept'))
);

CREATE INDEX auth_attempts_user_history ON auth_attempts (user_id, created_at DESC, id DESC);
CREATE INDEX auth_attempts_recent ON auth_attempts (created_at DESC, id DESC);
