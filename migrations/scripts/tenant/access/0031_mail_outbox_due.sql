-- Access (module Access): every mail queued keeps platform.mail_due (platform script 0031) at or before this tenant's
-- earliest due mail, in the same transaction, and notifies monolith_mail at commit (docs/adr/0014).
CREATE TRIGGER mail_due AFTER INSERT ON mail_outbox
    REFERENCING NEW TABLE AS queued FOR EACH STATEMENT EXECUTE FUNCTION monolith.mail_due();

-- Mail queued before this script.
INSERT INTO platform.mail_due AS d (tenant_id, due_at)
SELECT t.id, m.at
FROM platform.tenants t,
     (SELECT min(greatest(next_attempt_at, coalesce(locked_until, next_attempt_at))) AS at
      FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL) m
WHERE t.schema_name = '$tenant_schema$' AND m.at IS NOT NULL
ON CONFLICT (tenant_id) DO UPDATE SET due_at = least(d.due_at, excluded.due_at);
