-- What the server (not the engine) keeps and every node of a shared store must see alike:
-- API keys (their hashes, never a secret), log settings and legal holds, each a small JSON
-- document rewritten whole on a change, as `DIR/server.json` and `holds.json` are on an
-- embedded store.

-- One row per document, by name (`server`: the keys and log settings; `holds/<log>`: a
-- log's legal holds). `version` grows by one on every change, in the change's transaction,
-- so that a node finds out with one cheap query whether what it caches is still current.
CREATE TABLE sealog_documents (
    name text PRIMARY KEY,
    version bigint NOT NULL CHECK (version >= 0),
    body jsonb NOT NULL
);
