-- Customers (module Customers): pg_trgm, whose operator classes the tenant schemas' search indexes use (tenant script
-- 0004), made once per server where it can be had. Tenant script 0004 makes it on first use too; a schema copied from
-- the template to another server of the placement map (docs/adr/0066) runs no script and needs it there already.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('monolith.extension.pg_trgm', 0));
        IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
            CREATE EXTENSION pg_trgm WITH SCHEMA public;
        END IF;
    END IF;
END
$$;
