-- Backups of tenants (issue 13, CONTRACT §4): a pg_dump of the tenant's schema (custom format) plus what the catalog
-- knows of the tenant, one row per attempt. Rows outlive their tenant (a purged tenant's backups stay listed).
CREATE TABLE platform.backups (
    id             uuid        PRIMARY KEY,
    tenant_id      uuid        NOT NULL,
    tenant         text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    reason         text        NOT NULL CHECK (reason IN ('requested', 'final')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    file_name      text        NOT NULL,
    size_bytes     bigint,
    sha256         text,
    schema_version text,
    catalog        jsonb       NOT NULL,
    error          text,
    CHECK ((status = 'completed') = (size_bytes IS NOT NULL AND sha256 IS NOT NULL AND completed_at IS NOT NULL))
);

CREATE INDEX backups_tenant ON platform.backups (tenant, created_at DESC, id DESC);
CREATE INDEX backups_completed ON platform.backups (completed_at) WHERE status = 'completed';
