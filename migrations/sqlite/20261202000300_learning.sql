-- Learning as a system: the services an incident touched, its contributing-factor
-- tags, whether it is a drill (a game day) or private, who was invited to it, and the
-- factor tag an action item addresses. Everything here only adds; rows already stored
-- read as real, public incidents with no services or tags.
ALTER TABLE incidents ADD COLUMN drill INTEGER NOT NULL DEFAULT 0 CHECK (drill IN (0, 1));
ALTER TABLE incidents ADD COLUMN private INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1));

-- Services by catalog name (aliases are resolved before they are stored).
CREATE TABLE incident_services (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    service      TEXT    NOT NULL CHECK (length(service) BETWEEN 1 AND 64),
    added_by     TEXT    NOT NULL,
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (incident_id, service)
);
CREATE INDEX incident_services_by_service ON incident_services (service, incident_id);

-- Contributing-factor tags of an incident's postmortem, from the configured vocabulary.
CREATE TABLE incident_factors (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    tag          TEXT    NOT NULL CHECK (length(tag) BETWEEN 1 AND 64),
    added_by     TEXT    NOT NULL,
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (incident_id, tag)
);
CREATE INDEX incident_factors_by_tag ON incident_factors (tag, incident_id);

-- Who was invited to an incident, and by whom: the record of who may see a private one.
CREATE TABLE incident_invites (
    incident_id  INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    user_id      TEXT    NOT NULL,
    invited_by   TEXT    NOT NULL,
    invited_at   INTEGER NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);

-- The contributing-factor tag an action item is prevention work for (`addresses:<tag>`).
ALTER TABLE action_items ADD COLUMN addresses TEXT CHECK (addresses IS NULL OR length(addresses) BETWEEN 1 AND 64);
