-- The database roles of CONTRACT §8 (docs/adr/0005), made by a superuser once per server and database.
-- Idempotent: run it again to reset the passwords or to adopt a database made before the two roles.
--   psql -v owner_role=monolith_owner -v app_role=monolith_app -v database=monolith -f build/sql/roles.sql
-- The passwords come from the environment (never the command line): MONOLITH_OWNER_PASSWORD, MONOLITH_APP_PASSWORD.
--   owner role: owns the database, the platform schemas and every tenant schema; creates tenant roles; may read a
--               backend's memory contexts. Not a superuser.
--   app role:   the request path. Owns nothing, creates nothing, inherits nothing: it reaches a tenant's tables only by
--               SET ROLE to that tenant's role, of which the owner makes it a member when the tenant is provisioned.
--               The hosts' owner makes one more login per request sub-pool, as bare, with the same password (docs/adr/0073).
\set ON_ERROR_STOP on
\getenv owner_password MONOLITH_OWNER_PASSWORD
\getenv app_password MONOLITH_APP_PASSWORD

SELECT format('CREATE ROLE %I', :'owner_role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner_role') \gexec
ALTER ROLE :"owner_role" LOGIN CREATEROLE NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS PASSWORD :'owner_password';

SELECT format('CREATE ROLE %I', :'app_role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec
ALTER ROLE :"app_role" LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_password';

SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'owner_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
ALTER DATABASE :"database" OWNER TO :"owner_role";
-- No temporary tables for anyone but the owner (tenant roles and the app role get nothing PUBLIC would give them).
REVOKE TEMPORARY ON DATABASE :"database" FROM PUBLIC;
GRANT TEMPORARY ON DATABASE :"database" TO :"owner_role";

\connect :"database"
SET ROLE NONE;
ALTER SCHEMA public OWNER TO :"owner_role";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- The owner may read a backend's memory contexts (this function only, not pg_read_all_stats): the request pool ends a
-- backend whose caches outgrow Tenancy__BackendMemoryMegabytes (platform.backend_memory_bytes, docs/adr/0071).
GRANT EXECUTE ON FUNCTION pg_catalog.pg_get_backend_memory_contexts() TO :"owner_role";
-- The request sub-pools' own logins (docs/adr/0073), made by the hosts with the app role's password, take its new one:
-- a rotated password must leave no login that still accepts the old.
SELECT to_regclass('platform.request_logins') IS NOT NULL AS has_request_logins \gset
\if :has_request_logins
SELECT format('ALTER ROLE %I PASSWORD %L', l.role_name, :'app_password')
FROM platform.request_logins l JOIN pg_roles r ON r.rolname = l.role_name \gexec
\endif

-- A database made before the two roles (everything owned by the superuser): hand its schemas and what is in them
-- to the owner role. Sequences that belong to a column follow their table. The pg_depend lookups name their classid so
-- that they use its index: without, each sequence scanned all of pg_depend, over 7 minutes at 3,000 tenants.
SELECT set_config('monolith.owner_role', :'owner_role', false);
DO $adopt$
DECLARE
    target text := current_setting('monolith.owner_role');
    item record;
BEGIN
    FOR item IN
        SELECT n.nspname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
        WHERE r.rolsuper AND n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'public')
    LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', item.nspname, target);
    END LOOP;

    FOR item IN
        SELECT n.nspname, c.relname, c.relkind FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner
        WHERE r.rolsuper AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d
                                               WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO %I',
            CASE item.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
            item.nspname, item.relname, target);
    END LOOP;

    FOR item IN
        SELECT p.oid::regprocedure AS signature, p.prokind FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles r ON r.oid = p.proowner
        WHERE r.rolsuper AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', CASE item.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, item.signature, target);
    END LOOP;
END
$adopt$;
