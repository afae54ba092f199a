-- The library's timeline triggers again. `20261202000401_public_updates` rebuilds
-- `timeline_entries` (SQLite cannot change a CHECK in place), and dropping the old table
-- dropped the triggers `20261202000200_web` had put on it: key events written since were
-- not indexed. This puts the triggers back and indexes every key event once more.
CREATE TRIGGER IF NOT EXISTS library_entry_insert AFTER INSERT ON timeline_entries
WHEN new.is_key = 1 AND new.deleted_at IS NULL BEGIN
    INSERT INTO library_fts (rowid, incident_id, part, body) VALUES (-new.id, new.incident_id, 'timeline', new.text);
END;

CREATE TRIGGER IF NOT EXISTS library_entry_update AFTER UPDATE OF text, is_key, deleted_at ON timeline_entries BEGIN
    DELETE FROM library_fts WHERE rowid = -old.id;
    INSERT INTO library_fts (rowid, incident_id, part, body)
    SELECT -new.id, new.incident_id, 'timeline', new.text WHERE new.is_key = 1 AND new.deleted_at IS NULL;
END;

CREATE TRIGGER IF NOT EXISTS library_entry_delete AFTER DELETE ON timeline_entries BEGIN
    DELETE FROM library_fts WHERE rowid = -old.id;
END;

DELETE FROM library_fts WHERE rowid < 0;
INSERT INTO library_fts (rowid, incident_id, part, body)
SELECT -id, incident_id, 'timeline', text FROM timeline_entries WHERE is_key = 1 AND deleted_at IS NULL;
