-- Runs of the retention policy (the daily Hangfire job, its per-tenant jobs and `retention run` on the CLI),
-- for GET /platform/jobs. One row per tenant run (tenant set) or per global run (tenant null).
CREATE TABLE platform.retention_runs (
    id          uuid        PRIMARY KEY,
    source      text        NOT NULL CHECK (source IN ('schedule', 'cli', 'manual')),
    tenant      text,
    dry_run     boolean     NOT NULL,
    status      text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    job_id      text,
    outcomes    jsonb       NOT NULL DEFAULT '[]',
    error       text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE INDEX retention_runs_recent ON platform.retention_runs (started_at DESC, id DESC);
