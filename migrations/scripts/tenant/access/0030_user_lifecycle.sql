-- Access: the users' own lifecycle (CONTRACT §5) — verified e-mail addresses, invitations, single-use account
-- tokens (password reset, e-mail verification) and the mail outbox.

-- Users that exist before this script were trusted without a verification: they count as verified, so that switching
-- on access.require-verified-email locks nobody out who could sign in before.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
UPDATE users SET email_verified = true;

-- The audited columns of users now include email_verified (a verification is an audited change). Audit triggers are
-- the shared function's, sealed at commit (auditing script 0010).
DROP TRIGGER audit ON users;
CREATE CONSTRAINT TRIGGER audit AFTER INSERT OR DELETE OR UPDATE OF email, name, role, password_hash, status, email_verified ON users
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION monolith.audit_row_change('user', 'id', 'password_hash');

-- Invitations: only sha256 of the token is stored; a resend replaces it (the earlier link dies). "expired" is
-- written lazily (a pending invitation past expires_at is expired whatever its status column says).
CREATE TABLE invitations (
    id               uuid        PRIMARY KEY,
    email            text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name             text        CHECK (length(name) BETWEEN 1 AND 200),
    role             text        NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'cancelled', 'expired')),
    token_hash       bytea       NOT NULL UNIQUE,
    expires_at       timestamptz NOT NULL,
    invited_by_id    uuid,
    invited_by       text        NOT NULL,
    accepted_user_id uuid        REFERENCES users (id) ON DELETE SET NULL,
    sent_count       integer     NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One pending invitation per address: a second one is 409, as is an address that is a user's.
CREATE UNIQUE INDEX invitations_pending_email ON invitations (lower(email)) WHERE status = 'pending';
CREATE INDEX invitations_status ON invitations (status, id);

GRANT SELECT, INSERT, UPDATE, DELETE ON invitations TO $tenant_role$;

CREATE CONSTRAINT TRIGGER audit AFTER INSERT OR DELETE OR UPDATE OF email, name, role, status, token_hash, expires_at ON invitations
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION monolith.audit_row_change('invitation', 'id', 'token_hash');

-- Single-use tokens of a user: sha256 only, an expiry, spent once. Bookkeeping holding a secret: not audited (the
-- changes they cause — a new password, a verified address — are audited on users).
CREATE TABLE account_tokens (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text        NOT NULL CHECK (purpose IN ('password-reset', 'email-verification')),
    token_hash  bytea       NOT NULL UNIQUE,
    -- For a verification: the address it proves (a changed address is not verified by an older mail).
    email       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose) WHERE used_at IS NULL;
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON account_tokens TO $tenant_role$;

-- The mail outbox: written in the transaction that causes the mail, delivered at least once by a background job.
-- The bodies hold single-use tokens until the mail is sent, then they are cleared: a sent row keeps who, what and
-- when for Mail:RetentionDays. Not audited: the bodies are secrets.
CREATE TABLE mail_outbox (
    id              uuid        PRIMARY KEY,
    kind            text        NOT NULL,
    recipient       text        NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
    subject         text        NOT NULL,
    text_body       text,
    html_body       text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A delivery in progress holds the row until then; after a crash the row is due again (one duplicate at most).
    locked_until    timestamptz,
    sent_at         timestamptz,
    -- Given up after Mail:MaxAttempts; the bodies are cleared as for a sent mail.
    failed_at       timestamptz,
    last_error      text
);

CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_done ON mail_outbox (coalesce(sent_at, failed_at)) WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON mail_outbox TO $tenant_role$;
