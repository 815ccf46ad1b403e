-- 0002: enrolments that grow sample by sample, and the full attempt log.
--
-- Upgrades the original tables in place and keeps every row:
-- * an original enrolment becomes one sample of the original model
--   (speechbrain/spkrec-ecapa-voxceleb@0575cb64): embedding_sum is its embedding scaled to unit
--   length, sample_count 1, speech_seconds 0 (unknown); `embedding` keeps the voiceprint's
--   centroid, as before, so the original service's readers still work;
-- * a row without a usable embedding stays, with sample_count 0: voiceauth treats it as not
--   enrolled until a sample is saved for that user;
-- * an original attempt becomes an accept (success) or a reject, with its score kept as both
--   the score and the raw cosine, channel 'legacy'; serial or identity ids become UUIDs derived
--   from the old number;
-- * phone numbers lose typed separators; numbers shared by several users stop the migration
--   (nothing is changed) with a query to find them.

-- users ----------------------------------------------------------------------------------------

ALTER TABLE users
    ADD COLUMN IF NOT EXISTS embedding_sum FLOAT8[],
    ADD COLUMN IF NOT EXISTS sample_count INTEGER,
    ADD COLUMN IF NOT EXISTS speech_seconds FLOAT8,
    ADD COLUMN IF NOT EXISTS model_id TEXT,
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ;

UPDATE users
SET phone = NULLIF(regexp_replace(phone, '[[:space:]().-]', '', 'g'), '')
WHERE phone IS NOT NULL;

WITH norms AS (
    SELECT u.id, sqrt(sum(t.x * t.x)) AS norm
    FROM users AS u CROSS JOIN LATERAL unnest(u.embedding) AS t (x)
    WHERE u.sample_count IS NULL
    GROUP BY u.id
)
UPDATE users AS u
SET embedding_sum = (
        SELECT array_agg(t.x / n.norm ORDER BY t.i)
        FROM unnest(u.embedding) WITH ORDINALITY AS t (x, i)
    ),
    sample_count = 1
FROM norms AS n
-- NaN sorts above every number in Postgres, so "< Infinity" also refuses NaN.
WHERE u.id = n.id AND n.norm > 1e-12 AND n.norm < 'Infinity'::FLOAT8;

UPDATE users
SET sample_count = COALESCE(sample_count, 0),
    speech_seconds = COALESCE(speech_seconds, 0),
    model_id = COALESCE(model_id, 'speechbrain/spkrec-ecapa-voxceleb@0575cb64'),
    enrolled_at = COALESCE(enrolled_at, now()),
    updated_at = COALESCE(updated_at, enrolled_at, now())
WHERE sample_count IS NULL
   OR speech_seconds IS NULL
   OR model_id IS NULL
   OR enrolled_at IS NULL
   OR updated_at IS NULL;

ALTER TABLE users
    ALTER COLUMN sample_count SET NOT NULL,
    ALTER COLUMN sample_count SET DEFAULT 0,
    ALTER COLUMN speech_seconds SET NOT NULL,
    ALTER COLUMN speech_seconds SET DEFAULT 0,
    ALTER COLUMN model_id SET NOT NULL,
    ALTER COLUMN enrolled_at SET NOT NULL,
    ALTER COLUMN enrolled_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET NOT NULL,
    ALTER COLUMN updated_at SET DEFAULT now(),
    ADD CONSTRAINT users_sample_count_check CHECK (sample_count >= 0),
    ADD CONSTRAINT users_enrolled_has_sum CHECK (sample_count = 0 OR embedding_sum IS NOT NULL);

DO $$
DECLARE
    shared INTEGER;
BEGIN
    SELECT count(*) INTO shared
    FROM (SELECT phone FROM users WHERE phone IS NOT NULL GROUP BY phone HAVING count(*) > 1) AS d;
    IF shared > 0 THEN
        RAISE EXCEPTION 'voiceauth migration 0002: % phone number(s) belong to several users; a phone number may identify one user only', shared
            USING HINT = 'Find them with: SELECT phone, array_agg(id) FROM users WHERE phone IS NOT NULL GROUP BY phone HAVING count(*) > 1; clear or correct the extra ones, then migrate again.';
    END IF;
END
$$;

CREATE UNIQUE INDEX users_phone_key ON users (phone) WHERE phone IS NOT NULL;

-- auth_attempts --------------------------------------------------------------------------------

DO $$
DECLARE
    id_type TEXT;
    id_identity TEXT;
    id_sequence TEXT;
BEGIN
    SELECT data_type, is_identity INTO id_type, id_identity
    FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = 'auth_attempts' AND column_name = 'id';
    IF id_type <> 'uuid' THEN
        id_sequence := pg_get_serial_sequence('auth_attempts', 'id');
        IF id_identity = 'YES' THEN
            ALTER TABLE auth_attempts ALTER COLUMN id DROP IDENTITY;
        ELSE
            ALTER TABLE auth_attempts ALTER COLUMN id DROP DEFAULT;
            IF id_sequence IS NOT NULL THEN
                EXECUTE format('DROP SEQUENCE %s', id_sequence);
            END IF;
        END IF;
        ALTER TABLE auth_attempts
            ALTER COLUMN id TYPE UUID USING md5('voiceauth-attempt:' || id::TEXT)::UUID;
    END IF;
END
$$;

-- The original foreign key kept attempts of a deleted user; erasure must remove them.
DO $$
DECLARE
    fk RECORD;
BEGIN
    FOR fk IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'auth_attempts'::regclass AND contype = 'f'
    LOOP
        EXECUTE format('ALTER TABLE auth_attempts DROP CONSTRAINT %I', fk.conname);
    END LOOP;
END
$$;

ALTER TABLE auth_attempts
    ADD COLUMN IF NOT EXISTS raw_score FLOAT8,
    ADD COLUMN IF NOT EXISTS decision TEXT,
    ADD COLUMN IF NOT EXISTS speech_seconds FLOAT8,
    ADD COLUMN IF NOT EXISTS channel TEXT,
    ADD COLUMN IF NOT EXISTS correlation_id TEXT,
    ADD COLUMN IF NOT EXISTS error TEXT;

UPDATE auth_attempts
SET decision = CASE WHEN success THEN 'accept' WHEN NOT success THEN 'reject' ELSE 'error' END,
    success = COALESCE(success, FALSE),
    -- The original service compared the raw cosine similarity with its threshold.
    raw_score = score,
    speech_seconds = 0,
    channel = 'legacy',
    correlation_id = '',
    created_at = COALESCE(created_at, now())
WHERE decision IS NULL;

ALTER TABLE auth_attempts
    ALTER COLUMN id SET DEFAULT gen_random_uuid(),
    ALTER COLUMN success SET NOT NULL,
    ALTER COLUMN decision SET NOT NULL,
    ALTER COLUMN speech_seconds SET NOT NULL,
    ALTER COLUMN speech_seconds SET DEFAULT 0,
    ALTER COLUMN channel SET NOT NULL,
    ALTER COLUMN channel SET DEFAULT '',
    ALTER COLUMN correlation_id SET NOT NULL,
    ALTER COLUMN correlation_id SET DEFAULT '',
    ALTER COLUMN created_at SET NOT NULL,
    ALTER COLUMN created_at SET DEFAULT now(),
    ADD CONSTRAINT auth_attempts_user_id_fkey
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    ADD CONSTRAINT auth_attempts_decision_check
        CHECK (decision IN ('accept', 'reject', 'not_enough_speech', 'error')),
    ADD CONSTRAINT auth_attempts_success_check CHECK (success = (decision = 'accept')),
    -- Every new attempt names its user; an original row without one is kept (NOT VALID skips
    -- the check on existing rows) and never listed.
    ADD CONSTRAINT auth_attempts_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;

-- A user's history and the recent feed, newest first (keyset pagination on created_at, id).
CREATE INDEX auth_attempts_user_history ON auth_attempts (user_id, created_at DESC, id DESC);
CREATE INDEX auth_attempts_recent ON auth_attempts (created_at DESC, id DESC);
