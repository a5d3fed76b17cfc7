-- Access: the tenant's users and their refresh tokens.

CREATE TABLE users (
    id                   uuid        PRIMARY KEY,
    email                text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name                 text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role                 text        NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    password_hash        text        NOT NULL,
    status               text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- Failed logins within the current lockout window; counted here so the limit holds across host instances.
    failed_login_count   integer     NOT NULL DEFAULT 0,
    failed_login_since   timestamptz,
    last_login_at        timestamptz,
    version              integer     NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
CREATE INDEX users_role ON users (role) WHERE status = 'active';

GRANT SELECT, INSERT, UPDATE, DELETE ON users TO $tenant_role$;

-- Audited: who the users are, their role and status, and that a password changed (never its hash).
-- Login bookkeeping (failure counters, last login) is not an audited change.
CREATE TRIGGER audit AFTER INSERT OR DELETE OR UPDATE OF email, name, role, password_hash, status ON users
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('user', 'id', 'password_hash');

-- Refresh tokens: only sha256 of the token is stored. A login starts a family; each refresh spends its
-- token and adds the next one to the family; presenting a spent token revokes the whole family.
CREATE TABLE refresh_tokens (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid        NOT NULL,
    token_hash  bytea       NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id) WHERE revoked_at IS NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_tokens TO $tenant_role$;
