-- platform.grant_request_role (script 0004) asked pg_has_role by role *name* in a condition on platform.tenants alone,
-- which the planner may evaluate before the join with pg_roles: a tenant being provisioned has its catalog row a moment
-- before its role, and a host starting in that moment failed with 42704 "role ... does not exist". Asked by OID here,
-- of roles that exist; a role dropped between the query and its GRANT is skipped (purges also take the role-changes
-- lock, TenantLocks, so that is for roles dropped by hand).
CREATE OR REPLACE FUNCTION platform.grant_request_role(request_role name) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    tenant record;
    granted integer := 0;
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA platform TO %I', request_role);
    EXECUTE format('GRANT SELECT ON platform.tenants TO %I', request_role);
    FOR tenant IN
        SELECT r.rolname AS role_name
        FROM platform.tenants t JOIN pg_roles r ON r.rolname = t.role_name
        WHERE NOT pg_has_role(request_role, r.oid, 'MEMBER') OR NOT pg_has_role(current_user, r.oid, 'MEMBER')
    LOOP
        BEGIN
            EXECUTE format('GRANT %I TO %I', tenant.role_name, request_role);
            EXECUTE format('GRANT %I TO %I', tenant.role_name, current_user);
            granted := granted + 1;
        EXCEPTION WHEN undefined_object THEN
            NULL;
        END;
    END LOOP;
    RETURN granted;
END
$$;
REVOKE ALL ON FUNCTION platform.grant_request_role(name) FROM PUBLIC;
