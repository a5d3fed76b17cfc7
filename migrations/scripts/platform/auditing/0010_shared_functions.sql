-- One copy, for every tenant, of the functions each tenant schema used to carry (issue 11, docs/adr/0032): the audit
-- trail's trigger and helpers, the customers' invariant triggers and the toggles' notification triggers. They live in
-- schema `monolith` (a reserved tenant identifier, so never a tenant's schema), owned by the role that runs the
-- migrations. Tenant schemas keep only tables, indexes and triggers; tenant script 0010 moves existing tenants over.
--
-- Rules for every function here:
--   * it finds the tenant's tables through TG_TABLE_SCHEMA (or an argument derived from it, or the catalog), never
--     through the caller's search_path: either EXECUTE format('... %I.table ...', schema), or -- where a cached plan
--     matters (audit_record, customer_has_a_project) -- by pointing its own search_path at that schema for its duration;
--   * it runs with a fixed `SET search_path = pg_catalog, pg_temp` (pg_temp last: a caller's temporary objects never
--     shadow anything);
--   * SECURITY DEFINER only where the tenant role must not hold the privilege itself (writing audit records, the anchor).
CREATE SCHEMA IF NOT EXISTS monolith;
REVOKE ALL ON SCHEMA monolith FROM PUBLIC;
-- Tenant roles get USAGE in tenant script 0010; the functions they may call keep PUBLIC's EXECUTE, the others lose it.

-- Ids ---------------------------------------------------------------------------------------------------------------
CREATE FUNCTION monolith.uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    -- 48-bit unix milliseconds, then random bits from a v4 uuid with its version nibble set to 7.
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;

-- The audit trail -----------------------------------------------------------------------------------------------------
-- The bytes a record's hash covers, in one canonical text form (jsonb prints keys in a fixed order). The same formula
-- as tenant script 0002's audit_content(audit_events), so records written before the move still verify.
CREATE FUNCTION monolith.audit_content(id uuid, occurred_at timestamptz, action text, entity_type text, entity_id text,
    actor_kind text, actor_id uuid, actor_email text, request_id text, changes jsonb) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT convert_to(concat_ws('|',
        id::text, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), action, entity_type, entity_id,
        actor_kind, coalesce(actor_id::text, ''), coalesce(actor_email, ''), coalesce(request_id, ''), changes::text), 'UTF8')
$$;

-- What readers show as a record's changes ({column: {old, new}}, a sensitive column as {redacted: true}), from what the
-- trigger stores. Records written since tenant script 0010 store the row images (`@old`, `@new`: the row without its
-- sensitive columns; `@redacted`: the sensitive columns that changed), which costs the writer no per-column work; the
-- diff is made here, when someone reads. Older records already hold the diff and are returned as they are.
CREATE FUNCTION monolith.audit_changes(stored jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN NOT (stored ? '@old' OR stored ? '@new') THEN stored ELSE (
        SELECT coalesce(jsonb_object_agg(k.key, CASE WHEN k.redacted THEN '{"redacted": true}'::jsonb
                                                     ELSE jsonb_build_object('old', stored -> '@old' -> k.key, 'new', stored -> '@new' -> k.key) END),
                        '{}'::jsonb)
        FROM (SELECT c AS key, false AS redacted
              FROM jsonb_object_keys(coalesce(stored -> '@new', stored -> '@old')) c
              WHERE NOT (stored ? '@old' AND stored ? '@new') OR (stored -> '@old' -> c) IS DISTINCT FROM (stored -> '@new' -> c)
              UNION ALL
              SELECT r, true FROM jsonb_array_elements_text(coalesce(stored -> '@redacted', '[]'::jsonb)) r) k)
    END
$$;

-- Appends one record to the chain of `schema`. Called by audit_row_change (below) only, as the owner: the tenant role
-- has no EXECUTE on it and no INSERT on audit_events.
--   * The chain's head (position, hash) is the one row of <schema>.audit_chain_head. Appending updates it in the same
--     statement that inserts the record: the UPDATE locks the head row until the transaction ends (appenders of one
--     tenant queue there, and only there), and under READ COMMITTED it always works on the newest committed head (a
--     writer waiting for the lock re-reads the row). Under REPEATABLE READ or SERIALIZABLE a concurrent append is a
--     serialization failure (40001) instead of a fork of the chain. Positions (seq) are the head's + 1: gap-free, in
--     commit order.
--   * Cheap to plan, because planning is most of the cost: Npgsql resets a pooled connection with DISCARD ALL, which
--     drops every cached plan, so each request plans what its triggers run once. Two statements, both static: one
--     SELECT computes the record, one statement appends it; their plans then serve every further record of the
--     request (a bulk UPDATE of 5,000 rows plans them once, not 5,000 times).
--   * Static SQL needs the tables' schema: the function points search_path at the trigger's schema (TG_TABLE_SCHEMA,
--     passed by audit_row_change; pg_catalog first, pg_temp last) for its own duration only -- its SET clause restores
--     the fixed path on exit. The caller's search_path is never used, and a plan made for one tenant is re-planned,
--     not reused, when the next call is for another (the plan cache compares search_path). docs/adr/0032 has the
--     measurements against EXECUTE format('%I.audit_events').
CREATE FUNCTION monolith.audit_record(schema text, op text, args text[], old_row jsonb, new_row jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sensitive text[] := args[array_lower(args, 1) + 2 : array_upper(args, 1)];
    redacted text[];
    r record;
    written integer;
BEGIN
    IF op = 'UPDATE' AND old_row = new_row THEN
        RETURN; -- nothing changed
    END IF;
    IF cardinality(sensitive) > 0 THEN
        -- recorded as changed, never with their values
        redacted := CASE op WHEN 'UPDATE' THEN ARRAY(SELECT c FROM unnest(sensitive) c WHERE old_row -> c IS DISTINCT FROM new_row -> c)
                            ELSE sensitive END;
        old_row := old_row - sensitive;
        new_row := new_row - sensitive;
    END IF;
    SELECT e.*, monolith.audit_content(e.id, e.occurred_at, e.action, e.entity_type, e.entity_id, e.actor_kind, e.actor_id, e.actor_email,
                                       e.request_id, e.changes) AS content
    INTO r
    FROM (SELECT monolith.uuid_v7() AS id,
                 clock_timestamp() AS occurred_at,
                 CASE op WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END AS action,
                 args[array_lower(args, 1)] AS entity_type,
                 coalesce(new_row, old_row) ->> args[array_lower(args, 1) + 1] AS entity_id,
                 coalesce(nullif(current_setting('monolith.actor_kind', true), ''), 'database') AS actor_kind,
                 nullif(current_setting('monolith.actor_id', true), '')::uuid AS actor_id,
                 nullif(current_setting('monolith.actor_email', true), '') AS actor_email,
                 nullif(current_setting('monolith.request_id', true), '') AS request_id,
                 CASE op WHEN 'INSERT' THEN jsonb_build_object('@new', new_row)
                         WHEN 'DELETE' THEN jsonb_build_object('@old', old_row)
                         ELSE jsonb_build_object('@old', old_row, '@new', new_row) END
                 || CASE WHEN cardinality(redacted) > 0 THEN jsonb_build_object('@redacted', to_jsonb(redacted)) ELSE '{}'::jsonb END AS changes) e;

    PERFORM set_config('search_path', 'pg_catalog, ' || quote_ident(schema) || ', pg_temp', true);
    WITH head AS (
        UPDATE audit_chain_head h SET seq = h.seq + 1, prev_hash = h.hash, hash = sha256(coalesce(h.hash, '\x'::bytea) || r.content)
        WHERE h.id
        RETURNING h.seq, h.prev_hash, h.hash
    )
    INSERT INTO audit_events (seq, id, occurred_at, action, entity_type, entity_id, actor_kind, actor_id, actor_email, request_id, changes,
                              prev_hash, hash)
    SELECT head.seq, r.id, r.occurred_at, r.action, r.entity_type, r.entity_id, r.actor_kind, r.actor_id, r.actor_email, r.request_id,
           r.changes, head.prev_hash, head.hash
    FROM head
    ON CONFLICT (seq) DO NOTHING;
    GET DIAGNOSTICS written = ROW_COUNT;
    IF written <> 1 THEN
        -- No head row (a schema the migrations have not reached), or a record the chain did not write holds the next
        -- position: the change is refused rather than left out of the trail.
        RAISE EXCEPTION 'the audit trail of schema % cannot take a record: no chain head, or a record the chain did not write holds the next position', schema
            USING ERRCODE = 'data_corrupted';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION monolith.audit_record(text, text, text[], jsonb, jsonb) FROM PUBLIC;

-- The audit trigger: AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW, as a DEFERRABLE INITIALLY DEFERRED constraint
-- trigger, so records are sealed at commit and the head row is locked only from then to the end of the commit.
-- Arguments: entity type, key column, sensitive columns... SECURITY DEFINER: the tenant role fires it (firing needs no
-- privilege on the function) but cannot call it, attach it to a table, or write audit records any other way.
-- Deliberately tiny: plpgsql compiles a trigger function once per trigger (per tenant table) in every backend; the work
-- is in audit_record, compiled once per backend.
CREATE FUNCTION monolith.audit_row_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM monolith.audit_record(TG_TABLE_SCHEMA, TG_OP, TG_ARGV, to_jsonb(OLD), to_jsonb(NEW));
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION monolith.audit_row_change() FROM PUBLIC;

-- The anchor: each tenant's chain head (position and hash) kept outside the tenant's schema, where the tenant role
-- cannot reach it. Moved forward by the anchoring job (Auditing:AnchorSeconds) and by every verify; never moved when the
-- trail no longer holds the anchored record with the anchored hash, so a cut or rewritten trail stays detectable.
CREATE TABLE platform.audit_anchors (
    tenant_id   uuid        PRIMARY KEY REFERENCES platform.tenants (id) ON DELETE CASCADE,
    seq         bigint      NOT NULL,
    hash        bytea,
    anchored_at timestamptz NOT NULL
);

-- Moves the anchor of one tenant to its chain head, if the trail still agrees with the anchor. Owner only.
-- Returns the anchor as it stands afterwards.
CREATE FUNCTION monolith.audit_anchor_schema(tenant uuid, schema text)
RETURNS TABLE (anchored_seq bigint, anchored_hash bytea, anchored_at timestamptz, head_seq bigint, head_hash bytea)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    anchor platform.audit_anchors;
    kept boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('monolith.audit.anchor.' || tenant::text, 0));
    EXECUTE format('SELECT h.seq, h.hash FROM %I.audit_chain_head h WHERE h.id', schema) INTO head_seq, head_hash;
    SELECT * INTO anchor FROM platform.audit_anchors a WHERE a.tenant_id = tenant;
    IF anchor.tenant_id IS NULL THEN
        INSERT INTO platform.audit_anchors (tenant_id, seq, hash, anchored_at) VALUES (tenant, head_seq, head_hash, clock_timestamp())
        RETURNING * INTO anchor;
    ELSIF head_seq > anchor.seq THEN
        -- The anchored record is still there with its hash, or retention removed it (and anchored it or a later one).
        EXECUTE format('SELECT $1 = 0
                               OR EXISTS (SELECT 1 FROM %1$I.audit_events e WHERE e.seq = $1 AND e.hash = $2)
                               OR EXISTS (SELECT 1 FROM %1$I.audit_chain_anchor c WHERE c.last_seq > $1 OR (c.last_seq = $1 AND c.last_hash = $2))', schema)
        INTO kept USING anchor.seq, anchor.hash;
        IF kept THEN
            UPDATE platform.audit_anchors a SET seq = head_seq, hash = head_hash, anchored_at = clock_timestamp()
            WHERE a.tenant_id = tenant RETURNING * INTO anchor;
        END IF;
    END IF;
    anchored_seq := anchor.seq;
    anchored_hash := anchor.hash;
    anchored_at := anchor.anchored_at;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION monolith.audit_anchor_schema(uuid, text) FROM PUBLIC;

-- The anchoring job (owner): every live tenant whose head moved. A tenant that fails (its schema is being removed, or
-- not yet migrated) is skipped; the others go on. Returns how many anchors moved.
CREATE FUNCTION monolith.audit_anchor_all() RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
    moved integer := 0;
    before bigint;
    after bigint;
BEGIN
    FOR t IN SELECT id, schema_name FROM platform.tenants WHERE status IN ('active', 'suspended') ORDER BY id LOOP
        BEGIN
            SELECT a.seq INTO before FROM platform.audit_anchors a WHERE a.tenant_id = t.id;
            SELECT x.anchored_seq INTO after FROM monolith.audit_anchor_schema(t.id, t.schema_name) x;
            IF after IS DISTINCT FROM before THEN
                moved := moved + 1;
            END IF;
        EXCEPTION WHEN undefined_table OR invalid_schema_name THEN
            NULL;
        END;
    END LOOP;
    RETURN moved;
END
$$;
REVOKE ALL ON FUNCTION monolith.audit_anchor_all() FROM PUBLIC;

-- For GET /audit-events/verify on the tenant's own connection: anchors the caller's trail and returns the anchor. The
-- tenant comes from the role the session has switched to (SET ROLE / set_config('role')), which only a member of that
-- role can set, looked up in the catalog; never from an argument or the search_path.
CREATE FUNCTION monolith.audit_anchor()
RETURNS TABLE (anchored_seq bigint, anchored_hash bytea, anchored_at timestamptz, head_seq bigint, head_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tenant record;
BEGIN
    SELECT t.id, t.schema_name INTO tenant FROM platform.tenants t WHERE t.role_name = current_setting('role');
    IF tenant.id IS NULL THEN
        RAISE EXCEPTION 'only a tenant''s role can anchor its audit trail' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT * FROM monolith.audit_anchor_schema(tenant.id, tenant.schema_name);
END
$$;

-- Customers (module Customers): a customer always has at least one project, held at commit by deferred constraint
-- triggers for every path (CLI, jobs, SQL). Invoker's rights: they read the tenant's own tables as the tenant.
CREATE FUNCTION monolith.customer_has_a_project(schema text, customer uuid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    violated boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %1$I.customers c WHERE c.id = $1)
                       AND NOT EXISTS (SELECT 1 FROM %1$I.projects p WHERE p.customer_id = $1)', schema)
    INTO violated USING customer;
    IF violated THEN
        RAISE EXCEPTION 'customer % has no project', customer
            USING ERRCODE = 'check_violation', CONSTRAINT = 'customer_keeps_a_project';
    END IF;
END
$$;

CREATE FUNCTION monolith.customer_created_with_a_project() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM monolith.customer_has_a_project(TG_TABLE_SCHEMA, NEW.id);
    RETURN NULL;
END
$$;

CREATE FUNCTION monolith.customer_keeps_a_project() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM monolith.customer_has_a_project(TG_TABLE_SCHEMA, OLD.customer_id);
    RETURN NULL;
END
$$;

-- Feature toggles (module Toggles): the version bump and the notifications, as tenant script 0006 had them.
CREATE FUNCTION monolith.feature_toggles_bump_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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

CREATE FUNCTION monolith.feature_toggles_notify() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_notify('monolith_toggles', TG_TABLE_SCHEMA || ':' || COALESCE(NEW.key, OLD.key));
    RETURN NULL;
END
$$;

CREATE FUNCTION monolith.feature_toggles_setting_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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

-- Identity (module Access, tenant script 0020): the access change signal, as that script has it.
CREATE FUNCTION monolith.access_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    user_id text := '*';
    session_id text := '*';
BEGIN
    EXECUTE format('INSERT INTO %I.access_state AS a (id, version) VALUES (true, 1) ON CONFLICT (id) DO UPDATE SET version = a.version + 1',
                   TG_TABLE_SCHEMA);
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

-- Moves one tenant schema onto the functions above: every trigger that runs a function of the schema which has a
-- namesake here now runs the shared one (same name, timing, events, columns, condition and arguments); an audit trigger
-- becomes a DEFERRABLE INITIALLY DEFERRED constraint trigger (sealed at commit); then the schema's copies of those
-- functions are dropped. Idempotent; does nothing before tenant script 0010 has made the chain's head. Run by that
-- script and after every tenant migration (DbUpRunner), so a later tenant script that still creates its own copy of one
-- of them is moved over too. Owner only.
CREATE FUNCTION monolith.adopt_shared_functions(schema text) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
    f record;
    definition text;
    moved integer := 0;
BEGIN
    IF to_regclass(quote_ident(schema) || '.audit_chain_head') IS NULL THEN
        RETURN 0; -- tenant script 0010 has not run here yet: the old trail still needs its own functions
    END IF;
    FOR t IN
        SELECT tg.tgname, c.relname, p.proname, tg.tgconstraint <> 0 AS is_constraint, pg_get_triggerdef(tg.oid) AS def
        FROM pg_trigger tg
        JOIN pg_class c ON c.oid = tg.tgrelid
        JOIN pg_proc p ON p.oid = tg.tgfoid
        WHERE c.relnamespace = schema::regnamespace
          AND p.pronamespace = schema::regnamespace
          AND NOT tg.tgisinternal
          AND EXISTS (SELECT 1 FROM pg_proc s WHERE s.pronamespace = 'monolith'::regnamespace AND s.proname = p.proname
                                                AND s.prorettype = 'trigger'::regtype)
        ORDER BY c.relname, tg.tgname
    LOOP
        definition := regexp_replace(t.def, 'EXECUTE FUNCTION [^\s(]+\(', 'EXECUTE FUNCTION monolith.' || quote_ident(t.proname) || '(');
        IF t.proname = 'audit_row_change' AND NOT t.is_constraint THEN
            definition := regexp_replace(definition, '^CREATE TRIGGER (\S+) AFTER (.*) ON (\S+) FOR EACH ROW ',
                                         'CREATE CONSTRAINT TRIGGER \1 AFTER \2 ON \3 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW ');
            IF definition NOT LIKE 'CREATE CONSTRAINT TRIGGER %' THEN
                RAISE EXCEPTION 'audit trigger % on %.% is not an AFTER ... FOR EACH ROW trigger: %', t.tgname, schema, t.relname, t.def;
            END IF;
        END IF;
        EXECUTE format('DROP TRIGGER %I ON %I.%I', t.tgname, schema, t.relname);
        EXECUTE definition;
        moved := moved + 1;
    END LOOP;

    FOR f IN
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
        FROM pg_proc p
        WHERE p.pronamespace = schema::regnamespace
          AND EXISTS (SELECT 1 FROM pg_proc s WHERE s.pronamespace = 'monolith'::regnamespace AND s.proname = p.proname)
    LOOP
        EXECUTE format('DROP FUNCTION %I.%I(%s)', schema, f.proname, f.args);
    END LOOP;
    RETURN moved;
END
$$;
REVOKE ALL ON FUNCTION monolith.adopt_shared_functions(text) FROM PUBLIC;
