-- Toggles (module Toggles) no longer hangs triggers on Tenancy's table: a write of the setting toggles.undefined-default
-- now reaches the toggle state through Tenancy's TenantSettingChanged event, handled by Toggles in the writing
-- transaction (UndefinedDefaultFollower: the same version bump and '<schema>:*' notification). The shared function
-- monolith.feature_toggles_setting_changed stays: a backup taken before this script still names it in its triggers,
-- and its restore runs this script right after.
DROP TRIGGER IF EXISTS toggles_undefined_default ON tenant_settings;
DROP TRIGGER IF EXISTS toggles_settings_truncated ON tenant_settings;
-- A schema whose triggers were never moved onto the shared functions may still hold its own copy.
DROP FUNCTION IF EXISTS feature_toggles_setting_changed();
