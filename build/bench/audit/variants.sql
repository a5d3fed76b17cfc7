-- Prototypes of the ways to build the audit chain that issue 11 asks to measure against each other
-- (docs/adr/0032-audit-chain-sealed-at-commit.md). Bench only: build/bench/audit.sh loads this file as the
-- superuser into its throwaway cluster and points one bench tenant's audit triggers at each variant:
--
--   lock         the trail before issue 11 (tenant script 0002), rebuilt in the tenant's schema: a per-schema plpgsql
--                function, the per-column diff loop, the chain's advisory lock taken by the first audited row and held
--                to commit
--   seal_diff    sealing at commit: deferred constraint row triggers, the chain lock (advisory) taken only at commit; a
--                shared SECURITY DEFINER function, tables through TG_TABLE_SCHEMA (EXECUTE), the changes diffed per
--                record with a set-based query
--   shipped      what tenant script 0010 installs: sealing at commit through the head row, row images instead of a
--                diff (the reader diffs), two static statements whose plans serve every record of a request
--                (monolith.audit_row_change, platform script 0010)
--   execute      `shipped` with the record appended by EXECUTE format('%I.audit_events', TG_TABLE_SCHEMA) per record and
--                its fields as separate plpgsql expressions (the first version of the shipped function)
--   async        writers insert unsealed records (row images), no lock at all; a sealer chains committed records in
--                batches in a commit-safe order (transactions below the snapshot's xmin horizon only)
--   stmt         statement-level triggers with transition tables: one call per statement, set-based diff, the chain lock
--                as before (taken at the first audited statement, held to commit)
--
-- Everything lives in schema bench_variants; bench_variants.apply(schema, variant) re-points a tenant's triggers.
CREATE SCHEMA bench_variants;

CREATE FUNCTION bench_variants.content(id uuid, occurred_at timestamptz, action text, entity_type text, entity_id text,
    actor_kind text, actor_id uuid, actor_email text, request_id text, changes jsonb) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT convert_to(concat_ws('|',
        id::text, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), action, entity_type, entity_id,
        actor_kind, coalesce(actor_id::text, ''), coalesce(actor_email, ''), coalesce(request_id, ''), changes::text), 'UTF8')
$$;

CREATE FUNCTION bench_variants.uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

-- The stored change of `async` (as `shipped` stores it): the row images without their sensitive columns, and which
-- sensitive columns changed. Only C-level jsonb operators unless the table has sensitive columns.
CREATE FUNCTION bench_variants.images(op text, old_row jsonb, new_row jsonb, sensitive text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE op WHEN 'INSERT' THEN jsonb_build_object('@new', new_row - sensitive)
                   WHEN 'DELETE' THEN jsonb_build_object('@old', old_row - sensitive)
                   ELSE jsonb_build_object('@old', old_row - sensitive, '@new', new_row - sensitive) END
$$;

-- seal_diff --------------------------------------------------------------------------------------------------------
CREATE FUNCTION bench_variants.append_diff(schema text, entity_type text, key_column text, sensitive text[], op text, old_row jsonb, new_row jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changes jsonb;
    head_seq bigint;
    head bytea;
    e_id uuid := bench_variants.uuid_v7();
    e_at timestamptz;
    e_entity text := coalesce(new_row, old_row) ->> key_column;
    e_kind text := coalesce(nullif(current_setting('monolith.actor_kind', true), ''), 'database');
    e_actor uuid := nullif(current_setting('monolith.actor_id', true), '')::uuid;
    e_email text := nullif(current_setting('monolith.actor_email', true), '');
    e_request text := nullif(current_setting('monolith.request_id', true), '');
BEGIN
    SELECT jsonb_object_agg(c.k, CASE WHEN c.k = ANY (sensitive) THEN '{"redacted": true}'::jsonb ELSE jsonb_build_object('old', c.o, 'new', c.n) END)
    INTO changes
    FROM (SELECT k, old_row -> k AS o, new_row -> k AS n FROM jsonb_object_keys(coalesce(new_row, old_row)) k) c
    WHERE op <> 'UPDATE' OR c.o IS DISTINCT FROM c.n;
    IF changes IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('monolith.audit.' || schema, 0));
    EXECUTE format('SELECT seq, hash FROM %I.audit_events ORDER BY seq DESC LIMIT 1', schema) INTO head_seq, head;
    e_at := clock_timestamp();
    EXECUTE format('INSERT INTO %I.audit_events (seq, id, occurred_at, action, entity_type, entity_id, actor_kind, actor_id, actor_email,
                    request_id, changes, prev_hash, hash) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)', schema)
    USING coalesce(head_seq, 0) + 1, e_id, e_at, CASE op WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END, entity_type, e_entity, e_kind, e_actor, e_email, e_request, changes, head,
          sha256(coalesce(head, ''::bytea) || bench_variants.content(e_id, e_at, CASE op WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END, entity_type, e_entity, e_kind, e_actor, e_email, e_request, changes));
END
$$;

CREATE FUNCTION bench_variants.seal_diff_row() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM bench_variants.append_diff(TG_TABLE_SCHEMA, TG_ARGV[0], TG_ARGV[1], TG_ARGV[2:], TG_OP, to_jsonb(OLD), to_jsonb(NEW));
    RETURN NULL;
END
$$;

-- lock: the trail of tenant script 0002, rebuilt in the tenant's schema (its functions were moved out by script 0010).
CREATE FUNCTION bench_variants.old_trail(schema text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($f$
        CREATE FUNCTION %1$I.uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $b$
            SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
        $b$;
        CREATE FUNCTION %1$I.audit_content(e %1$I.audit_events) RETURNS bytea LANGUAGE sql IMMUTABLE AS $b$
            SELECT convert_to(concat_ws('|',
                e.id::text, to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), e.action, e.entity_type, e.entity_id,
                e.actor_kind, coalesce(e.actor_id::text, ''), coalesce(e.actor_email, ''), coalesce(e.request_id, ''), e.changes::text), 'UTF8')
        $b$;
        CREATE FUNCTION %1$I.audit_row_change() RETURNS trigger LANGUAGE plpgsql SET search_path = %1$I AS $b$
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
                RETURN NULL;
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
            event.hash := sha256(coalesce(event.prev_hash, ''::bytea) || audit_content(event));
            INSERT INTO audit_events (id, occurred_at, action, entity_type, entity_id, actor_kind, actor_id, actor_email, request_id, changes, prev_hash, hash)
            VALUES (event.id, event.occurred_at, event.action, event.entity_type, event.entity_id, event.actor_kind, event.actor_id,
                    event.actor_email, event.request_id, event.changes, event.prev_hash, event.hash);
            RETURN NULL;
        END
        $b$;
        $f$, schema);
    EXECUTE format('GRANT INSERT ON %I.audit_events TO %I', schema, (SELECT role_name FROM platform.tenants WHERE schema_name = schema));
END
$$;

-- async: the writer inserts an unsealed record (row images, its top-level transaction id), no lock at all -----------
CREATE FUNCTION bench_variants.async_row() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND to_jsonb(OLD) = to_jsonb(NEW) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('INSERT INTO %I.audit_events (id, occurred_at, action, entity_type, entity_id, actor_kind, actor_id, actor_email,
                    request_id, changes, xid) VALUES ($1, clock_timestamp(), $2, $3, $4, $5, $6, $7, $8, $9, pg_current_xact_id())', TG_TABLE_SCHEMA)
    USING bench_variants.uuid_v7(), CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END, TG_ARGV[0], coalesce(to_jsonb(NEW), to_jsonb(OLD)) ->> TG_ARGV[1],
          coalesce(nullif(current_setting('monolith.actor_kind', true), ''), 'database'),
          nullif(current_setting('monolith.actor_id', true), '')::uuid, nullif(current_setting('monolith.actor_email', true), ''),
          nullif(current_setting('monolith.request_id', true), ''), bench_variants.images(TG_OP, to_jsonb(OLD), to_jsonb(NEW), TG_ARGV[2:]);
    RETURN NULL;
END
$$;

-- The sealer: chains, in (xid, seq) order, the records of every transaction below the snapshot's xmin horizon that the
-- previous run had not reached. Those transactions have all ended, so no record can later appear below the horizon
-- (a sequence value is not commit order; the horizon is). One run per tenant at a time (try-lock). Returns records sealed.
CREATE FUNCTION bench_variants.seal(schema text) RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
    since xid8;
    pos bigint;
    head bytea;
    r record;
    sealed bigint := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('monolith.audit.seal.' || schema, 0)) THEN
        RETURN 0;
    END IF;
    EXECUTE format('SELECT horizon, position, hash FROM %I.audit_seal_state', schema) INTO since, pos, head;
    FOR r IN EXECUTE format('SELECT e.seq, e.id, e.occurred_at, e.action, e.entity_type, e.entity_id, e.actor_kind, e.actor_id, e.actor_email,
                                    e.request_id, e.changes FROM %I.audit_events e WHERE e.xid >= $1 AND e.xid < $2 ORDER BY e.xid, e.seq', schema)
             USING since, horizon LOOP
        pos := pos + 1;
        head := sha256(coalesce(head, ''::bytea) || bench_variants.content(r.id, r.occurred_at, r.action, r.entity_type, r.entity_id,
                                                                             r.actor_kind, r.actor_id, r.actor_email, r.request_id, r.changes));
        EXECUTE format('INSERT INTO %I.audit_chain (position, seq, hash) VALUES ($1, $2, $3)', schema) USING pos, r.seq, head;
        sealed := sealed + 1;
    END LOOP;
    EXECUTE format('UPDATE %I.audit_seal_state SET horizon = $1, position = $2, hash = $3', schema) USING horizon, pos, head;
    RETURN sealed;
END
$$;

-- stmt: one call per statement, records built set-based from the transition tables; the chain lock as today -------
CREATE FUNCTION bench_variants.stmt() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    schema text := TG_TABLE_SCHEMA;
    key_column text := TG_ARGV[1];
    head_seq bigint;
    head bytea;
    r record;
    seqs bigint[] := '{}'; ids uuid[] := '{}'; ats timestamptz[] := '{}'; entities text[] := '{}'; all_changes jsonb[] := '{}';
    prevs bytea[] := '{}'; hashes bytea[] := '{}';
    e_action text := CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END;
    e_kind text := coalesce(nullif(current_setting('monolith.actor_kind', true), ''), 'database');
    e_actor uuid := nullif(current_setting('monolith.actor_id', true), '')::uuid;
    e_email text := nullif(current_setting('monolith.actor_email', true), '');
    e_request text := nullif(current_setting('monolith.request_id', true), '');
    e_id uuid;
    e_at timestamptz;
    rows_sql text;
BEGIN
    rows_sql := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT NULL::jsonb AS o, to_jsonb(n) AS n FROM new_rows n'
        WHEN 'DELETE' THEN 'SELECT to_jsonb(o) AS o, NULL::jsonb AS n FROM old_rows o'
        ELSE format('SELECT to_jsonb(o) AS o, to_jsonb(n) AS n FROM old_rows o JOIN new_rows n ON to_jsonb(o) -> %L = to_jsonb(n) -> %L', key_column, key_column)
    END;
    FOR r IN EXECUTE format(
        $q$SELECT coalesce(x.n, x.o) ->> %L AS entity,
                  (SELECT jsonb_object_agg(c.k, CASE WHEN c.k = ANY ($1) THEN '{"redacted": true}'::jsonb ELSE jsonb_build_object('old', c.o, 'new', c.n) END)
                   FROM (SELECT k, x.o -> k AS o, x.n -> k AS n FROM jsonb_object_keys(coalesce(x.n, x.o)) k) c
                   WHERE %L <> 'UPDATE' OR c.o IS DISTINCT FROM c.n) AS changes
           FROM (%s) x$q$, key_column, TG_OP, rows_sql)
             USING TG_ARGV[2:] LOOP
        CONTINUE WHEN r.changes IS NULL;
        IF head_seq IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtextextended('monolith.audit.' || schema, 0));
            EXECUTE format('SELECT seq, hash FROM %I.audit_events ORDER BY seq DESC LIMIT 1', schema) INTO head_seq, head;
            head_seq := coalesce(head_seq, 0);
        END IF;
        e_id := bench_variants.uuid_v7();
        e_at := clock_timestamp();
        head_seq := head_seq + 1;
        prevs := prevs || head;
        head := sha256(coalesce(head, ''::bytea) || bench_variants.content(e_id, e_at, e_action, TG_ARGV[0], r.entity, e_kind, e_actor, e_email, e_request, r.changes));
        seqs := seqs || head_seq; ids := ids || e_id; ats := ats || e_at; entities := entities || r.entity;
        all_changes := all_changes || r.changes; hashes := hashes || head;
    END LOOP;
    IF cardinality(seqs) > 0 THEN
        EXECUTE format('INSERT INTO %I.audit_events (seq, id, occurred_at, action, entity_type, entity_id, actor_kind, actor_id, actor_email,
                        request_id, changes, prev_hash, hash) OVERRIDING SYSTEM VALUE
                        SELECT s, i, a, $4, $5, e, $6, $7, $8, $9, c, p, h FROM unnest($1::bigint[], $2::uuid[], $3::timestamptz[], $10::text[],
                        $11::jsonb[], $12::bytea[], $13::bytea[]) AS u(s, i, a, e, c, p, h)', schema)
        USING seqs, ids, ats, e_action, TG_ARGV[0], e_kind, e_actor, e_email, e_request, entities, all_changes, prevs, hashes;
    END IF;
    RETURN NULL;
END
$$;

-- Re-points the audit triggers of one tenant schema at a variant. Trigger arguments are kept; for 'async' the trail
-- gets its extra columns and tables; 'off' disables the triggers.
CREATE FUNCTION bench_variants.apply(schema text, variant text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t record;
    events text;
    fn text;
BEGIN
    IF variant = 'shipped' THEN
        RETURN; -- as provisioned
    END IF;
    IF variant IN ('lock', 'async') THEN
        -- writers that do not choose the position: an identity again, continuing after the newest record
        EXECUTE format('ALTER TABLE %I.audit_events ALTER COLUMN seq ADD GENERATED BY DEFAULT AS IDENTITY', schema);
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''seq''), (SELECT coalesce(max(seq), 0) + 1 FROM %I.audit_events), false)',
                       quote_ident(schema) || '.audit_events', schema);
    END IF;
    IF variant = 'lock' THEN
        PERFORM bench_variants.old_trail(schema);
    END IF;
    FOR t IN SELECT c.relname, pg_get_triggerdef(tg.oid) AS def,
                    (SELECT string_agg(quote_literal(a), ', ') FROM unnest(string_to_array(rtrim(encode(tg.tgargs, 'escape'), '\000'), '\000')) a) AS args
             FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = schema AND tg.tgname = 'audit' AND NOT tg.tgisinternal LOOP
        -- INSERT OR UPDATE [OF cols] OR DELETE, from the original trigger (a constraint trigger's definition says DEFERRABLE after ON)
        events := substring(t.def FROM 'AFTER (.*) ON \S+ ');
        IF variant = 'off' THEN
            EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER audit', schema, t.relname);
            CONTINUE;
        END IF;
        EXECUTE format('DROP TRIGGER audit ON %I.%I', schema, t.relname);
        IF variant = 'lock' THEN
            EXECUTE format('CREATE TRIGGER audit AFTER %s ON %I.%I FOR EACH ROW EXECUTE FUNCTION %I.audit_row_change(%s)', events, schema, t.relname, schema, t.args);
        ELSIF variant = 'execute' THEN
            EXECUTE format('CREATE CONSTRAINT TRIGGER audit AFTER %s ON %I.%I DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bench_variants.%I(%s)',
                           events, schema, t.relname, 'execute_row', t.args);
        ELSIF variant = 'seal_diff' THEN
            EXECUTE format('CREATE CONSTRAINT TRIGGER audit AFTER %s ON %I.%I DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bench_variants.seal_diff_row(%s)',
                           events, schema, t.relname, t.args);
        ELSIF variant = 'async' THEN
            EXECUTE format('CREATE TRIGGER audit AFTER %s ON %I.%I FOR EACH ROW EXECUTE FUNCTION bench_variants.async_row(%s)', events, schema, t.relname, t.args);
        ELSIF variant = 'stmt' THEN
            -- transition tables allow neither several events per trigger nor column lists
            EXECUTE format('CREATE TRIGGER audit AFTER INSERT ON %I.%I REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bench_variants.stmt(%s)',
                           schema, t.relname, t.args);
            EXECUTE format('CREATE TRIGGER audit_u AFTER UPDATE ON %I.%I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bench_variants.stmt(%s)',
                           schema, t.relname, t.args);
            EXECUTE format('CREATE TRIGGER audit_d AFTER DELETE ON %I.%I REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION bench_variants.stmt(%s)',
                           schema, t.relname, t.args);
        ELSE
            RAISE EXCEPTION 'unknown variant %', variant;
        END IF;
    END LOOP;
    IF variant = 'async' THEN
        EXECUTE format('ALTER TABLE %I.audit_events ALTER COLUMN hash DROP NOT NULL, ADD COLUMN xid xid8', schema);
        EXECUTE format('CREATE INDEX ON %I.audit_events (xid)', schema);
        EXECUTE format('CREATE TABLE %I.audit_chain (position bigint PRIMARY KEY, seq bigint NOT NULL, hash bytea NOT NULL)', schema);
        EXECUTE format('CREATE TABLE %I.audit_seal_state (horizon xid8 NOT NULL, position bigint NOT NULL, hash bytea)', schema);
        EXECUTE format('INSERT INTO %I.audit_seal_state VALUES (pg_snapshot_xmin(pg_current_snapshot()), 0, NULL)', schema);
    END IF;
END
$$;

-- execute: what `shipped` is, with the record appended by EXECUTE format('%I.audit_events') per record (parsed and
-- planned every time) and its fields as separate plpgsql expressions.
CREATE FUNCTION bench_variants.execute_record(schema text, op text, args text[], old_row jsonb, new_row jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    base integer := array_lower(args, 1);
    sensitive text[] := coalesce(args[array_lower(args, 1) + 2 : array_upper(args, 1)], '{}');
    redacted text[];
    changes jsonb;
    id uuid := monolith.uuid_v7();
    occurred timestamptz := clock_timestamp();
    action text := CASE op WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END;
    entity text;
    kind text := coalesce(nullif(current_setting('monolith.actor_kind', true), ''), 'database');
    actor uuid := nullif(current_setting('monolith.actor_id', true), '')::uuid;
    email text := nullif(current_setting('monolith.actor_email', true), '');
    request text := nullif(current_setting('monolith.request_id', true), '');
    written integer;
BEGIN
    IF op = 'UPDATE' AND old_row = new_row THEN
        RETURN; -- nothing changed
    END IF;
    entity := coalesce(new_row, old_row) ->> args[base + 1];
    IF cardinality(sensitive) > 0 THEN
        -- recorded as changed, never with their values
        redacted := CASE op WHEN 'UPDATE' THEN ARRAY(SELECT c FROM unnest(sensitive) c WHERE old_row -> c IS DISTINCT FROM new_row -> c)
                            ELSE sensitive END;
        old_row := old_row - sensitive;
        new_row := new_row - sensitive;
    END IF;
    changes := CASE op WHEN 'INSERT' THEN jsonb_build_object('@new', new_row)
                       WHEN 'DELETE' THEN jsonb_build_object('@old', old_row)
                       ELSE jsonb_build_object('@old', old_row, '@new', new_row) END;
    IF cardinality(redacted) > 0 THEN
        changes := changes || jsonb_build_object('@redacted', to_jsonb(redacted));
    END IF;
    EXECUTE format(
        'WITH head AS (UPDATE %1$I.audit_chain_head SET seq = seq + 1, prev_hash = hash, hash = sha256(coalesce(hash, ''\x''::bytea) || $11)
                       WHERE id
                       RETURNING seq, prev_hash, hash)
         INSERT INTO %1$I.audit_events (seq, id, occurred_at, action, entity_type, entity_id, actor_kind, actor_id, actor_email, request_id,
                                        changes, prev_hash, hash)
         SELECT head.seq, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, head.prev_hash, head.hash FROM head
         ON CONFLICT (seq) DO NOTHING', schema)
    USING id, occurred, action, args[base], entity, kind, actor, email, request, changes,
          monolith.audit_content(id, occurred, action, args[base], entity, kind, actor, email, request, changes);
    GET DIAGNOSTICS written = ROW_COUNT;
    IF written <> 1 THEN
        -- No head row (a schema the migrations have not reached), or a record the chain did not write holds the next
        -- position: the change is refused rather than left out of the trail.
        RAISE EXCEPTION 'the audit trail of schema % cannot take a record: no chain head, or a record the chain did not write holds the next position', schema
            USING ERRCODE = 'data_corrupted';
    END IF;
END
$$;

CREATE FUNCTION bench_variants.execute_row() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM bench_variants.execute_record(TG_TABLE_SCHEMA, TG_OP, TG_ARGV, to_jsonb(OLD), to_jsonb(NEW));
    RETURN NULL;
END
$$;
