-- Where the holder of a log's writer lease answers HTTP (its advertised URL), so that a node
-- with the log on standby can hand the log's requests to it. Written with the lease, cleared
-- with it; NULL when the holder advertises no URL (its requests are then not forwarded).
ALTER TABLE sealog_logs ADD COLUMN lease_holder_url text;
