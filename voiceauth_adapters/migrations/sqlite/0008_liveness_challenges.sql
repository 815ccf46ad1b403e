-- 0008: the spoken liveness challenges.
--
-- The same table as on Postgres, in SQLite's types (ids and times as text; times in the
-- fixed-width UTC form, whose text order is time order): each challenge's digits, its user (and
-- call id, for a call), when it was issued, expires and was used. Redeeming is one UPDATE with
-- `used_at IS NULL AND expires_at > now`, so it is used once. Erasing a user erases their
-- challenges (ON DELETE CASCADE).

CREATE TABLE liveness_challenges (
    id TEXT PRIMARY KEY CHECK (length(id) = 36),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    call_id TEXT CHECK (length(call_id) BETWEEN 1 AND 200),
    digits TEXT NOT NULL
        CHECK (length(digits) BETWEEN 4 AND 12 AND digits NOT GLOB '*[^0-9]*'),
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    CONSTRAINT liveness_challenges_expire_after_issue CHECK (expires_at > issued_at)
);

CREATE INDEX liveness_challenges_expiry ON liveness_challenges (expires_at);
CREATE INDEX liveness_challenges_user ON liveness_challenges (user_id);
