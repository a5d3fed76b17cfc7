-- Toggles (module Toggles): every schedule written or moved keeps platform.toggle_schedule_due (platform script 0011)
-- at or before this tenant's earliest due change, in the same transaction. One trigger per event: a trigger with
-- transition tables has one event only.
CREATE TRIGGER toggle_schedule_due_insert AFTER INSERT ON feature_schedules
    REFERENCING NEW TABLE AS scheduled FOR EACH STATEMENT EXECUTE FUNCTION monolith.toggle_schedule_due();
CREATE TRIGGER toggle_schedule_due_update AFTER UPDATE ON feature_schedules
    REFERENCING NEW TABLE AS scheduled FOR EACH STATEMENT EXECUTE FUNCTION monolith.toggle_schedule_due();

-- Schedules written before this script.
INSERT INTO platform.toggle_schedule_due AS d (tenant_id, due_at)
SELECT t.id, s.at
FROM platform.tenants t, (SELECT min(at) AS at FROM feature_schedules) s
WHERE t.schema_name = '$tenant_schema$' AND s.at IS NOT NULL
ON CONFLICT (tenant_id) DO UPDATE SET due_at = least(d.due_at, excluded.due_at);
