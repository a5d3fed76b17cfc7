-- The audit trail: every insert, update and delete of an audited table is recorded by a trigger, in the
-- same transaction as the change, whatever the path (API, CLI, jobs, bulk statements).
-- Who and why come from the session settings TenantSession sets on every tenant connection
-- (monolith.actor_kind, monolith.actor_id, monolith.actor_email, monolith.request_id).
-- Tamper evidence: each record carries sha256(previous record's hash || its own content). Writers
-- serialize on a per-schema advisory lock held until commit, so the chain follows commit order.

CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    -- 48-bit unix milliseconds, then random bits from a v4 uuid with its version nibble set to 7.
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

CREATE TABLE audit_events (
    seq          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           uuid        NOT NULL UNIQUE,
    occurred_at  timestamptz NOT NULL,
    action       text        NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    entity_type  text        NOT NULL,
    entity_id    text        NOT NULL,
    actor_kind   text        NOT NULL,
    actor_id     uuid,
    actor_email  text,
    request_id   text,
    changes      jsonb       NOT NULL,
    prev_hash    bytea,
    hash         bytea       NOT NULL
);

-- Retention removes the oldest records (always a prefix of the chain). The anchor keeps the hash of the last
-- record it removed, so the remaining chain still verifies from its first record and a new record written to
-- an emptied trail links to it. Written by the owner role (the retention job) only; the tenant role reads it.
CREATE TABLE audit_chain_anchor (
    id         boolean     PRIMARY KEY DEFAULT true CHECK (id),
    last_seq   bigint      NOT NULL,
    last_hash  bytea       NOT NULL,
    removed    bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX audit_events_entity ON audit_events (entity_type, entity_id, seq);
CREATE INDEX audit_events_actor ON audit_events (actor_id, seq) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_time ON audit_events (occurred_at, seq);

-- The content a record's hash covers, in one canonical text form (jsonb prints keys in a fixed order).
CREATE FUNCTION audit_content(e audit_events) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(concat_ws('|',
        e.id::text, to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), e.action, e.entity_type, e.entity_id,
        e.actor_kind, coalesce(e.actor_id::text, ''), coalesce(e.actor_email, ''), coalesce(e.request_id, ''), e.changes::text), 'UTF8')
$$;

-- Trigger: audit_row_change(entity_type, key_column, sensitive_column, ...).
-- Sensitive columns (password hashes, token hashes) are recorded as changed, never with their values.
-- SET search_path FROM CURRENT pins the function to this tenant's schema (the migration's search_path), so the
-- trigger also works from sessions with another search_path (an operator's psql) and cannot be redirected.
CREATE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    entity_type text := TG_ARGV[0];
    key_column  text := TG_ARGV[1];
    sensitive   text[] := TG_ARGV[2:];
    old_row     jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
    new_row     jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END;
    diff        jsonb := '{}'::jsonb;
    col         text;
    old_value   jsonb;
    new_value   jsonb;
    event       audit_events;
BEGIN
    FOR col IN SELECT jsonb_object_keys(coalesce(new_row, old_row)) LOOP
        old_value := old_row -> col;
        new_value := new_row -> col;
        CONTINUE WHEN TG_OP = 'UPDATE' AND old_value IS NOT DISTINCT FROM new_value;
        IF col = ANY (sensitive) THEN
            diff := diff || jsonb_build_object(col, jsonb_build_object('redacted', true));
        ELSE
            diff := diff || jsonb_build_object(col, jsonb_build_object('old', old_value, 'new', new_value));
        END IF;
    END LOOP;

    IF TG_OP = 'UPDATE' AND diff = '{}'::jsonb THEN
        RETURN NULL; -- nothing changed
    END IF;

    PERFORM pg_advisory_xact_lock(hashtextextended('monolith.audit.' || current_schema(), 0));

    event.id := uuid_v7();
    event.occurred_at := clock_timestamp();
    event.action := CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END;
    event.entity_type := entity_type;
    event.entity_id := coalesce(new_row, old_row) ->> key_column;
    event.actor_kind := coalesce(nullif(current_setting('monolith.actor_kind', true), ''), 'database');
    event.actor_id := nullif(current_setting('monolith.actor_id', true), '')::uuid;
    event.actor_email := nullif(current_setting('monolith.actor_email', true), '');
    event.request_id := nullif(current_setting('monolith.request_id', true), '');
    event.changes := diff;
    SELECT a.hash INTO event.prev_hash FROM audit_events a ORDER BY a.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        SELECT c.last_hash INTO event.prev_hash FROM audit_chain_anchor c; -- an emptied trail continues its chain
    END IF;
    event.hash := sha256(coalesce(event.prev_hash, ''::bytea) || audit_content(event));

    INSERT INTO audit_events (id, occurred_at, action, entity_type, entity_id, actor_kind, actor_id, actor_email, request_id, changes, prev_hash, hash)
    VALUES (event.id, event.occurred_at, event.action, event.entity_type, event.entity_id, event.actor_kind, event.actor_id,
            event.actor_email, event.request_id, event.changes, event.prev_hash, event.hash);
    RETURN NULL;
END
$$;

-- Append-only for the tenant role: it may add and read records, never change or remove them.
GRANT SELECT, INSERT ON audit_events TO $tenant_role$;
GRANT SELECT ON audit_chain_anchor TO $tenant_role$;

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON tenant_settings
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('tenant_setting', 'key');
