-- Learning as a system, as the SQLite migration of the same version: the services an
-- incident touched, its contributing-factor tags, whether it is a drill (a game day) or
-- private, who was invited to it, and the factor tag an action item addresses.
ALTER TABLE incidents ADD COLUMN drill BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE incidents ADD COLUMN private BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE incident_services (
    incident_id  BIGINT  NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    service      TEXT    NOT NULL CHECK (length(service) BETWEEN 1 AND 64),
    added_by     TEXT    NOT NULL,
    added_at     BIGINT  NOT NULL,
    PRIMARY KEY (incident_id, service)
);
CREATE INDEX incident_services_by_service ON incident_services (service, incident_id);

CREATE TABLE incident_factors (
    incident_id  BIGINT  NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    tag          TEXT    NOT NULL CHECK (length(tag) BETWEEN 1 AND 64),
    added_by     TEXT    NOT NULL,
    added_at     BIGINT  NOT NULL,
    PRIMARY KEY (incident_id, tag)
);
CREATE INDEX incident_factors_by_tag ON incident_factors (tag, incident_id);

CREATE TABLE incident_invites (
    incident_id  BIGINT  NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    user_id      TEXT    NOT NULL,
    invited_by   TEXT    NOT NULL,
    invited_at   BIGINT  NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);

ALTER TABLE action_items ADD COLUMN addresses TEXT CHECK (addresses IS NULL OR length(addresses) BETWEEN 1 AND 64);
