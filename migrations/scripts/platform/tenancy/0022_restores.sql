-- Restores of backups into new tenants (issue 13): one row per accepted restore, its job's status readable from any host.
CREATE TABLE platform.restores (
    id          uuid        PRIMARY KEY,
    backup_id   uuid        NOT NULL REFERENCES platform.backups (id) ON DELETE CASCADE,
    identifier  text        NOT NULL,
    name        text,
    status      text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
