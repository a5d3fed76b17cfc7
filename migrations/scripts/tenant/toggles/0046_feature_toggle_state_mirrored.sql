-- The tenant's toggle state version, copied to platform.state_versions in the changing transaction (platform script
-- 0085, docs/adr/0072): the caches' poll reads many tenants' versions there in one statement.
-- ALWAYS: the copy follows the version on every path, also one that turns ordinary triggers off (a logical
-- replication apply, as a move uses; session_replication_role = replica).
CREATE TRIGGER feature_toggle_state_mirrored AFTER INSERT OR UPDATE OF version ON feature_toggle_state
    FOR EACH ROW EXECUTE FUNCTION monolith.mirror_state_version();
ALTER TABLE feature_toggle_state ENABLE ALWAYS TRIGGER feature_toggle_state_mirrored;
