-- platform.grant_request_role (script 0035) asked pg_has_role for every tenant role, alternately for the request role and
-- for the owner. PostgreSQL caches the memberships of one role at a time, so each call listed all of the other role's
-- memberships again: 9.5 s at 1,000 tenants, 265 s at 3,000. At 10,000 tenants a host's start-up ran past Npgsql's
-- 30-second command timeout in it and failed (docs/BENCHMARKS.md, "Scale"). The memberships are now read once, by
-- anti-join on pg_auth_members: the grants this function and provisioning make are direct ones. A superuser owner is a
-- member of every role without a grant, as pg_has_role said.
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
