-- A fencing token on the lease (as SQLite's 20261203001500): it counts up each time the
-- lease changes hands, so work done under an old holding can be told from work done
-- under the current one.
ALTER TABLE leases ADD COLUMN token BIGINT NOT NULL DEFAULT 0;
