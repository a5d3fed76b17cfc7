-- Tenant-wide settings (for example the default of undefined feature toggles).
-- Tables are unqualified: the runner sets search_path to the tenant's schema.
CREATE TABLE tenant_settings (
    key        text        PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_settings TO $tenant_role$;
