-- Follow-through beyond chat: tracker issues, status page posts and postmortem pull
-- requests. Each outbound call is a job claimed here before it is made, so a retry, a
-- restart or a second copy never makes it twice; failures wait with backoff.

-- One row per outbound job. `key` is the job's idempotency key (`tracker_create:12`,
-- `status_post:3:7`, `postmortem_pr:3:opened`); `payload` is what the job needs beyond
-- its subject. An attempt holds the job until `attempt_until`, so two runners never
-- call at once; `done_at` is set once the call succeeded.
CREATE TABLE outbox_jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    key              TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    payload          TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    attempt_until    INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    done_at          INTEGER
);
CREATE INDEX outbox_jobs_due ON outbox_jobs (done_at, next_attempt_at);
CREATE INDEX outbox_jobs_by_subject ON outbox_jobs (kind, subject);

-- The tracker issue an action item is linked to: created by the bot or linked by hand.
CREATE TABLE tracker_links (
    action_item_id  INTEGER PRIMARY KEY REFERENCES action_items (id),
    tracker         TEXT    NOT NULL,
    issue_key       TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    linked_at       INTEGER NOT NULL,
    UNIQUE (tracker, issue_key)
);

-- The status page incident an incident published to (only after `/incident public`).
CREATE TABLE status_page_incidents (
    incident_id       INTEGER PRIMARY KEY REFERENCES incidents (id),
    page_incident_id  TEXT    NOT NULL,
    created_at        INTEGER NOT NULL
);

-- The postmortem pull requests of an incident, newest last: the first on close, a
-- follow-up after the first merged.
CREATE TABLE postmortem_prs (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    number       INTEGER NOT NULL,
    branch       TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    merged       BOOLEAN NOT NULL DEFAULT FALSE,
    opened_at    INTEGER NOT NULL,
    PRIMARY KEY (incident_id, number)
);
