-- The tenant catalog. Every tenant owns one schema and one database role, named here and nowhere else.
CREATE TABLE platform.tenants (
    id                   uuid        PRIMARY KEY,
    identifier           text        NOT NULL UNIQUE,
    name                 text        NOT NULL,
    schema_name          text        NOT NULL UNIQUE,
    role_name            text        NOT NULL UNIQUE,
    status               text        NOT NULL CHECK (status IN ('provisioning', 'active', 'suspended', 'deleting')),
    schema_version       text,
    audit_retention_days integer     CHECK (audit_retention_days > 0),
    log_retention_days   integer     CHECK (log_retention_days > 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenants_status_identifier ON platform.tenants (status, identifier);

-- Every change to the catalog bumps a counter (the poll fallback) and notifies listeners with the
-- identifier (the fast path), so that every host instance drops its cached entry within a second.
CREATE SEQUENCE platform.catalog_changes;

CREATE FUNCTION platform.on_tenant_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('platform.catalog_changes');
    PERFORM pg_notify('monolith_tenants', COALESCE(NEW.identifier, OLD.identifier));
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON platform.tenants
    FOR EACH ROW EXECUTE FUNCTION platform.on_tenant_change();

-- Runs of "migrate every tenant", with per-tenant progress, readable from any host instance.
CREATE TABLE platform.migration_jobs (
    id          uuid        PRIMARY KEY,
    status      text        NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    target      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz
);

CREATE TABLE platform.migration_job_tenants (
    job_id      uuid        NOT NULL REFERENCES platform.migration_jobs (id) ON DELETE CASCADE,
    identifier  text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('pending', 'running', 'migrated', 'current', 'failed')),
    version     text,
    attempts    integer     NOT NULL DEFAULT 0,
    error       text,
    finished_at timestamptz,
    PRIMARY KEY (job_id, identifier)
);

-- Tenant roles get nothing by default: not the public schema, not this one.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA platform FROM PUBLIC;
