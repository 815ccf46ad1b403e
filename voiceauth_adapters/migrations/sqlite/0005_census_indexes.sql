-- 0005: indexes for the template census (`voiceauth db status`, and the check at every start).
--
-- The service, `voiceauth enroll` and `voiceauth verify` count the stored voiceprints by the key
-- that sealed them (bytes 2-5 of a sealed value) before they run, and refuse sealed rows they
-- cannot open. Without these indexes that count read every row: 2.0-2.8 s for 200,000 users on
-- this embedded store. With them it reads three small indexes (about 40 ms). Building them
-- takes about 0.6 s per 200,000 users.

CREATE INDEX IF NOT EXISTS users_embedding_key
    ON users (substr(embedding_sealed, 2, 4)) WHERE embedding_sealed IS NOT NULL;
CREATE INDEX IF NOT EXISTS users_embedding_sum_key
    ON users (substr(embedding_sum_sealed, 2, 4)) WHERE embedding_sum_sealed IS NOT NULL;
CREATE INDEX IF NOT EXISTS users_in_the_clear
    ON users (id) WHERE embedding IS NOT NULL OR embedding_sum IS NOT NULL;
