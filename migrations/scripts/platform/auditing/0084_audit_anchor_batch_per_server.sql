-- Auditing (module Auditing): a pass of the anchoring job visits only the tenants whose schema its server holds
-- (docs/adr/0066). On the catalog's server ('main') platform.tenants lists every tenant: those placed elsewhere either
-- failed into the exception block one by one, or, during a move's grace window, had their old copy anchored there. Now
-- they are left out. Another server lists only the copies of its own tenants' rows, so the filter keeps them all. The
-- rest is script 0070's function.
DROP FUNCTION monolith.audit_anchor_batch(uuid, integer);
CREATE FUNCTION monolith.audit_anchor_batch(after uuid, batch integer, on_server text)
RETURNS TABLE (visited integer, moved integer, last_id uuid)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
    before bigint;
    anchored bigint;
BEGIN
    visited := 0;
    moved := 0;
    FOR t IN SELECT id, schema_name FROM platform.tenants
             WHERE status IN ('active', 'suspended') AND (after IS NULL OR id > after)
               AND (on_server <> 'main' OR server = 'main')
             ORDER BY id LIMIT greatest(batch, 1) LOOP
        visited := visited + 1;
        last_id := t.id;
        BEGIN
            SELECT a.seq INTO before FROM platform.audit_anchors a WHERE a.tenant_id = t.id;
            SELECT x.anchored_seq INTO anchored FROM monolith.audit_anchor_schema(t.id, t.schema_name) x;
            IF anchored IS DISTINCT FROM before THEN
                moved := moved + 1;
            END IF;
        EXCEPTION WHEN undefined_table OR invalid_schema_name THEN
            NULL;
        END;
    END LOOP;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION monolith.audit_anchor_batch(uuid, integer, text) FROM PUBLIC;
