-- Customers, their projects and warehouses, and which warehouses serve which project (CONTRACT §5).
-- Invariants held by the database as well as by the API:
--   * e-mail is unique per tenant ignoring case (customers_email_unique, named in the API's 409);
--   * a project's code is unique within its customer ignoring case (projects_code_unique);
--   * an assignment links a project and a warehouse of the same customer (composite foreign keys);
--   * deleting a customer removes its projects, warehouses and assignments (ON DELETE CASCADE, audited
--     row by row by the trigger, in the deleting transaction);
--   * a customer always has at least one project (deferred constraint triggers, checked at commit).
-- Every list the API serves has a btree index matching its filter and keyset order; see docs/api/customers.md.

CREATE TABLE customers (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    legal_name text        CHECK (char_length(legal_name) <= 200),
    email      text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    phone      text        CHECK (phone ~ '^\+[1-9][0-9]{1,14}$'),
    status     text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX customers_email_unique ON customers (lower(email));
-- Keyset orders (sort=name|-name|createdAt|-createdAt), without and with ?status=.
CREATE INDEX customers_name_id ON customers (name, id);
CREATE INDEX customers_created_id ON customers (created_at, id);
CREATE INDEX customers_status_name_id ON customers (status, name, id);
CREATE INDEX customers_status_created_id ON customers (status, created_at, id);

CREATE TABLE projects (
    id          uuid        PRIMARY KEY,
    customer_id uuid        NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    code        text        CHECK (char_length(code) BETWEEN 1 AND 50),
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Target of the assignments' composite key; also serves "projects of a customer" in id (= creation) order.
    CONSTRAINT projects_customer_id_id UNIQUE (customer_id, id)
);

CREATE UNIQUE INDEX projects_code_unique ON projects (customer_id, lower(code)) WHERE code IS NOT NULL;

CREATE TABLE warehouses (
    id          uuid        PRIMARY KEY,
    customer_id uuid        NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    address     text        NOT NULL CHECK (char_length(address) BETWEEN 1 AND 500),
    country     text        NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    capacity    integer     NOT NULL CHECK (capacity >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT warehouses_customer_id_id UNIQUE (customer_id, id)
);

CREATE TABLE project_warehouses (
    project_id   uuid        NOT NULL,
    warehouse_id uuid        NOT NULL,
    customer_id  uuid        NOT NULL,
    assigned_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, warehouse_id),
    -- Both ends belong to the same customer: a warehouse of another customer cannot be linked.
    CONSTRAINT project_warehouses_project FOREIGN KEY (customer_id, project_id)
        REFERENCES projects (customer_id, id) ON DELETE CASCADE,
    CONSTRAINT project_warehouses_warehouse FOREIGN KEY (customer_id, warehouse_id)
        REFERENCES warehouses (customer_id, id) ON DELETE CASCADE
);

-- Cascade from a deleted warehouse (and "which projects use this warehouse").
CREATE INDEX project_warehouses_warehouse ON project_warehouses (warehouse_id, project_id);

-- "name or e-mail contains q, ignoring case": trigram GIN indexes when pg_trgm can be had. pg_trgm ships with
-- PostgreSQL's contrib (the Debian packages and the postgres:15 image) and is a trusted extension, so the
-- database owner may create it. It lives in the public schema, which tenant roles cannot use: only the
-- index definitions name its operator class. Concurrent tenant migrations serialize on an advisory lock.
-- Without pg_trgm the same queries run unindexed (correct, slower); the migration does not fail.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('monolith.extension.pg_trgm', 0));
        IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
            CREATE EXTENSION pg_trgm WITH SCHEMA public;
        END IF;
        EXECUTE format('CREATE INDEX customers_name_trgm ON %I.customers USING gin (name %I.gin_trgm_ops)',
                       current_schema(), (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'));
        EXECUTE format('CREATE INDEX customers_email_trgm ON %I.customers USING gin (email %I.gin_trgm_ops)',
                       current_schema(), (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'));
    END IF;
END
$$;

-- A customer always has at least one project. The API checks it with the customer row locked (409); these
-- deferred triggers hold it for every other path (CLI, jobs, SQL) at commit time.
CREATE FUNCTION customer_has_a_project(customer uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM customers c WHERE c.id = customer)
       AND NOT EXISTS (SELECT 1 FROM projects p WHERE p.customer_id = customer) THEN
        RAISE EXCEPTION 'customer % has no project', customer
            USING ERRCODE = 'check_violation', CONSTRAINT = 'customer_keeps_a_project';
    END IF;
END
$$;

CREATE FUNCTION customer_created_with_a_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM customer_has_a_project(NEW.id);
    RETURN NULL;
END
$$;

CREATE FUNCTION customer_keeps_a_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM customer_has_a_project(OLD.customer_id);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER customer_created_with_a_project AFTER INSERT ON customers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION customer_created_with_a_project();
CREATE CONSTRAINT TRIGGER customer_keeps_a_project AFTER DELETE OR UPDATE OF customer_id ON projects
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION customer_keeps_a_project();

GRANT SELECT, INSERT, UPDATE, DELETE ON customers, projects, warehouses, project_warehouses TO $tenant_role$;

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('customer', 'id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('project', 'id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON warehouses
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('warehouse', 'id');
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON project_warehouses
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('project_warehouse', 'project_id');
