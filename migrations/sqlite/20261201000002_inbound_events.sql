-- Inbound deliveries that were fully processed, for every surface (Slack's Events API
-- today; alerts and tracker webhooks next), by source and the source's own event id, so
-- a retried delivery is acknowledged without being applied again. Replaces the
-- Slack-only `slack_events`, keeping its rows.
CREATE TABLE inbound_events (
    source        TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    processed_at  INTEGER NOT NULL,
    PRIMARY KEY (source, event_id)
);
CREATE INDEX inbound_events_by_time ON inbound_events (processed_at);
INSERT INTO inbound_events (source, event_id, processed_at)
    SELECT 'slack', event_id, processed_at FROM slack_events;
DROP TABLE slack_events;
