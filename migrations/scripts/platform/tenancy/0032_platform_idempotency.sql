-- Idempotency-Key on the platform API's POSTs (CONTRACT §2, §4): the first successful response to a key, replayed for
-- 24 hours to the same request; another request under the same key is 422. Like the tenants' idempotency_keys
-- (tenant script 0005); secrets the first answer carried once (a generated owner password) are recorded as null.
CREATE TABLE platform.idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    fingerprint  bytea       NOT NULL,
    status_code  integer     NOT NULL,
    content_type text,
    location     text,
    etag         text,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_created_at ON platform.idempotency_keys (created_at);
