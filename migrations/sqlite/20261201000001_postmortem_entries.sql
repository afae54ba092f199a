-- Every edit of a postmortem field is a timeline entry of kind `postmortem`, with its
-- author. SQLite cannot change a CHECK constraint in place, so the table is rebuilt
-- with the same columns, rows and indexes, and the new kind allowed.
CREATE TABLE timeline_entries_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    source_id    TEXT    NOT NULL UNIQUE,
    at           INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('declared', 'message', 'note', 'status', 'severity',
                                                  'role', 'update', 'resolved', 'reopened', 'closed', 'action',
                                                  'postmortem')),
    author       TEXT    NOT NULL,
    text         TEXT    NOT NULL,
    is_key       INTEGER NOT NULL DEFAULT 0 CHECK (is_key IN (0, 1)),
    edited_at    INTEGER,
    deleted_at   INTEGER
);
INSERT INTO timeline_entries_new (id, incident_id, source_id, at, kind, author, text, is_key, edited_at, deleted_at)
    SELECT id, incident_id, source_id, at, kind, author, text, is_key, edited_at, deleted_at FROM timeline_entries;
DROP TABLE timeline_entries;
ALTER TABLE timeline_entries_new RENAME TO timeline_entries;
CREATE INDEX timeline_by_incident ON timeline_entries (incident_id, at, id);
CREATE INDEX timeline_by_incident_kind ON timeline_entries (incident_id, kind, at);
