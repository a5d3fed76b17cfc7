-- Moves this tenant onto the shared functions of schema `monolith` (platform script 0010, docs/adr/0032) and onto the
-- audit chain that is sealed at commit:
--   * every trigger that runs a function of this schema which has a namesake in `monolith` now runs the shared one,
--     with the same name, events, columns and arguments; audit triggers become DEFERRABLE INITIALLY DEFERRED constraint
--     triggers (records are sealed at commit, the chain's head is locked only for the seal and the commit);
--   * then this schema's copies of those functions are dropped: the schema keeps tables, indexes and triggers only;
--   * the chain's head moves into audit_chain_head, positions are given by it (no identity any more), and the tenant
--     role keeps SELECT only on its trail: records are written by monolith.audit_row_change (SECURITY DEFINER) alone.
-- Generic on purpose: triggers added by other modules' scripts before this one move over too.
-- No writer of the old chain may be half-way: they hold the trail's table until they commit, new ones wait for this one.
LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE;

GRANT USAGE ON SCHEMA monolith TO $tenant_role$;

-- The head of the chain: position and hash of the newest record (after retention emptied the trail, of the last one it
-- removed). One row, written only by monolith.audit_record as the owner; the tenant role may read it. Every sealed
-- record updates it, so it is reached through its key: a seq scan would read every page the row's versions ever took.
CREATE TABLE audit_chain_head (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq       bigint  NOT NULL,
    hash      bytea,
    prev_hash bytea
);

INSERT INTO audit_chain_head (seq, hash, prev_hash)
SELECT coalesce(e.seq, a.last_seq, 0), coalesce(e.hash, a.last_hash), e.prev_hash
FROM (SELECT 1) one
LEFT JOIN LATERAL (SELECT x.seq, x.hash, x.prev_hash FROM audit_events x ORDER BY x.seq DESC LIMIT 1) e ON true
LEFT JOIN audit_chain_anchor a ON true;

GRANT SELECT ON audit_chain_head TO $tenant_role$;

ALTER TABLE audit_events ALTER COLUMN seq DROP IDENTITY IF EXISTS;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_events FROM $tenant_role$;
GRANT SELECT ON audit_events TO $tenant_role$;

DO $$
DECLARE
    t record;
    definition text;
BEGIN
    FOR t IN
        SELECT tg.tgname, c.relname, p.proname, tg.tgconstraint <> 0 AS is_constraint, pg_get_triggerdef(tg.oid) AS def
        FROM pg_trigger tg
        JOIN pg_class c ON c.oid = tg.tgrelid
        JOIN pg_proc p ON p.oid = tg.tgfoid
        WHERE c.relnamespace = current_schema()::regnamespace
          AND p.pronamespace = current_schema()::regnamespace
          AND NOT tg.tgisinternal
          AND EXISTS (SELECT 1 FROM pg_proc s WHERE s.pronamespace = 'monolith'::regnamespace AND s.proname = p.proname
                                                AND s.prorettype = 'trigger'::regtype)
        ORDER BY c.relname, tg.tgname
    LOOP
        definition := regexp_replace(t.def, 'EXECUTE FUNCTION [^\s(]+\(', 'EXECUTE FUNCTION monolith.' || quote_ident(t.proname) || '(');
        IF t.proname = 'audit_row_change' AND NOT t.is_constraint THEN
            definition := regexp_replace(definition, '^CREATE TRIGGER (\S+) AFTER (.*) ON (\S+) FOR EACH ROW ',
                                         'CREATE CONSTRAINT TRIGGER \1 AFTER \2 ON \3 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW ');
            IF definition NOT LIKE 'CREATE CONSTRAINT TRIGGER %' THEN
                RAISE EXCEPTION 'audit trigger % on % is not an AFTER ... FOR EACH ROW trigger: %', t.tgname, t.relname, t.def;
            END IF;
        END IF;
        EXECUTE format('DROP TRIGGER %I ON %I.%I', t.tgname, current_schema(), t.relname);
        EXECUTE definition;
    END LOOP;
END
$$;

DO $$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
        FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace
          AND EXISTS (SELECT 1 FROM pg_proc s WHERE s.pronamespace = 'monolith'::regnamespace AND s.proname = p.proname)
    LOOP
        EXECUTE format('DROP FUNCTION %I.%I(%s)', current_schema(), f.proname, f.args);
    END LOOP;
END
$$;
