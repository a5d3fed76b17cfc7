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

-- The copy of a schema's state table that has the trigger but no row yet (made before the trigger, restored, moved in:
-- a copy of a schema carries the trigger, not this table's row), filled in from the table; null when the table has no
-- mirror trigger (a tenant not migrated to the script that adds it). That insert cannot race a change into a wrong
-- value: a change writes its exact version, after or over this one (ON CONFLICT DO NOTHING here, DO UPDATE there).
CREATE FUNCTION platform.fill_state_version(schema_oid oid, schema text, state_table name) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    filled bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger t
                   WHERE t.tgrelid = (SELECT c.oid FROM pg_class c
                                      WHERE c.relnamespace = fill_state_version.schema_oid AND c.relname = fill_state_version.state_table)
                     AND t.tgfoid = 'monolith.mirror_state_version()'::regprocedure) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('INSERT INTO platform.state_versions (schema_oid, state_table, version)
                    SELECT $1, $2, coalesce((SELECT max(version) FROM %I.%I), 0)
                    ON CONFLICT (schema_oid, state_table) DO NOTHING', schema, state_table)
        USING schema_oid, state_table;
    SELECT m.version INTO filled FROM platform.state_versions m
    WHERE m.schema_oid = fill_state_version.schema_oid AND m.state_table = fill_state_version.state_table;
    RETURN filled;
END
$$;
REVOKE ALL ON FUNCTION platform.fill_state_version(oid, text, name) FROM PUBLIC;

-- The versions of `state_table` in `schemas` (one row per schema, in order), in one pass: a schema without a copy gets
-- one (above); null for a schema that is gone or not mirrored, which the caller forgets. Owner only.
CREATE FUNCTION platform.state_versions_of(state_table name, schemas text[])
RETURNS TABLE (ordinal integer, version bigint)
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT o.ordinal::integer,
           CASE WHEN m.version IS NOT NULL THEN m.version
                WHEN n.oid IS NOT NULL THEN platform.fill_state_version(n.oid, o.schema, state_versions_of.state_table)
           END
    FROM unnest(schemas) WITH ORDINALITY AS o(schema, ordinal)
    LEFT JOIN pg_namespace n ON n.nspname = o.schema
    LEFT JOIN platform.state_versions m ON m.schema_oid = n.oid AND m.state_table = state_versions_of.state_table
    ORDER BY o.ordinal
$$;
REVOKE ALL ON FUNCTION platform.state_versions_of(name, text[]) FROM PUBLIC;
