-- 0008: the spoken liveness challenges, shared by every replica.
--
-- `liveness_challenges` holds each issued challenge: the digits the caller must say, the user
-- (and, for a call, the call id) it can be answered for, when it was issued, when it expires,
-- and when it was used. Redeeming is one statement
-- (`UPDATE ... SET used_at = now WHERE id = $1 AND user_id = $2 AND used_at IS NULL AND
-- expires_at > now ... RETURNING`), so of two replicas redeeming the same challenge only one
-- wins. Rows expired for an hour are deleted by the next issue. Erasing a user erases their
-- challenges (ON DELETE CASCADE). The digits are no voiceprint and live a few minutes: they are
-- kept in the clear.
--
-- The new table gets the treatment of 0003: on Supabase the public API roles can neither read
-- nor write it. No existing row changes.

CREATE TABLE liveness_challenges (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    call_id TEXT CHECK (length(call_id) BETWEEN 1 AND 200),
    digits TEXT NOT NULL CHECK (digits ~ '^[0-9]{4,12}$'),
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    CONSTRAINT liveness_challenges_expire_after_issue CHECK (expires_at > issued_at)
);

CREATE INDEX liveness_challenges_expiry ON liveness_challenges (expires_at);
CREATE INDEX liveness_challenges_user ON liveness_challenges (user_id);

DO $$
DECLARE
    api_role TEXT;
BEGIN
    FOREACH api_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api_role) THEN
            EXECUTE 'ALTER TABLE liveness_challenges ENABLE ROW LEVEL SECURITY';
            EXECUTE format('REVOKE ALL ON TABLE liveness_challenges FROM %I', api_role);
        END IF;
    END LOOP;
END
$$;
