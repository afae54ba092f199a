-- Alerts from monitoring (Alertmanager, Grafana, PagerDuty, generic JSON).
-- An alert is one (source, fingerprint); a delivery that repeats it only updates when
-- it was last seen. `pending` marks a change of state (new, resolved, firing again)
-- that the alert worker has not applied yet; `version` counts those changes, so the
-- worker clears `pending` only for the change it applied.
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source        TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,
    group_key     TEXT    NOT NULL,
    alertname     TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    labels        TEXT    NOT NULL,   -- JSON object of strings
    annotations   TEXT    NOT NULL,   -- JSON object of strings
    url           TEXT,
    status        TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    deliveries    INTEGER NOT NULL DEFAULT 1,
    -- how many times it started firing: 1, then +1 for each firing after a resolve
    generation    INTEGER NOT NULL DEFAULT 1,
    state         TEXT    NOT NULL DEFAULT 'new'
                  CHECK (state IN ('new', 'triage', 'attached', 'dismissed', 'ignored', 'noise')),
    incident_id   INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
    pending       INTEGER NOT NULL DEFAULT 1 CHECK (pending IN (0, 1)),
    version       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (source, fingerprint)
);
CREATE INDEX alerts_pending ON alerts (pending, id);
CREATE INDEX alerts_by_group ON alerts (source, group_key);
CREATE INDEX alerts_by_incident ON alerts (incident_id);
CREATE INDEX alerts_by_state ON alerts (state);

-- One row per alert group (Alertmanager's groupKey; the fingerprint for sources without
-- groups): the incident its alerts share, or its one triage post.
CREATE TABLE alert_groups (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    source            TEXT    NOT NULL,
    group_key         TEXT    NOT NULL,
    incident_id       INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
    -- what a triage post proposes
    proposed_severity TEXT CHECK (proposed_severity IN ('sev1', 'sev2', 'sev3', 'sev4')),
    -- the triage post: claimed before it is posted, so it goes out at most once
    triage_claimed_at INTEGER,
    triage_channel    TEXT,
    triage_message    TEXT,
    -- how the triage ended: NULL while open
    triage_outcome    TEXT CHECK (triage_outcome IN ('declared', 'attached', 'dismissed', 'noise')),
    UNIQUE (source, group_key)
);

-- How each incident was detected: a row for an incident an alert opened (or that was
-- declared from a triage post); none for an incident a person noticed.
CREATE TABLE incident_detections (
    incident_id  INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    source       TEXT    NOT NULL,
    alertname    TEXT    NOT NULL,
    alert_at     INTEGER NOT NULL
);

-- "All alerts resolved" nudges sent, by incident and the change that completed them.
CREATE TABLE alert_nudges (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    nudge_key    TEXT    NOT NULL,
    sent_at      INTEGER NOT NULL,
    PRIMARY KEY (incident_id, nudge_key)
);
