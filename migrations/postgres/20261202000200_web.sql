-- The web pages on Postgres: the postmortem library's full-text index, one-time sign-in
-- links and sessions (the same tables as SQLite's 20261202000200_web).
--
-- The library is a plain table with a generated `tsvector` and a GIN index, kept in step
-- with `postmortems` and `timeline_entries` by triggers. Its id says where a row came
-- from, as SQLite's FTS5 rowid does:
--   postmortem field: incident_id * 16 + the field's position (0..9);
--   key timeline event: minus the entry's id.
CREATE TABLE library_docs (
    id           BIGINT PRIMARY KEY,
    incident_id  BIGINT NOT NULL,
    part         TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    search       tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED
);
CREATE INDEX library_docs_search ON library_docs USING GIN (search);

CREATE FUNCTION library_postmortem_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM library_docs WHERE id BETWEEN OLD.incident_id * 16 AND OLD.incident_id * 16 + 9;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO library_docs (id, incident_id, part, body)
        SELECT NEW.incident_id * 16 + f.pos, NEW.incident_id, f.part, f.body FROM (VALUES
            (0, 'summary', NEW.summary),
            (1, 'impact', NEW.impact),
            (2, 'detection', NEW.detection),
            (3, 'trigger', NEW.trigger_text),
            (4, 'contributing_factors', NEW.contributing_factors),
            (5, 'resolution', NEW.resolution),
            (6, 'went_well', NEW.went_well),
            (7, 'went_wrong', NEW.went_wrong),
            (8, 'got_lucky', NEW.got_lucky),
            (9, 'lessons', NEW.lessons)
        ) AS f (pos, part, body) WHERE f.body IS NOT NULL AND trim(f.body) <> '';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER library_postmortem_sync AFTER INSERT OR UPDATE OR DELETE ON postmortems
    FOR EACH ROW EXECUTE FUNCTION library_postmortem_sync();

CREATE FUNCTION library_entry_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM library_docs WHERE id = -OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.is_key AND NEW.deleted_at IS NULL THEN
        INSERT INTO library_docs (id, incident_id, part, body) VALUES (-NEW.id, NEW.incident_id, 'timeline', NEW.text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER library_entry_insert AFTER INSERT OR DELETE ON timeline_entries
    FOR EACH ROW EXECUTE FUNCTION library_entry_sync();
CREATE TRIGGER library_entry_update AFTER UPDATE OF text, is_key, deleted_at ON timeline_entries
    FOR EACH ROW EXECUTE FUNCTION library_entry_sync();

-- What is already written goes into the index once.
INSERT INTO library_docs (id, incident_id, part, body)
SELECT p.incident_id * 16 + f.pos, p.incident_id, f.part, f.body
FROM postmortems p CROSS JOIN LATERAL (VALUES
    (0, 'summary', p.summary),
    (1, 'impact', p.impact),
    (2, 'detection', p.detection),
    (3, 'trigger', p.trigger_text),
    (4, 'contributing_factors', p.contributing_factors),
    (5, 'resolution', p.resolution),
    (6, 'went_well', p.went_well),
    (7, 'went_wrong', p.went_wrong),
    (8, 'got_lucky', p.got_lucky),
    (9, 'lessons', p.lessons)
) AS f (pos, part, body) WHERE f.body IS NOT NULL AND trim(f.body) <> '';

INSERT INTO library_docs (id, incident_id, part, body)
SELECT -id, incident_id, 'timeline', text FROM timeline_entries WHERE is_key AND deleted_at IS NULL;

-- A one-time sign-in link, handed out privately in chat or by `incidentbot web-link`.
CREATE TABLE web_links (
    token_hash  TEXT    PRIMARY KEY,
    platform    TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
CREATE INDEX web_links_by_expiry ON web_links (expires_at);

-- A signed-in browser. It ends after a stretch idle, at a fixed age, or on log out.
CREATE TABLE web_sessions (
    token_hash    TEXT    PRIMARY KEY,
    platform      TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    last_seen_at  BIGINT  NOT NULL,
    ended_at      BIGINT
);
CREATE INDEX web_sessions_by_creation ON web_sessions (created_at);
