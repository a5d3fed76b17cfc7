-- Identity that follows the user (docs/adr/0013): sessions, the per-address login counter, and the change
-- signal every host instance listens to so that access ends within a second of the change.

-- A session is one login. Its refresh tokens are one family (family_id = the session's id: rotation stays in
-- the session); its access tokens name it in their "sid" claim and are refused once it has ended.
CREATE TABLE sessions (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- The last login or refresh of the session: access tokens are not counted one by one (that would be a write
    -- per request); they live at most Auth:AccessTokenMinutes after it.
    last_used_at timestamptz NOT NULL DEFAULT now(),
    -- When its newest refresh token expires: a session past it can only end.
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    -- Why it ended: logout, refresh-reuse, disabled, password, ended (before sessions existed), ...
    end_reason   text
);

CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

-- The refresh token families that exist already become sessions, so their holders stay signed in.
INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, ended_at, end_reason)
SELECT family_id, min(user_id::text)::uuid, min(created_at), max(created_at), max(expires_at),
       CASE WHEN bool_and(revoked_at IS NOT NULL OR spent_at IS NOT NULL) THEN max(coalesce(revoked_at, spent_at)) END,
       CASE WHEN bool_and(revoked_at IS NOT NULL OR spent_at IS NOT NULL) THEN 'ended' END
FROM refresh_tokens GROUP BY family_id;

ALTER TABLE refresh_tokens
    ADD CONSTRAINT refresh_tokens_session FOREIGN KEY (family_id) REFERENCES sessions (id) ON DELETE CASCADE;

-- Session bookkeeping holding no secret (like refresh_tokens): not audited. The user changes that end sessions
-- (disable, delete, new password) are audited on users.
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO $tenant_role$;

-- Failed logins per e-mail address, whether or not a user has it, so that an unknown address answers exactly like
-- a known one. Keyed by sha256(lower(address)): addresses that are nobody's are not stored. A row counts the
-- attempts of the current window, taken before the password is checked (one conditional UPDATE ... RETURNING,
-- so parallel attempts cannot pass the limit); a successful login removes it.
CREATE TABLE login_failures (
    address_hash bytea       PRIMARY KEY,
    failures     integer     NOT NULL,
    window_start timestamptz NOT NULL
);

CREATE INDEX login_failures_window ON login_failures (window_start);

GRANT SELECT, INSERT, UPDATE, DELETE ON login_failures TO $tenant_role$;

-- The change signal. Any change that can end or alter a user's access (role, status, e-mail, deletion; a session
-- ending) bumps access_state.version and notifies 'monolith_access' with "<schema>:<user id>:<session id or *>",
-- in the changing transaction, whatever the path (API, CLI, SQL). Instances drop their cached entries on the
-- notification and compare the version once a second in case a notification was missed. The payload names
-- ids only, never a secret.
CREATE TABLE access_state (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint  NOT NULL
);

INSERT INTO access_state (id, version) VALUES (true, 0);

-- INSERT too: the trigger recreates the row when a TRUNCATE of the schema's tables (a test reset) removed it.
GRANT SELECT, INSERT, UPDATE ON access_state TO $tenant_role$;

-- SET search_path FROM CURRENT pins the function to this tenant's schema (see audit_row_change).
CREATE FUNCTION access_changed() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    user_id text := '*';
    session_id text := '*';
BEGIN
    INSERT INTO access_state AS a (id, version) VALUES (true, 1)
        ON CONFLICT (id) DO UPDATE SET version = a.version + 1;
    IF TG_LEVEL = 'ROW' THEN
        IF TG_TABLE_NAME = 'sessions' THEN
            user_id := OLD.user_id::text;
            session_id := OLD.id::text;
        ELSE
            user_id := OLD.id::text;
        END IF;
    END IF;

    PERFORM pg_notify('monolith_access', TG_TABLE_SCHEMA || ':' || user_id || ':' || session_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER access_user_changed AFTER UPDATE OF role, status, email ON users
    FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.status IS DISTINCT FROM NEW.status OR OLD.email IS DISTINCT FROM NEW.email)
    EXECUTE FUNCTION access_changed();

CREATE TRIGGER access_user_deleted AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION access_changed();

CREATE TRIGGER access_session_ended AFTER UPDATE OF ended_at ON sessions
    FOR EACH ROW WHEN (OLD.ended_at IS DISTINCT FROM NEW.ended_at)
    EXECUTE FUNCTION access_changed();

CREATE TRIGGER access_session_deleted AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION access_changed();

CREATE TRIGGER access_users_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION access_changed();

CREATE TRIGGER access_sessions_truncated AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION access_changed();
