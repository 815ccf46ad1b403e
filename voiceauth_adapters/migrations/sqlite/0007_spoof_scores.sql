-- 0007: the synthetic-speech (spoof) countermeasure's scores, and the step-up decision.
--
-- The same columns and constraints as on Postgres: `users.spoof_raw_sum` (REAL, in the clear:
-- a scalar, not a voiceprint; NULL unless every sample of the enrolment brought a score), and
-- `auth_attempts.spoof_score` (REAL, a probability) with `spoof_risk` (`low`, `elevated`,
-- `high`), both NULL where not assessed. Existing rows keep NULL everywhere.
--
-- `users` takes its column by ADD COLUMN. `auth_attempts` must let `decision` be `step_up`, and
-- SQLite cannot change a CHECK constraint in place, so that table is rebuilt and every row
-- copied, as 0004 did. Nothing refers to `auth_attempts`, so dropping it cascades nowhere; the
-- new table refers to `users`, which is not touched.

ALTER TABLE users ADD COLUMN spoof_raw_sum REAL;

CREATE TABLE auth_attempts_0007 (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    success INTEGER NOT NULL CHECK (success IN (0, 1)),
    score REAL,
    raw_score REAL,
    decision TEXT NOT NULL,
    speech_seconds REAL NOT NULL DEFAULT 0,
    channel TEXT NOT NULL DEFAULT '',
    correlation_id TEXT NOT NULL DEFAULT '',
    error TEXT,
    created_at TEXT NOT NULL,
    spoof_score REAL,
    spoof_risk TEXT,
    CONSTRAINT auth_attempts_decision_check
        CHECK (decision IN ('accept', 'reject', 'step_up', 'not_enough_speech', 'error')),
    CONSTRAINT auth_attempts_success_check CHECK (success = (decision = 'accept')),
    CONSTRAINT auth_attempts_spoof_score_check CHECK (spoof_score >= 0 AND spoof_score <= 1),
    CONSTRAINT auth_attempts_spoof_risk_check CHECK (spoof_risk IN ('low', 'elevated', 'high')),
    CONSTRAINT auth_attempts_spoof_assessed CHECK ((spoof_score IS NULL) = (spoof_risk IS NULL))
);

INSERT INTO auth_attempts_0007 (
    id, user_id, success, score, raw_score, decision, speech_seconds, channel, correlation_id,
    error, created_at
)
SELECT id, user_id, success, score, raw_score, decision, speech_seconds, channel, correlation_id,
    error, created_at
FROM auth_attempts;

DROP TABLE auth_attempts;
ALTER TABLE auth_attempts_0007 RENAME TO auth_attempts;

CREATE INDEX auth_attempts_user_history ON auth_attempts (user_id, created_at DESC, id DESC);
CREATE INDEX auth_attempts_recent ON auth_attempts (created_at DESC, id DESC);
