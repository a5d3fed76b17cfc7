-- Access (module Access): the mail gauges of GET /metrics (docs/adr/0060). Undelivered mail and the oldest due mail,
-- counted only in the outboxes of tenants that platform.mail_due names (a tenant without a row has nothing undelivered,
-- platform script 0031), the longest-due first and at most max_tenants of them, so a reading never visits every tenant
-- schema. `tenants` is every tenant with a row; `counted` how many of them were counted. Owner only; the host caches the
-- reading for a few seconds whatever the scrape rate.
CREATE FUNCTION monolith.mail_outbox_depth(max_tenants integer)
RETURNS TABLE (tenants integer, counted integer, mails bigint, oldest_due timestamptz)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
    n bigint;
    due timestamptz;
BEGIN
    SELECT count(*) INTO tenants FROM platform.mail_due;
    counted := 0;
    mails := 0;
    FOR t IN SELECT s.schema_name FROM platform.mail_due d JOIN platform.tenants s ON s.id = d.tenant_id
             ORDER BY d.due_at LIMIT max_tenants LOOP
        BEGIN
            EXECUTE format('SELECT count(*), min(next_attempt_at) FILTER (WHERE next_attempt_at <= now())
                            FROM %I.mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL', t.schema_name)
            INTO n, due;
            counted := counted + 1;
            mails := mails + n;
            oldest_due := least(oldest_due, due);
        EXCEPTION WHEN undefined_table OR invalid_schema_name THEN
            NULL; -- a schema being removed, or not migrated to the outbox yet
        END;
    END LOOP;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION monolith.mail_outbox_depth(integer) FROM PUBLIC;
