-- Spare tenant schemas (docs/adr/0062): made ahead of time from the template, each with its role, and handed out to a new
-- tenant by renaming both. `scripts` is the newest tenant script it holds: a spare of other scripts is never handed out.
-- The owner role alone uses it; the request role cannot read it.
CREATE TABLE platform.spare_schemas (
    schema_name text        PRIMARY KEY,
    role_name   text        NOT NULL UNIQUE,
    scripts     text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
