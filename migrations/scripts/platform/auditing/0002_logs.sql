-- Application logs (CONTRACT §6): one table partitioned by UTC day, written by the host's own Serilog sink
-- (binary COPY) and read by GET /platform/logs. Owned by the owner role that runs the platform scripts;
-- tenant roles get nothing here (no grant, and PUBLIC is revoked below).
CREATE SCHEMA IF NOT EXISTS logs;
REVOKE ALL ON SCHEMA logs FROM PUBLIC;

CREATE TABLE logs.events (
    id          uuid        NOT NULL,   -- UUID v7 made by the sink from the event's timestamp
    time        timestamptz NOT NULL,   -- UTC
    level       text        NOT NULL CHECK (level IN ('verbose', 'debug', 'information', 'warning', 'error', 'fatal')),
    message     text        NOT NULL,   -- rendered, after masking
    template    text        NOT NULL,
    exception   text,
    tenant      text,
    user_id     text,
    request_id  text,
    properties  jsonb       NOT NULL DEFAULT '{}'
) PARTITION BY RANGE (time);

-- Events whose day has no partition yet land here instead of being lost; maintenance moves them out
-- when it creates the day's partition, and retention deletes from it like from any other.
CREATE TABLE logs.events_default PARTITION OF logs.events DEFAULT;

-- Keyset paging newest first (time, id), overall and per tenant. Created on the parent: every partition gets them.
CREATE INDEX events_time_id ON logs.events (time DESC, id DESC);
CREATE INDEX events_tenant_time_id ON logs.events (tenant, time DESC, id DESC);

-- Creates the partitions of `days` UTC days starting at `first_day` that do not exist yet, and moves any rows
-- of those days out of the default partition first (ATTACH would refuse otherwise). Idempotent; safe to run
-- from several hosts at once (a transaction-scoped advisory lock serialises them). Returns how many it made.
CREATE FUNCTION logs.ensure_partitions(first_day date, days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    day        date;
    made       integer := 0;
    part       text;
    lower_ts   timestamptz;
    upper_ts   timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('logs.ensure_partitions'));
    FOR i IN 0 .. days - 1 LOOP
        day := first_day + i;
        part := 'events_p' || to_char(day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass('logs.' || part) IS NOT NULL;
        lower_ts := day::timestamp AT TIME ZONE 'UTC';
        upper_ts := (day + 1)::timestamp AT TIME ZONE 'UTC';
        EXECUTE format('CREATE TABLE logs.%I (LIKE logs.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
        EXECUTE format('WITH moved AS (DELETE FROM logs.events_default WHERE time >= $1 AND time < $2 RETURNING *)
                        INSERT INTO logs.%I SELECT * FROM moved', part) USING lower_ts, upper_ts;
        EXECUTE format('ALTER TABLE logs.events ATTACH PARTITION logs.%I FOR VALUES FROM (%L) TO (%L)',
                       part, lower_ts, upper_ts);
        made := made + 1;
    END LOOP;
    RETURN made;
END
$$;

-- Today and the next two days exist from the start; the host keeps creating them ahead.
SELECT logs.ensure_partitions((now() AT TIME ZONE 'UTC')::date, 3);
