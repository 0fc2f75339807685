-- Where the holder of a log's writer lease answers HTTP (its advertised URL), so that a node
-- with the log on standby can hand the log's requests to it. Written with the lease, cleared
-- with it; NULL when the holder advertises no URL (its requests are then not forwarded).
ALTER TABLE sealog_logs ADD COLUMN lease_holder_url text;

-- The nodes serving the store, each as last seen (the database's clock): a node renews its
-- row every third of a lease, so the live nodes are those seen within a lease. Each node
-- takes at most its fair share of unheld leases (the logs over the live nodes).
CREATE TABLE sealog_nodes (
    node text PRIMARY KEY,
    url text,
    seen timestamptz NOT NULL
);
