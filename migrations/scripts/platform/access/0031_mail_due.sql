-- Access (module Access): when each tenant's earliest undelivered mail is due, so that the delivery job finds every
-- tenant with mail to send in one platform query instead of asking each tenant schema (docs/adr/0014, the toggle
-- scheduler's platform.toggle_schedule_due is the model).
--
-- A hint, not the truth: the truth is each tenant's mail_outbox. A row may be early (the transaction that queued the
-- mail rolled back, or another instance delivered it): the job then finds nothing due and moves the row to the
-- tenant's next due mail or removes it. A row is never late: tenant script 0031's trigger writes it in the transaction
-- that queues a mail. While a job works on a tenant, it leases the row (due_at = now() + the lease) instead of holding
-- a lock across SMTP, and afterwards moves it only if due_at still holds its lease: a mail queued meanwhile has
-- lowered it, and the row stays due.
CREATE TABLE platform.mail_due (
    tenant_id uuid        PRIMARY KEY REFERENCES platform.tenants (id) ON DELETE CASCADE,
    due_at    timestamptz NOT NULL
);

CREATE INDEX mail_due_at ON platform.mail_due (due_at);

-- The statement trigger of tenant script 0031 on mail_outbox (INSERT only: the job's own updates move the row
-- themselves). SECURITY DEFINER: the tenant role can neither read the catalog nor write the platform schema, and must
-- not; it only causes this one upsert for its own schema. The notification (delivered at commit, never for a rolled-back
-- transaction) wakes the delivery on the instances that run jobs; the payload is the tenant's id, nothing secret.
CREATE FUNCTION monolith.mail_due() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tenant uuid;
    due    timestamptz;
BEGIN
    SELECT min(next_attempt_at) INTO due FROM queued;
    IF due IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT t.id INTO tenant FROM platform.tenants t WHERE t.schema_name = TG_TABLE_SCHEMA;
    IF tenant IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO platform.mail_due AS d (tenant_id, due_at) VALUES (tenant, due)
    ON CONFLICT (tenant_id) DO UPDATE SET due_at = least(d.due_at, excluded.due_at);
    PERFORM pg_notify('monolith_mail', tenant::text);
    RETURN NULL;
END $$;
-- Firing a trigger needs no privilege on its function; nobody calls it directly.
REVOKE ALL ON FUNCTION monolith.mail_due() FROM PUBLIC;
