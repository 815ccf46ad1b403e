-- 0006: the phone-band twin of each voiceprint (the samples heard through a telephone line).
--
-- `phone_band_sum` adds up the samples' unit phone-band embeddings beside `embedding_sum`, in the
-- same two forms: a float array in the clear, or sealed (AES-256-GCM, the user id and the column
-- name as associated data) into `phone_band_sum_sealed` with a template key. A row holds it in
-- one form only. Unlike the sum it may be absent: existing rows keep NULL in both (an enrolment
-- made before the twin existed has none) until the enrolment is replaced.
--
-- The template census and `voiceauth db rotate-key` cover the new sealed column: its key-id
-- index is the same as 0005's, and the index of rows in the clear is made again to count a
-- clear twin too. Adding the columns changes no row; checking the constraint reads the table
-- once (every value is NULL) and the index builds hold off writes to `users` meanwhile: run the
-- migration before the new version starts, as every migration.

ALTER TABLE users
    ADD COLUMN phone_band_sum FLOAT8[],
    ADD COLUMN phone_band_sum_sealed BYTEA,
    ADD CONSTRAINT users_phone_band_sum_one_form
        CHECK (phone_band_sum IS NULL OR phone_band_sum_sealed IS NULL);

CREATE INDEX IF NOT EXISTS users_phone_band_sum_key
    ON users ((substring(phone_band_sum_sealed FROM 2 FOR 4)))
    WHERE phone_band_sum_sealed IS NOT NULL;

DROP INDEX IF EXISTS users_in_the_clear;
CREATE INDEX users_in_the_clear
    ON users (id) WHERE embedding IS NOT NULL OR embedding_sum IS NOT NULL
    OR phone_band_sum IS NOT NULL;
