-- 0006: the phone-band twin of each voiceprint (the samples heard through a telephone line).
--
-- The same columns as on Postgres: `phone_band_sum` (float64 little-endian blob, in the clear)
-- and `phone_band_sum_sealed` (sealed with a template key), one form per row, both NULL where an
-- enrolment has no twin (every existing row, until the enrolment is replaced).
--
-- Unlike 0004 this needs no rebuild: ADD COLUMN may carry a CHECK constraint, and SQLite lets a
-- column's CHECK name other columns, so the "one form" rule rides on the second column, once
-- the first exists. SQLite 3.37 and later test it against the existing rows, which all pass
-- (both columns are NULL); older versions skip that test and enforce it on every later write.
--
-- The template census and `voiceauth db rotate-key` cover the new sealed column: its key-id
-- index is the same as 0005's, and the index of rows in the clear is made again to count a
-- clear twin too (a partial index serves only a query whose condition implies its own).

ALTER TABLE users ADD COLUMN phone_band_sum BLOB;
ALTER TABLE users ADD COLUMN phone_band_sum_sealed BLOB
    CONSTRAINT users_phone_band_sum_one_form
        CHECK (phone_band_sum IS NULL OR phone_band_sum_sealed IS NULL);

CREATE INDEX IF NOT EXISTS users_phone_band_sum_key
    ON users (substr(phone_band_sum_sealed, 2, 4)) WHERE phone_band_sum_sealed IS NOT NULL;

DROP INDEX IF EXISTS users_in_the_clear;
CREATE INDEX users_in_the_clear
    ON users (id) WHERE embedding IS NOT NULL OR embedding_sum IS NOT NULL
    OR phone_band_sum IS NOT NULL;
