-- 0003: on Supabase, the public API roles cannot read or write voiceprints.
--
-- Supabase exposes every table of the `public` schema through its REST API to the `anon` and
-- `authenticated` roles (the anon key of the original service). Voiceprints are biometric data:
-- they must only be reachable through voiceauth's own connection. So, where those roles exist:
-- row-level security is enabled with no policy (nothing is visible through the REST API) and
-- every privilege of those roles on voiceauth's tables is revoked. voiceauth connects as the
-- tables' owner (Supabase's `postgres` role), which row-level security does not restrict.
-- On a PostgreSQL without those roles this migration changes nothing.

DO $$
DECLARE
    api_role TEXT;
    api_table TEXT;
BEGIN
    FOREACH api_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api_role) THEN
            FOREACH api_table IN ARRAY ARRAY['users', 'auth_attempts', 'schema_migrations'] LOOP
                EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', api_table);
                EXECUTE format('REVOKE ALL ON TABLE %I FROM %I', api_table, api_role);
            END LOOP;
        END IF;
    END LOOP;
END
$$;
