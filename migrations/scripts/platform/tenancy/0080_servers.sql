-- Tenancy: the placement map (docs/adr/0066). Each tenant names the database server that holds its schema and role.
-- 'main' is the server this catalog lives on, reached through the host's configured connection strings (none stored);
-- any other server is reached through the two connection strings of its row (request role, owner role). Read by the
-- owner role only: the request role never sees the stored connection strings.
-- On a server other than the catalog's, these platform tables hold that server's own facts (anchors, due work) and a
-- mirror of the catalog row of each tenant placed there, which the shared functions and their foreign keys read.
CREATE TABLE platform.servers (
    name               text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,39}$'),
    request_connection text,
    owner_connection   text,
    capacity           integer     NOT NULL CHECK (capacity >= 0),
    status             text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draining')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((name = 'main') = (request_connection IS NULL AND owner_connection IS NULL))
);
INSERT INTO platform.servers (name, capacity) VALUES ('main', 10000);

ALTER TABLE platform.tenants
    ADD COLUMN server    text NOT NULL DEFAULT 'main' REFERENCES platform.servers (name),
    -- Set while the tenant moves to that server: its writes are refused (503 tenant-busy) until the switch.
    ADD COLUMN moving_to text REFERENCES platform.servers (name);
CREATE INDEX tenants_server ON platform.tenants (server);

-- A move keeps the tenant's state before it as a backup of its own kind.
ALTER TABLE platform.backups DROP CONSTRAINT backups_reason_check,
    ADD CONSTRAINT backups_reason_check CHECK (reason IN ('requested', 'final', 'move'));
