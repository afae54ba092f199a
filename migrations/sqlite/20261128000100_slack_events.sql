-- Slack Events API deliveries that were fully processed, by Slack's `event_id`, so a
-- retried delivery is acknowledged without being applied again.
CREATE TABLE slack_events (
    event_id      TEXT    PRIMARY KEY,
    processed_at  INTEGER NOT NULL
);
CREATE INDEX slack_events_by_time ON slack_events (processed_at);
