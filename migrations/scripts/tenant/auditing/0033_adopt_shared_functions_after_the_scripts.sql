-- Until now DbUpRunner ran the adoption of shared functions before a migration's scripts instead of after them, so a
-- tenant provisioned since tenant script 0020 kept that script's own copy of access_changed, pinned to the schema by
-- name (SET search_path FROM CURRENT): a restore into another schema still pointed it at the original one. This moves
-- every such tenant onto monolith.access_changed and drops its copy (platform script 0010, docs/adr/0032).
SELECT monolith.adopt_shared_functions(current_schema());
