-- Which running copy of the bot is the active one. A copy holds the lease while its
-- `expires_at` (UTC milliseconds) lies ahead and renews it well before then; another
-- copy may take it over only once it has expired. One row per lease name.
CREATE TABLE leases (
    name         TEXT    PRIMARY KEY,
    holder       TEXT    NOT NULL,
    acquired_at  INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
