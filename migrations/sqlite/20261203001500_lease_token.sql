-- A fencing token on the lease: it counts up each time the lease changes hands, so
-- work done under an old holding can be told from work done under the current one.
ALTER TABLE leases ADD COLUMN token INTEGER NOT NULL DEFAULT 0;
