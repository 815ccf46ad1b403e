-- 0004: voiceprints sealed at rest (template protection).
--
-- The same columns and constraints as on Postgres: with VOICEAUTH_TEMPLATE_KEY set, each vector
-- is sealed (AES-256-GCM) into the BLOB column beside its clear one, which stays NULL.
--
-- SQLite cannot change a CHECK constraint in place, so both tables are rebuilt and every row
-- copied. The order keeps the foreign keys (on, and they cannot be turned off inside the
-- migration's transaction) from cascading: the new attempts table refers to the new users table,
-- the old tables are dropped children first, and renaming users_0004 rewrites the reference.

CREATE TABLE users_0004 (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    phone TEXT,
    embedding BLOB,
    embedding_sum BLOB,
    sample_count INTEGER NOT NULL DEFAULT 0 CHECK (sample_count >= 0),
    speech_seconds REAL NOT NULL DEFAULT 0,
    model_id TEXT NOT NULL,
    enrolled_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    embedding_sealed BLOB,
    embedding_sum_sealed BLOB,
    CONSTRAINT users_enrolled_has_sum
        CHECK (sample_count = 0 OR embedding_sum IS NOT NULL OR embedding_sum_sealed IS NOT NULL),
    CONSTRAINT users_embedding_one_form CHECK (embedding IS NULL OR embedding_sealed IS NULL),
    CONSTRAINT users_embedding_sum_one_form
        CHECK (embedding_sum IS NULL OR embedding_sum_sealed IS NULL)
);

INSERT INTO users_0004 (
    id, phone, embedding, embedding_sum, sample_count, speech_seconds, model_id, enrolled_at,
    updated_at
)
SELECT id, phone, embedding, embedding_sum, sample_count, speech_seconds, model_id, enrolled_at,
    updated_at
FROM users;

CREATE TABLE auth_attempts_0004 (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    user_id TEXT NOT NULL REFERENCES users_0004 (id) ON DELETE CASCADE,
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

INSERT INTO auth_attempts_0004 (
    id, user_id, success, score, raw_score, decision, speech_seconds, channel, correlation_id,
    error, created_at
)
SELECT id, user_id, success, score, raw_score, decision, speech_seconds, channel, correlation_id,
    error, created_at
FROM auth_attempts;

DROP TABLE auth_attempts;
DROP TABLE users;
ALTER TABLE users_0004 RENAME TO users;
ALTER TABLE auth_attempts_0004 RENAME TO auth_attempts;

CREATE UNIQUE INDEX users_phone_key ON users (phone) WHERE phone IS NOT NULL;
CREATE INDEX auth_attempts_user_history ON auth_attempts (user_id, created_at DESC, id DESC);
CREATE INDEX auth_attempts_recent ON auth_attempts (created_at DESC, id DESC);
