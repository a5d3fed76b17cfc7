-- Per-tenant bounds (CONTRACT §8): null means the configured default (Tenancy__StatementTimeoutMs, Tenancy__MaxConcurrency).
ALTER TABLE platform.tenants
    ADD COLUMN statement_timeout_ms integer CHECK (statement_timeout_ms BETWEEN 1 AND 600000),
    ADD COLUMN max_concurrency      integer CHECK (max_concurrency BETWEEN 1 AND 10000);

-- What the request role (ConnectionStrings__Monolith) may do, given after every platform migration by the owner role
-- (docs/adr/0005): read the catalog, and become each live tenant's role. Nothing else: it owns nothing and holds no
-- privilege on any tenant table itself (it is NOINHERIT). Idempotent; returns how many tenant roles it was newly granted.
CREATE FUNCTION platform.grant_request_role(request_role name) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    tenant record;
    granted integer := 0;
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA platform TO %I', request_role);
    EXECUTE format('GRANT SELECT ON platform.tenants TO %I', request_role);
    FOR tenant IN
        SELECT t.role_name FROM platform.tenants t JOIN pg_roles r ON r.rolname = t.role_name
        WHERE NOT pg_has_role(request_role, t.role_name, 'MEMBER') OR NOT pg_has_role(current_user, t.role_name, 'MEMBER')
    LOOP
        EXECUTE format('GRANT %I TO %I', tenant.role_name, request_role);
        EXECUTE format('GRANT %I TO %I', tenant.role_name, current_user);
        granted := granted + 1;
    END LOOP;
    RETURN granted;
END
$$;
REVOKE ALL ON FUNCTION platform.grant_request_role(name) FROM PUBLIC;
