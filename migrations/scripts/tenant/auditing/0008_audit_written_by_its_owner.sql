-- The trail is written only by the trigger function, which runs with its owner's rights (the owner role that runs the
-- migrations: SECURITY DEFINER), pinned to this tenant's schema (pg_temp last, so nothing temporary can shadow a table).
-- The tenant role keeps SELECT on its trail and loses INSERT: it cannot forge a record (CONTRACT §8, docs/adr/0005).
ALTER FUNCTION audit_row_change() SECURITY DEFINER SET search_path = "$tenant_schema$", pg_temp;
REVOKE ALL ON FUNCTION audit_row_change() FROM PUBLIC;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_events FROM $tenant_role$;
