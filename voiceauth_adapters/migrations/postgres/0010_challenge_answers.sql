-- 0010: how each attempt's answer to a spoken liveness challenge was judged.
--
-- `auth_attempts.challenge_result` is `passed`, or why the answer failed (`no_digits`,
-- `wrong_digits`, `late_answer`: the words of a verification's `challenge.reason`), and
-- `challenge_delay_s` when the answer began, in seconds after the question ended (NULL when no
-- digit was heard). Both are NULL on an attempt that answered no challenge: every existing row,
-- and the original service's. The digits themselves are not kept here (the challenge's row
-- holds what was asked, until it expires).
--
-- Adding the nullable columns changes no row. Checking the new constraints reads
-- `auth_attempts` once (in one pass, holding off writes to it meanwhile): run the migration
-- before the new version starts, as every migration.

ALTER TABLE auth_attempts
    ADD COLUMN challenge_result TEXT,
    ADD COLUMN challenge_delay_s FLOAT8,
    ADD CONSTRAINT auth_attempts_challenge_result_check
        CHECK (challenge_result IN ('passed', 'no_digits', 'wrong_digits', 'late_answer')),
    -- NaN sorts above every number in Postgres, so "< 'Infinity'" also refuses NaN.
    ADD CONSTRAINT auth_attempts_challenge_delay_check CHECK (
        challenge_delay_s IS NULL
        OR (
            challenge_delay_s >= 0 AND challenge_delay_s < 'Infinity'
            AND challenge_result IS NOT NULL
        )
    );
