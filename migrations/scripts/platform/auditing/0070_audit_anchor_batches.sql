-- Auditing (module Auditing): the anchoring job in bounded slices (issue 16). monolith.audit_anchor_all() visits every
-- live tenant in one statement, so one transaction: at 10,000 tenants, seconds of held snapshot and 10,000 advisory
-- locks. This visits the next live tenants after one id (at most batch of them) in its own short statement; the job calls
-- it until a slice comes back short. Same per-tenant rule as audit_anchor_all (a tenant that fails is skipped).
CREATE FUNCTION monolith.audit_anchor_batch(after uuid, batch integer)
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
REVOKE ALL ON FUNCTION monolith.audit_anchor_batch(uuid, integer) FROM PUBLIC;
