-- The insights page counts action items by status, age and due date, and open items per
-- incident. This index holds every column those counts read, so they can be answered
-- from the index (as on SQLite).
CREATE INDEX action_items_for_insights ON action_items (status, created_at, due_date, owner, incident_id);
