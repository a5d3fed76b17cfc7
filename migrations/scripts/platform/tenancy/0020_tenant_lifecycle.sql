-- A tenant's life after it is deleted (issue 13, CONTRACT §4): `deleted` keeps the schema, the role and the data for a
-- grace period (purge_after) during which undelete brings everything back; the daily purge job then removes it.
ALTER TABLE platform.tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE platform.tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('provisioning', 'active', 'suspended', 'deleted', 'deleting'));
ALTER TABLE platform.tenants
    ADD COLUMN deleted_at  timestamptz,
    ADD COLUMN purge_after timestamptz,
    ADD CONSTRAINT tenants_deleted_has_purge_after CHECK ((status = 'deleted') = (purge_after IS NOT NULL AND deleted_at IS NOT NULL));

-- The purge job's query: deleted tenants past their grace, oldest first.
CREATE INDEX tenants_purge_after ON platform.tenants (purge_after) WHERE status = 'deleted';

-- The operator trail (CONTRACT §9): every platform operation, REST or CLI, with its outcome. Written in the transaction
-- of the operation's effect where it has one; a failed operation is written on its own. Append-only: rows can be
-- neither changed nor removed, not even by the owner role that writes them (only a superuser could drop the trigger).
-- Tenant roles and the request role have no privilege on it (schema platform grants them nothing but the catalog).
CREATE TABLE platform.operator_events (
    id          uuid        PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    action      text        NOT NULL,
    tenant      text,
    tenant_id   uuid,
    actor_kind  text        NOT NULL CHECK (actor_kind IN ('platform-key', 'cli', 'job')),
    actor_name  text        NOT NULL,
    request_id  text,
    outcome     text        NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    detail      text
);

CREATE INDEX operator_events_occurred ON platform.operator_events (occurred_at DESC, id DESC);
CREATE INDEX operator_events_tenant ON platform.operator_events (tenant, occurred_at DESC, id DESC);

CREATE FUNCTION platform.operator_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the operator trail is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER operator_events_append_only BEFORE UPDATE OR DELETE ON platform.operator_events
    FOR EACH ROW EXECUTE FUNCTION platform.operator_events_are_append_only();
CREATE TRIGGER operator_events_no_truncate BEFORE TRUNCATE ON platform.operator_events
    FOR EACH STATEMENT EXECUTE FUNCTION platform.operator_events_are_append_only();
