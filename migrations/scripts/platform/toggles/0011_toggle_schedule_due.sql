-- Toggles (module Toggles): when each tenant's earliest scheduled toggle change is due, so that one recurring job finds
-- every tenant with due changes in one platform query instead of asking each tenant schema (docs/adr/0051).
--
-- A hint, not the truth: the truth is each tenant's feature_schedules. A row may be early (a schedule was cancelled,
-- or a transaction that wrote it rolled back): the job then finds nothing due in that tenant and moves the row to the
-- tenant's next schedule or removes it. A row is never late: tenant script 0021's triggers write it in the transaction
-- that inserts or moves a schedule. The job locks the rows it works on (FOR UPDATE SKIP LOCKED), so two instances
-- never apply one tenant's changes at once.
CREATE TABLE platform.toggle_schedule_due (
    tenant_id uuid        PRIMARY KEY REFERENCES platform.tenants (id) ON DELETE CASCADE,
    due_at    timestamptz NOT NULL
);

CREATE INDEX toggle_schedule_due_at ON platform.toggle_schedule_due (due_at);

-- The statement trigger of tenant script 0021 on feature_schedules. SECURITY DEFINER: the tenant role can neither read
-- the catalog nor write the platform schema, and must not; it only causes this one upsert for its own schema.
CREATE FUNCTION monolith.toggle_schedule_due() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO platform.toggle_schedule_due AS d (tenant_id, due_at)
    SELECT t.id, n.at
    FROM platform.tenants t, (SELECT min(at) AS at FROM scheduled) n
    WHERE t.schema_name = TG_TABLE_SCHEMA AND n.at IS NOT NULL
    ON CONFLICT (tenant_id) DO UPDATE SET due_at = least(d.due_at, excluded.due_at);
    RETURN NULL;
END $$;
