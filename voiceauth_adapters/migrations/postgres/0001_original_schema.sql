-- 0001: the original voiceauth service's two tables, created only where they do not exist yet.
--
-- A database made by the original service already has them (this migration then changes
-- nothing); an empty database gets them here, so that both reach the current schema through the
-- same later migrations.

CREATE TABLE IF NOT EXISTS users (
    id UUID PRIMARY KEY,
    phone TEXT,
    embedding FLOAT8[192],
    enrolled_at TIMESTAMPTZ DEFAULT now()
);

CREATE TABLE IF NOT EXISTS auth_attempts (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID REFERENCES users (id),
    success BOOLEAN,
    score FLOAT8,
    created_at TIMESTAMPTZ DEFAULT now()
);
