-- The memory the calling backend's memory contexts hold, in bytes (docs/adr/0071). The request pool ends a backend whose
-- caches of tenant schemas outgrow Tenancy__BackendMemoryMegabytes. PostgreSQL lets only superusers and
-- pg_read_all_stats read memory contexts; build/sql/roles.sql grants the owner that one function instead, and this
-- function, run as the owner, hands the request role one number about its own backend. Without the grant it answers
-- null, and the pool falls back to its estimate per schema.
CREATE FUNCTION platform.backend_memory_bytes() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    RETURN (SELECT sum(total_bytes)::bigint FROM pg_get_backend_memory_contexts());
EXCEPTION WHEN insufficient_privilege THEN
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION platform.backend_memory_bytes() FROM PUBLIC;

-- What the request role may do (script 0082), and now measure its own backend.
CREATE OR REPLACE FUNCTION platform.grant_request_role(request_role name) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    tenant record;
    granted integer := 0;
    request_oid oid := (SELECT oid FROM pg_roles WHERE rolname = request_role);
    owner_oid oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
    owner_is_superuser boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA platform TO %I', request_role);
    EXECUTE format('GRANT SELECT ON platform.tenants TO %I', request_role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION platform.backend_memory_bytes() TO %I', request_role);
    FOR tenant IN
        SELECT r.rolname AS role_name
          FROM platform.tenants t JOIN pg_roles r ON r.rolname = t.role_name
         WHERE NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = r.oid AND m.member = request_oid)
            OR (NOT owner_is_superuser AND NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = r.oid AND m.member = owner_oid))
    LOOP
        BEGIN
            EXECUTE format('GRANT %I TO %I', tenant.role_name, request_role);
            IF NOT owner_is_superuser THEN
                EXECUTE format('GRANT %I TO %I', tenant.role_name, current_user);
            END IF;
            granted := granted + 1;
        EXCEPTION WHEN undefined_object THEN
            NULL;
        END;
    END LOOP;
    RETURN granted;
END
$$;
REVOKE ALL ON FUNCTION platform.grant_request_role(name) FROM PUBLIC;
