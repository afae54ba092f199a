-- The durable inbox: every inbound request answered before its work is done (Slack slash
-- commands and interactions, deferred Discord interactions, alert deliveries) is first
-- committed here, keyed by its source id, before the answer goes out. `request` is the
-- adapter's own parsed form of it (JSON), enough to run it again; `reply_handle` is the
-- platform's reply path (a Slack response_url, a Discord interaction token). A row is
-- done once its work and its reply are; rows not done are run again at start-up and
-- when a copy takes over the lease, oldest first.
CREATE TABLE inbox (
    source_id     TEXT    PRIMARY KEY,
    source        TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    channel_id    TEXT    NOT NULL,
    request       TEXT    NOT NULL,
    reply_handle  TEXT,
    received_at   INTEGER NOT NULL,
    done_at       INTEGER
);
CREATE INDEX inbox_unfinished ON inbox (source, received_at) WHERE done_at IS NULL;

-- The platform calls a request makes (create the channel, set the topic, post the
-- kick-off, pin it, announce, ...), each recorded as an intent before the call and with
-- its result (a channel id, a message ts or id) after it, so a resumed request picks up
-- at its first unfinished step and knows what an interrupted one may already have done.
CREATE TABLE side_effect_steps (
    incident_id   INTEGER NOT NULL REFERENCES incidents (id),
    request       TEXT    NOT NULL,
    step          TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 1,
    finished_at   INTEGER,
    result        TEXT,
    PRIMARY KEY (request, step)
);
CREATE INDEX side_effect_steps_unfinished ON side_effect_steps (incident_id) WHERE finished_at IS NULL;
