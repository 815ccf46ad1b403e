-- 0009: the fraud watchlist, and the caller's voice kept on each attempt for a while.
--
-- `watchlist_entries` holds the voices operators reported as fraudulent: a label and a note for
-- the fraud team, where the voice came from (`attempt:<id>`, `url`, `upload`), and the voice as
-- one speaker embedding. Like a voiceprint, the embedding is in the clear
-- (`watchlist_embedding`, FLOAT8[]) only without a template key; with one it is sealed into
-- `watchlist_embedding_sealed` (AES-256-GCM, bound to the entry's id and the column's name), and
-- `voiceauth db rotate-key` reseals it. Exactly one of the two holds it.
--
-- `watchlist_revision` is one row whose number moves on with every write to the watchlist, in
-- the same transaction: each replica keeps the entries in memory and reads them again only when
-- it changed.
--
-- `auth_attempts` gains the watchlist match of an attempt (entry id, label and calibrated score;
-- no foreign key, so the record of a match outlives the entry), and the caller's embedding
-- (`probe_embedding`, sealed like every voiceprint into `probe_embedding_sealed`, bound to the
-- attempt's id) with its model and the time it is erased (`probe_expires_at`,
-- VOICEAUTH_PROBE_RETENTION_DAYS after the attempt). Every new attempt's write also erases the
-- probes whose time has passed; `auth_attempts_probe_expiry` finds them without reading the
-- table. Erasing a user erases their attempts, probes included (ON DELETE CASCADE); watchlist
-- entries are nobody's account and are erased only by deleting them.
--
-- New tables get the treatment of 0003: on Supabase the public API roles can neither read nor
-- write them. Existing rows are not changed; the added columns are NULL.

CREATE TABLE watchlist_entries (
    id UUID PRIMARY KEY,
    label TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    source TEXT NOT NULL CHECK (source <> ''),
    model_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    watchlist_embedding FLOAT8[],
    watchlist_embedding_sealed BYTEA,
    CONSTRAINT watchlist_entries_one_form
        CHECK ((watchlist_embedding IS NULL) <> (watchlist_embedding_sealed IS NULL))
);

CREATE INDEX watchlist_entries_newest ON watchlist_entries (created_at DESC, id DESC);
CREATE INDEX watchlist_entries_key
    ON watchlist_entries ((substring(watchlist_embedding_sealed FROM 2 FOR 4)))
    WHERE watchlist_embedding_sealed IS NOT NULL;

CREATE TABLE watchlist_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO watchlist_revision (id, revision) VALUES (1, 0);

ALTER TABLE auth_attempts
    ADD COLUMN watchlist_entry_id UUID,
    ADD COLUMN watchlist_label TEXT,
    ADD COLUMN watchlist_score FLOAT8,
    ADD COLUMN probe_embedding FLOAT8[],
    ADD COLUMN probe_embedding_sealed BYTEA,
    ADD COLUMN probe_model_id TEXT,
    ADD COLUMN probe_expires_at TIMESTAMPTZ,
    ADD CONSTRAINT auth_attempts_watchlist_match CHECK (
        (watchlist_entry_id IS NULL) = (watchlist_label IS NULL)
        AND (watchlist_entry_id IS NULL) = (watchlist_score IS NULL)
    ),
    ADD CONSTRAINT auth_attempts_watchlist_score_check
        CHECK (watchlist_score >= 0 AND watchlist_score <= 1),
    ADD CONSTRAINT auth_attempts_probe_one_form
        CHECK (probe_embedding IS NULL OR probe_embedding_sealed IS NULL),
    ADD CONSTRAINT auth_attempts_probe_kept CHECK (
        (probe_expires_at IS NULL) = (probe_embedding IS NULL AND probe_embedding_sealed IS NULL)
        AND (probe_expires_at IS NULL) = (probe_model_id IS NULL)
    );

CREATE INDEX auth_attempts_probe_expiry
    ON auth_attempts (probe_expires_at) WHERE probe_expires_at IS NOT NULL;
CREATE INDEX auth_attempts_probe_key
    ON auth_attempts ((substring(probe_embedding_sealed FROM 2 FOR 4)))
    WHERE probe_embedding_sealed IS NOT NULL;
CREATE INDEX auth_attempts_watchlist_matches
    ON auth_attempts (watchlist_entry_id, created_at DESC) WHERE watchlist_entry_id IS NOT NULL;

DO $$
DECLARE
    api_role TEXT;
    api_table TEXT;
BEGIN
    FOREACH api_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api_role) THEN
            FOREACH api_table IN ARRAY ARRAY['watchlist_entries', 'watchlist_revision'] LOOP
                EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', api_table);
                EXECUTE format('REVOKE ALL ON TABLE %I FROM %I', api_table, api_role);
            END LOOP;
        END IF;
    END LOOP;
END
$$;
