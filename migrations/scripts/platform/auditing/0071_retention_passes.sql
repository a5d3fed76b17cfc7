-- Auditing (module Auditing): the daily retention as passes in bounded batches (issue 16). A pass is what the daily
-- schedule starts; its tenant runs (platform.retention_runs) carry its id, so the next batch — another Hangfire job,
-- on any instance, also after a crash — takes the live tenants that have no finished run in the pass yet.
CREATE TABLE platform.retention_passes (
    id          uuid        PRIMARY KEY,
    source      text        NOT NULL CHECK (source IN ('schedule', 'cli', 'manual')),
    job_id      text,
    status      text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'superseded')),
    tenants     integer     NOT NULL DEFAULT 0,
    done        integer     NOT NULL DEFAULT 0,
    failed      integer     NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE INDEX retention_passes_recent ON platform.retention_passes (started_at DESC, id DESC);

ALTER TABLE platform.retention_runs ADD COLUMN pass_id uuid REFERENCES platform.retention_passes (id) ON DELETE SET NULL;

CREATE INDEX retention_runs_pass ON platform.retention_runs (pass_id, tenant) WHERE pass_id IS NOT NULL;
