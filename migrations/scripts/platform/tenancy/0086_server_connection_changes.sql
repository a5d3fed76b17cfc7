-- Tenancy: a server's connection strings may change while hosts run (a password rotated, an option changed;
-- docs/adr/0066). Each host keeps pools made from the strings it read, so a change is announced: the row's
-- connection_version goes up, and the servers channel is notified with the server's name when the change commits. The
-- version is the fallback for a notification that never arrives: the hubs' poll compares it with the version each
-- host's pools were made from. The strings themselves are read by the owner role only, as before.
ALTER TABLE platform.servers ADD COLUMN connection_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION platform.announce_server_connections() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.request_connection IS NOT DISTINCT FROM OLD.request_connection
       AND NEW.owner_connection IS NOT DISTINCT FROM OLD.owner_connection THEN
        RETURN NEW;
    END IF;
    NEW.connection_version := OLD.connection_version + 1;
    PERFORM pg_notify('monolith_servers', NEW.name);
    RETURN NEW;
END
$$;

CREATE TRIGGER servers_connections_changed BEFORE UPDATE ON platform.servers
    FOR EACH ROW EXECUTE FUNCTION platform.announce_server_connections();
