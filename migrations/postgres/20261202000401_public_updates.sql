-- Every public update (`/incident public`) is a timeline entry of kind `public`. Postgres
-- changes the CHECK constraint in place (SQLite rebuilds the table).
ALTER TABLE timeline_entries DROP CONSTRAINT timeline_entries_kind_check;
ALTER TABLE timeline_entries ADD CONSTRAINT timeline_entries_kind_check
    CHECK (kind IN ('declared', 'message', 'note', 'status', 'severity', 'role', 'update', 'resolved', 'reopened',
                    'closed', 'action', 'postmortem', 'public'));
