-- A server-wide copy of each tenant's state versions (docs/adr/0072): the one-row tables whose version a cache compares
-- to learn that it missed a notification (Access's access_state, Toggles' feature_toggle_state). The caches' poll then
-- reads the versions of hundreds of tenants in one statement on this table, instead of one statement per tenant that
-- opens the tenant's table and fills the polling backend's caches with its schema (issue 16).
--
-- A row is keyed by the schema's oid, not its name: a schema dropped and made again under the same name (a tenant moved
-- away and back) starts without a row rather than with the old schema's version. Rows are written by the trigger below
-- only, which tenant scripts attach to each state table, so the copy changes in the transaction that changes the
-- version; tenant roles have no privilege on the table.
CREATE TABLE platform.state_versions (
    schema_oid  oid    NOT NULL,
    state_table name   NOT NULL,
    version     bigint NOT NULL,
    PRIMARY KEY (schema_oid, state_table)
);
REVOKE ALL ON platform.state_versions FROM PUBLIC;

-- AFTER INSERT OR UPDATE OF version ... FOR EACH ROW on a state table. SECURITY DEFINER: the tenant role that changes its
-- state must not be able to write the table itself (it could then write another schema's row). A trigger function cannot
-- be called directly, and only the owner makes triggers, so the row written is always the firing table's schema's.
CREATE FUNCTION monolith.mirror_state_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO platform.state_versions AS m (schema_oid, state_table, version)
    SELECT c.relnamespace, TG_TABLE_NAME, NEW.version FROM pg_class c WHERE c.oid = TG_RELID
    ON CONFLICT (schema_oid, state_table) DO UPDATE SET version = excluded.version;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION monolith.mirror_state_version() FROM PUBLIC;

-- The versions of `state_table` in `schemas` (one row per schema, in order): null for a schema that is gone or whose
-- table has no mirror trigger yet (a tenant not migrated to the script that adds it); the caller forgets those. A schema
-- with the trigger but no row yet (made before the trigger, restored, moved in: a copy carries the trigger, not this
-- table's row) gets its row from its table first. That insert cannot race a change into a wrong value: a change writes
-- its exact version, after or over this one (ON CONFLICT DO NOTHING here, DO UPDATE there). Owner only.
CREATE FUNCTION platform.state_versions_of(state_table name, schemas text[])
RETURNS TABLE (ordinal integer, version bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    missing record;
BEGIN
    -- Rows one at a time only for the rare schema without a copy; the answer is one query (a loop of RETURN NEXT costs
    -- about 20 us a schema, this about 3).
    FOR missing IN
        SELECT o.schema, n.oid AS schema_oid
        FROM unnest(schemas) AS o(schema)
        JOIN pg_namespace n ON n.nspname = o.schema
        WHERE NOT EXISTS (SELECT 1 FROM platform.state_versions m
                          WHERE m.schema_oid = n.oid AND m.state_table = state_versions_of.state_table)
    LOOP
        -- Here, per missing schema, not in the query above: there the planner scans all of pg_trigger first.
        IF EXISTS (SELECT 1 FROM pg_trigger t
                   WHERE t.tgrelid = (SELECT c.oid FROM pg_class c
                                      WHERE c.relnamespace = missing.schema_oid AND c.relname = state_versions_of.state_table)
                     AND t.tgfoid = 'monolith.mirror_state_version()'::regprocedure) THEN
            EXECUTE format('INSERT INTO platform.state_versions (schema_oid, state_table, version)
                            SELECT $1, $2, coalesce((SELECT max(version) FROM %I.%I), 0)
                            ON CONFLICT (schema_oid, state_table) DO NOTHING', missing.schema, state_versions_of.state_table)
                USING missing.schema_oid, state_versions_of.state_table;
        END IF;
    END LOOP;

    RETURN QUERY
        SELECT o.ordinal::integer, m.version
        FROM unnest(schemas) WITH ORDINALITY AS o(schema, ordinal)
        LEFT JOIN pg_namespace n ON n.nspname = o.schema
        LEFT JOIN platform.state_versions m ON m.schema_oid = n.oid AND m.state_table = state_versions_of.state_table
        ORDER BY o.ordinal;
END
$$;
REVOKE ALL ON FUNCTION platform.state_versions_of(name, text[]) FROM PUBLIC;
