-- Follow-through: the record of scheduled deliveries and of each job's last run.

-- One row per reminder, nudge or digest, claimed before it is sent. The key holds the
-- kind, the subject and the local period, e.g. `action_overdue:12:2026-03-05`, so a
-- restart, a second tick or an overlapping run can never send it twice.
CREATE TABLE deliveries (
    key         TEXT    PRIMARY KEY,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    claimed_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX deliveries_by_subject ON deliveries (kind, subject);

-- When each scheduled job last ran, so missed runs can be found after downtime.
CREATE TABLE schedule_runs (
    job          TEXT    PRIMARY KEY,
    last_run_at  INTEGER NOT NULL
);

CREATE INDEX incidents_closed_at ON incidents (closed_at);
CREATE INDEX incidents_resolved_at ON incidents (resolved_at);
CREATE INDEX action_items_closed_at ON action_items (closed_at);
CREATE INDEX timeline_by_incident_kind ON timeline_entries (incident_id, kind, at);
