-- The web pages: the postmortem library's full-text index, one-time sign-in links and
-- sessions. Links and sessions store only a SHA-256 hash of their token, so a copy of
-- the database cannot be used to sign in.

-- One row per written postmortem field and per key timeline event, kept in step with
-- `postmortems` and `timeline_entries` by the triggers below. The rowid says where a
-- row came from, so a trigger finds it without a scan:
--   postmortem field: incident_id * 16 + the field's position (0..9);
--   key timeline event: minus the entry's id.
CREATE VIRTUAL TABLE library_fts USING fts5(
    incident_id UNINDEXED,
    part UNINDEXED,
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER library_pm_insert AFTER INSERT ON postmortems BEGIN
    INSERT INTO library_fts (rowid, incident_id, part, body)
    SELECT new.incident_id * 16 + f.pos, new.incident_id, f.part, f.body FROM (
        SELECT 0 AS pos, 'summary' AS part, new.summary AS body
        UNION ALL SELECT 1, 'impact', new.impact
        UNION ALL SELECT 2, 'detection', new.detection
        UNION ALL SELECT 3, 'trigger', new.trigger_text
        UNION ALL SELECT 4, 'contributing_factors', new.contributing_factors
        UNION ALL SELECT 5, 'resolution', new.resolution
        UNION ALL SELECT 6, 'went_well', new.went_well
        UNION ALL SELECT 7, 'went_wrong', new.went_wrong
        UNION ALL SELECT 8, 'got_lucky', new.got_lucky
        UNION ALL SELECT 9, 'lessons', new.lessons
    ) f WHERE f.body IS NOT NULL AND trim(f.body) <> '';
END;

CREATE TRIGGER library_pm_update AFTER UPDATE ON postmortems BEGIN
    DELETE FROM library_fts WHERE rowid BETWEEN old.incident_id * 16 AND old.incident_id * 16 + 9;
    INSERT INTO library_fts (rowid, incident_id, part, body)
    SELECT new.incident_id * 16 + f.pos, new.incident_id, f.part, f.body FROM (
        SELECT 0 AS pos, 'summary' AS part, new.summary AS body
        UNION ALL SELECT 1, 'impact', new.impact
        UNION ALL SELECT 2, 'detection', new.detection
        UNION ALL SELECT 3, 'trigger', new.trigger_text
        UNION ALL SELECT 4, 'contributing_factors', new.contributing_factors
        UNION ALL SELECT 5, 'resolution', new.resolution
        UNION ALL SELECT 6, 'went_well', new.went_well
        UNION ALL SELECT 7, 'went_wrong', new.went_wrong
        UNION ALL SELECT 8, 'got_lucky', new.got_lucky
        UNION ALL SELECT 9, 'lessons', new.lessons
    ) f WHERE f.body IS NOT NULL AND trim(f.body) <> '';
END;

CREATE TRIGGER library_pm_delete AFTER DELETE ON postmortems BEGIN
    DELETE FROM library_fts WHERE rowid BETWEEN old.incident_id * 16 AND old.incident_id * 16 + 9;
END;

CREATE TRIGGER library_entry_insert AFTER INSERT ON timeline_entries
WHEN new.is_key = 1 AND new.deleted_at IS NULL BEGIN
    INSERT INTO library_fts (rowid, incident_id, part, body) VALUES (-new.id, new.incident_id, 'timeline', new.text);
END;

CREATE TRIGGER library_entry_update AFTER UPDATE OF text, is_key, deleted_at ON timeline_entries BEGIN
    DELETE FROM library_fts WHERE rowid = -old.id;
    INSERT INTO library_fts (rowid, incident_id, part, body)
    SELECT -new.id, new.incident_id, 'timeline', new.text WHERE new.is_key = 1 AND new.deleted_at IS NULL;
END;

CREATE TRIGGER library_entry_delete AFTER DELETE ON timeline_entries BEGIN
    DELETE FROM library_fts WHERE rowid = -old.id;
END;

-- What is already written goes into the index once.
INSERT INTO library_fts (rowid, incident_id, part, body)
SELECT id * 16 + pos, id, part, body FROM (
    SELECT incident_id AS id, 0 AS pos, 'summary' AS part, summary AS body FROM postmortems
    UNION ALL SELECT incident_id, 1, 'impact', impact FROM postmortems
    UNION ALL SELECT incident_id, 2, 'detection', detection FROM postmortems
    UNION ALL SELECT incident_id, 3, 'trigger', trigger_text FROM postmortems
    UNION ALL SELECT incident_id, 4, 'contributing_factors', contributing_factors FROM postmortems
    UNION ALL SELECT incident_id, 5, 'resolution', resolution FROM postmortems
    UNION ALL SELECT incident_id, 6, 'went_well', went_well FROM postmortems
    UNION ALL SELECT incident_id, 7, 'went_wrong', went_wrong FROM postmortems
    UNION ALL SELECT incident_id, 8, 'got_lucky', got_lucky FROM postmortems
    UNION ALL SELECT incident_id, 9, 'lessons', lessons FROM postmortems
) WHERE body IS NOT NULL AND trim(body) <> '';

INSERT INTO library_fts (rowid, incident_id, part, body)
SELECT -id, incident_id, 'timeline', text FROM timeline_entries WHERE is_key = 1 AND deleted_at IS NULL;

-- A one-time sign-in link, handed out privately in chat or by `incidentbot web-link`.
CREATE TABLE web_links (
    token_hash  TEXT    PRIMARY KEY,
    platform    TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX web_links_by_expiry ON web_links (expires_at);

-- A signed-in browser. It ends after a stretch idle, at a fixed age, or on log out.
CREATE TABLE web_sessions (
    token_hash    TEXT    PRIMARY KEY,
    platform      TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    ended_at      INTEGER
);
CREATE INDEX web_sessions_by_creation ON web_sessions (created_at);
