-- 0004: voiceprints sealed at rest (template protection).
--
-- With VOICEAUTH_TEMPLATE_KEY set, voiceauth encrypts each vector with AES-256-GCM (the user id
-- and the column name as associated data) into the BYTEA column beside its float array, and
-- leaves the array NULL. Without a key the arrays are used as before. A row holds each vector in
-- one form only; an enrolled row holds its sum in one of the two. `voiceauth db rotate-key`
-- seals the rows stored in the clear and reseals those of older keys. Existing rows are not
-- changed by this migration.

ALTER TABLE users
    ADD COLUMN embedding_sealed BYTEA,
    ADD COLUMN embedding_sum_sealed BYTEA,
    DROP CONSTRAINT users_enrolled_has_sum,
    ADD CONSTRAINT users_enrolled_has_sum
        CHECK (sample_count = 0 OR embedding_sum IS NOT NULL OR embedding_sum_sealed IS NOT NULL),
    ADD CONSTRAINT users_embedding_one_form
        CHECK (embedding IS NULL OR embedding_sealed IS NULL),
    ADD CONSTRAINT users_embedding_sum_one_form
        CHECK (embedding_sum IS NULL OR embedding_sum_sealed IS NULL);
