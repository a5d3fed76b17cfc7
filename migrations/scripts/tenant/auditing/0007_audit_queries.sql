-- GET /audit-events filtered by entity type alone (newest first) without scanning the whole trail.
-- Entity history (entity_type, entity_id, seq), actor (actor_id, seq) and time range (occurred_at, seq)
-- are indexed by 0002.
CREATE INDEX audit_events_type ON audit_events (entity_type, seq);
