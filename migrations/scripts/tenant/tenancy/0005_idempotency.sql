-- Idempotency-Key on POST (CONTRACT §2): the first successful response to a key, replayed for 24 hours to the
-- same caller sending the same request; another request under the same key is refused (422).
-- Written in the transaction of the creation it records (Monolith.Tenancy.Idempotency). Not audited: it is a
-- cache of responses whose changes the audit trail already holds through the entities themselves.
CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,  -- who sent it: the user id, or the actor kind for non-users
    key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    fingerprint  bytea       NOT NULL,  -- sha256 of method, route, and the request body as bound
    status_code  integer     NOT NULL,
    content_type text,
    location     text,
    etag         text,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- Purging expired keys.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

GRANT SELECT, INSERT, DELETE ON idempotency_keys TO $tenant_role$;
