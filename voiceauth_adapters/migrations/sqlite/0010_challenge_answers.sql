-- 0010: how each attempt's answer to a spoken liveness challenge was judged.
--
-- The same columns and constraints as on Postgres: `auth_attempts.challenge_result` (`passed`,
-- `no_digits`, `wrong_digits` or `late_answer`) and `challenge_delay_s` (REAL, seconds after
-- the question ended; NULL when no digit was heard), both NULL on an attempt that answered no
-- challenge. `auth_attempts` takes its columns by ADD COLUMN: nothing is rebuilt, existing rows
-- read NULL.

ALTER TABLE auth_attempts ADD COLUMN challenge_result TEXT
    CONSTRAINT auth_attempts_challenge_result_check
        CHECK (challenge_result IN ('passed', 'no_digits', 'wrong_digits', 'late_answer'));
ALTER TABLE auth_attempts ADD COLUMN challenge_delay_s REAL
    CONSTRAINT auth_attempts_challenge_delay_check
        CHECK (
            challenge_delay_s IS NULL
            OR (
                challenge_delay_s >= 0 AND challenge_delay_s < 9e999
                AND challenge_result IS NOT NULL
            )
        );
