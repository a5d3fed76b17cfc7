-- Moves this tenant onto the shared functions of schema `monolith` (platform script 0010, docs/adr/0032) and onto the
-- audit chain that is sealed at commit:
--   * the chain's head moves into audit_chain_head, positions are given by it (no identity any more), and the tenant
--     role keeps SELECT only on its trail: records are written by monolith.audit_row_change (SECURITY DEFINER) alone;
--   * every trigger that runs a function of this schema which has a namesake in `monolith` now runs the shared one,
--     with the same name, events, columns and arguments; audit triggers become DEFERRABLE INITIALLY DEFERRED constraint
--     triggers (records are sealed at commit, the chain's head is locked only for the seal and the commit);
--   * then this schema's copies of those functions are dropped: the schema keeps tables, indexes and triggers only.
-- Generic on purpose: triggers of scripts before this one move over here, those of later scripts right after them
-- (DbUpRunner runs monolith.adopt_shared_functions after every tenant migration).
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

-- The triggers and the functions (monolith.adopt_shared_functions, platform script 0010).
SELECT monolith.adopt_shared_functions(current_schema());
