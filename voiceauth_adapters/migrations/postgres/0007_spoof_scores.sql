-- 0007: the synthetic-speech (spoof) countermeasure's scores, and the step-up decision.
--
-- `users.spoof_raw_sum` adds up the enrolment samples' raw countermeasure scores (higher: more
-- synthetic); divided by `sample_count` it is the person's own baseline. It is a scalar, not a
-- voiceprint, so it is stored in the clear (no sealed twin). Like `phone_band_sum` it exists only
-- while every sample brought one: existing rows keep NULL until the enrolment is replaced.
--
-- `auth_attempts.spoof_score` is the calibrated probability that the speech was synthetic,
-- converted or replayed, and `spoof_risk` what it meant for that user (`low`, `elevated`,
-- `high`); both NULL where not assessed (every existing row, and the original service's).
-- A matching voice with a high risk is decided `step_up` (another factor is asked for); it is
-- not a success, so `auth_attempts_success_check` holds as it is.
--
-- Adding the nullable columns changes no row. Checking the new constraints reads
-- `auth_attempts` once (in one pass, holding off writes to it meanwhile): run the migration
-- before the new version starts, as every migration.

ALTER TABLE users ADD COLUMN spoof_raw_sum FLOAT8;

ALTER TABLE auth_attempts
    ADD COLUMN spoof_score FLOAT8,
    ADD COLUMN spoof_risk TEXT,
    DROP CONSTRAINT auth_attempts_decision_check,
    ADD CONSTRAINT auth_attempts_decision_check
        CHECK (decision IN ('accept', 'reject', 'step_up', 'not_enough_speech', 'error')),
    -- NaN sorts above every number in Postgres, so "<= 1" also refuses NaN.
    ADD CONSTRAINT auth_attempts_spoof_score_check CHECK (spoof_score >= 0 AND spoof_score <= 1),
    ADD CONSTRAINT auth_attempts_spoof_risk_check
        CHECK (spoof_risk IN ('low', 'elevated', 'high')),
    ADD CONSTRAINT auth_attempts_spoof_assessed
        CHECK ((spoof_score IS NULL) = (spoof_risk IS NULL));
