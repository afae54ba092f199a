-- The incident core: incidents, roles, timeline, postmortems and action items.
-- Every timestamp column holds UTC milliseconds since the Unix epoch.
-- Shipped migrations are never edited; add a new file instead.

CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    title            TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description      TEXT,
    severity         TEXT    NOT NULL CHECK (severity IN ('sev1', 'sev2', 'sev3', 'sev4')),
    status           TEXT    NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved', 'closed')),
    platform         TEXT    NOT NULL,
    channel_name     TEXT    NOT NULL,
    channel_id       TEXT    UNIQUE,
    declared_by      TEXT    NOT NULL,
    declare_source   TEXT    NOT NULL UNIQUE,
    started_at       INTEGER NOT NULL,
    declared_at      INTEGER NOT NULL,
    acknowledged_at  INTEGER,
    mitigated_at     INTEGER,
    resolved_at      INTEGER,
    closed_at        INTEGER,
    -- bumped on every change, so concurrent edits are detected instead of lost
    revision         INTEGER NOT NULL DEFAULT 0,
    CHECK (resolved_at IS NULL OR resolved_at >= declared_at),
    CHECK (acknowledged_at IS NULL OR acknowledged_at >= declared_at),
    CHECK ((status IN ('resolved', 'closed')) = (resolved_at IS NOT NULL)),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX incidents_status ON incidents (status);
CREATE INDEX incidents_declared_at ON incidents (declared_at);

CREATE TABLE incident_roles (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    role         TEXT    NOT NULL CHECK (role IN ('commander', 'comms', 'scribe')),
    user_id      TEXT    NOT NULL,
    assigned_at  INTEGER NOT NULL,
    PRIMARY KEY (incident_id, role)
);

CREATE TABLE timeline_entries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    source_id    TEXT    NOT NULL UNIQUE,
    at           INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('declared', 'message', 'note', 'status', 'severity',
                                                  'role', 'update', 'resolved', 'reopened', 'closed', 'action')),
    author       TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    is_key       INTEGER NOT NULL DEFAULT 0 CHECK (is_key IN (0, 1)),
    edited_at    INTEGER,
    deleted_at   INTEGER
);
CREATE INDEX timeline_by_incident ON timeline_entries (incident_id, at, id);

CREATE TABLE postmortems (
    incident_id           INTEGER PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    summary               TEXT,
    impact                TEXT,
    detection             TEXT,
    trigger_text          TEXT,
    contributing_factors  TEXT,
    resolution            TEXT,
    went_well             TEXT,
    went_wrong            TEXT,
    got_lucky             TEXT,
    lessons               TEXT,
    updated_at            INTEGER NOT NULL,
    updated_by            TEXT    NOT NULL
);

CREATE TABLE action_items (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    text         TEXT    NOT NULL CHECK (length(text) BETWEEN 1 AND 500),
    owner        TEXT    NOT NULL,
    due_date     TEXT    NOT NULL CHECK (due_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    priority     TEXT    NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
    kind         TEXT    NOT NULL CHECK (kind IN ('prevent', 'detect', 'mitigate', 'process')),
    status       TEXT    NOT NULL CHECK (status IN ('open', 'done', 'wontfix')),
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    closed_at    INTEGER,
    -- no reminders before this local date (YYYY-MM-DD)
    snoozed_until TEXT,
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX action_items_open_by_due ON action_items (status, due_date);
CREATE INDEX action_items_by_incident ON action_items (incident_id);
CREATE INDEX action_items_by_owner ON action_items (owner, status);
