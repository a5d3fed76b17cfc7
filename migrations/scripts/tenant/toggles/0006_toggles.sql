-- Feature toggles (module Toggles): tenant-level definitions and per-project overrides.
-- created_by/updated_by come from the session's actor (TenantSession), whatever the path.
-- Overrides name projects by id only: projects belong to the Customers module, which publishes
-- ProjectsDeleted in the deleting transaction; Toggles removes the overrides there (no FK across modules).

CREATE TABLE feature_toggles (
    key             text        PRIMARY KEY CHECK (key ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    description     text        NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    enabled         boolean     NOT NULL,
    rollout_percent smallint    CHECK (rollout_percent BETWEEN 0 AND 100),
    revision        integer     NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by_id   uuid        DEFAULT nullif(current_setting('monolith.actor_id', true), '')::uuid,
    created_by      text        DEFAULT nullif(current_setting('monolith.actor_email', true), ''),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by_id   uuid        DEFAULT nullif(current_setting('monolith.actor_id', true), '')::uuid,
    updated_by      text        DEFAULT nullif(current_setting('monolith.actor_email', true), '')
);

CREATE TABLE feature_overrides (
    project_id    uuid        NOT NULL,
    key           text        NOT NULL REFERENCES feature_toggles (key) ON DELETE CASCADE,
    -- One name for the audit trail's entity id: "<project id>/<key>".
    id            text        GENERATED ALWAYS AS (project_id::text || '/' || key) STORED,
    enabled       boolean     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by_id uuid        DEFAULT nullif(current_setting('monolith.actor_id', true), '')::uuid,
    created_by    text        DEFAULT nullif(current_setting('monolith.actor_email', true), ''),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by_id uuid        DEFAULT nullif(current_setting('monolith.actor_id', true), '')::uuid,
    updated_by    text        DEFAULT nullif(current_setting('monolith.actor_email', true), ''),
    PRIMARY KEY (project_id, key)
);

CREATE INDEX feature_overrides_key ON feature_overrides (key);

-- Scheduled changes: at `at` the toggle's `enabled` becomes `enabled`. ToggleScheduler applies due rows
-- (update the toggle, delete the row: both in the audit trail, as the job) on every instance; row locks
-- make each apply exactly once.
CREATE TABLE feature_schedules (
    id            uuid        PRIMARY KEY,
    key           text        NOT NULL REFERENCES feature_toggles (key) ON DELETE CASCADE,
    at            timestamptz NOT NULL,
    enabled       boolean     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by_id uuid        DEFAULT nullif(current_setting('monolith.actor_id', true), '')::uuid,
    created_by    text        DEFAULT nullif(current_setting('monolith.actor_email', true), '')
);

CREATE INDEX feature_schedules_due ON feature_schedules (at);
CREATE INDEX feature_schedules_key ON feature_schedules (key, at);

-- When each toggle was last evaluated, for the stale report: each instance flushes what it evaluated about
-- once a minute. Usage telemetry, not a change of tenant data: no audit trigger, no notification.
CREATE TABLE feature_toggle_usage (
    key               text        PRIMARY KEY REFERENCES feature_toggles (key) ON DELETE CASCADE,
    last_evaluated_at timestamptz NOT NULL
);

-- Trigger functions name their tables through TG_TABLE_SCHEMA: they also run from sessions with another
-- search_path (operators, TRUNCATE by maintenance tools).
-- The version of this tenant's toggle state, for the evaluation caches' poll fallback: every change
-- writes a fresh value from the sequence, in the changing transaction (so it is visible exactly when the
-- change is). Caches compare for inequality; the sequence keeps values unique even across TRUNCATE.
CREATE SEQUENCE feature_toggle_versions;

CREATE TABLE feature_toggle_state (
    id      smallint PRIMARY KEY CHECK (id = 1),
    version bigint   NOT NULL
);

CREATE FUNCTION feature_toggles_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('INSERT INTO %I.feature_toggle_state (id, version) VALUES (1, nextval(%L))
                    ON CONFLICT (id) DO UPDATE SET version = excluded.version',
                   TG_TABLE_SCHEMA, quote_ident(TG_TABLE_SCHEMA) || '.feature_toggle_versions');
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('monolith_toggles', TG_TABLE_SCHEMA || ':*');
    END IF;
    RETURN NULL;
END
$$;

-- Key-only payloads ("<schema>:<key>"): listeners drop what they cached for that tenant and reload.
CREATE FUNCTION feature_toggles_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('monolith_toggles', TG_TABLE_SCHEMA || ':' || COALESCE(NEW.key, OLD.key));
    RETURN NULL;
END
$$;

CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON feature_toggles
    FOR EACH ROW EXECUTE FUNCTION feature_toggles_notify();
CREATE TRIGGER bump_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON feature_toggles
    FOR EACH STATEMENT EXECUTE FUNCTION feature_toggles_bump_version();
CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON feature_overrides
    FOR EACH ROW EXECUTE FUNCTION feature_toggles_notify();
CREATE TRIGGER bump_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON feature_overrides
    FOR EACH STATEMENT EXECUTE FUNCTION feature_toggles_bump_version();

-- The default of undefined toggles is the tenant setting "toggles.undefined-default": its changes
-- reach the caches the same way.
CREATE FUNCTION feature_toggles_setting_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'ROW' AND COALESCE(NEW.key, OLD.key) <> 'toggles.undefined-default' THEN
        RETURN NULL;
    END IF;
    EXECUTE format('INSERT INTO %I.feature_toggle_state (id, version) VALUES (1, nextval(%L))
                    ON CONFLICT (id) DO UPDATE SET version = excluded.version',
                   TG_TABLE_SCHEMA, quote_ident(TG_TABLE_SCHEMA) || '.feature_toggle_versions');
    PERFORM pg_notify('monolith_toggles', TG_TABLE_SCHEMA || ':*');
    RETURN NULL;
END
$$;

CREATE TRIGGER toggles_undefined_default AFTER INSERT OR UPDATE OR DELETE ON tenant_settings
    FOR EACH ROW EXECUTE FUNCTION feature_toggles_setting_changed();
CREATE TRIGGER toggles_settings_truncated AFTER TRUNCATE ON tenant_settings
    FOR EACH STATEMENT EXECUTE FUNCTION feature_toggles_setting_changed();

GRANT SELECT, INSERT, UPDATE, DELETE ON feature_toggles, feature_overrides TO $tenant_role$;
GRANT SELECT, INSERT, UPDATE ON feature_toggle_state TO $tenant_role$;
GRANT SELECT, INSERT, UPDATE, DELETE ON feature_toggle_usage TO $tenant_role$;
GRANT SELECT, INSERT, DELETE ON feature_schedules TO $tenant_role$;
GRANT USAGE ON SEQUENCE feature_toggle_versions TO $tenant_role$;

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON feature_toggles
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('feature_toggle', 'key');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON feature_overrides
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('feature_override', 'id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON feature_schedules
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('feature_schedule', 'id');
