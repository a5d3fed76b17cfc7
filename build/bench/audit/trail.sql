-- Bench only (build/bench/audit.sh verify): appends N records to a tenant's audit chain as the trail itself would seal
-- them (customer creations stored as row images, hashed with monolith.audit_content, positions from the chain's head),
-- 10,000 per INSERT, much faster than going through the triggers one commit at a time.
-- usage (psql, superuser): \i trail.sql  then  SELECT pg_temp.append_trail('schema', 1000000);
CREATE FUNCTION pg_temp.append_trail(schema text, n integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    pos bigint;
    head bytea;
    k integer := 0;
    seqs bigint[]; ids uuid[]; ats timestamptz[]; entities text[]; requests text[]; all_changes jsonb[]; prevs bytea[]; hashes bytea[];
    e_id uuid;
    e_at timestamptz;
    c jsonb;
BEGIN
    EXECUTE format('SELECT seq, hash FROM %I.audit_chain_head FOR UPDATE', schema) INTO pos, head;
    FOR i IN 1 .. n LOOP
        k := k + 1;
        e_id := gen_random_uuid();
        e_at := clock_timestamp();
        c := jsonb_build_object('@new', jsonb_build_object('id', e_id, 'name', 'Customer ' || i, 'legal_name', 'Customer ' || i || ' Ltd',
                                 'email', 'c' || i || '@bench.test', 'phone', '+41446681800', 'status', 'active', 'created_at', e_at, 'updated_at', e_at));
        pos := pos + 1;
        seqs[k] := pos; ids[k] := e_id; ats[k] := e_at; entities[k] := e_id::text; requests[k] := 'bench-' || i; all_changes[k] := c;
        prevs[k] := head;
        head := sha256(coalesce(head, '\x'::bytea) || monolith.audit_content(e_id, e_at, 'create', 'customer', e_id::text, 'user', NULL,
                                                                             'owner@bench.test', 'bench-' || i, c));
        hashes[k] := head;
        IF k = 10000 OR i = n THEN
            EXECUTE format('INSERT INTO %I.audit_events (seq, id, occurred_at, action, entity_type, entity_id, actor_kind, actor_email, request_id,
                                                         changes, prev_hash, hash)
                            SELECT s, i, a, ''create'', ''customer'', e, ''user'', ''owner@bench.test'', r, c, p, h
                            FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) AS u(s, i, a, e, r, c, p, h)', schema)
            USING seqs, ids, ats, entities, requests, all_changes, prevs, hashes;
            k := 0;
            seqs := '{}'; ids := '{}'; ats := '{}'; entities := '{}'; requests := '{}'; all_changes := '{}'; prevs := '{}'; hashes := '{}';
        END IF;
    END LOOP;
    EXECUTE format('UPDATE %I.audit_chain_head SET seq = $1, hash = $2, prev_hash = NULL', schema) USING pos, head;
    RETURN pos;
END
$$;
