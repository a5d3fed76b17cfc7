-- Auditing (module Auditing): the last completed pass of the anchoring job (docs/adr/0060). Every record written
-- before started_at is anchored (or its tenant's schema could not be reached), so now() - started_at bounds how far
-- anchoring is behind: GET /metrics reads this one row instead of comparing every tenant's chain head with its anchor.
CREATE TABLE platform.audit_anchor_runs (
    id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    moved       integer     NOT NULL
);
