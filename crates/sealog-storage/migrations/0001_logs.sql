-- Sealog's logs in PostgreSQL: the catalog, the entries with their leaf hashes, the stored
-- tree hashes of the upper tile levels, and the checkpoint history. Applied once, in one
-- transaction, by the first `sealog serve --store postgres://…` that finds it missing.

-- One row per log: its signing key (sealed under the operator's store key, never in clear),
-- its latest checkpoint, and its writer lease. The lease is a row, not an advisory lock, so
-- that engines speaking PostgreSQL's protocol without advisory locks can carry it.
CREATE TABLE sealog_logs (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    origin text NOT NULL,
    -- XChaCha20-Poly1305 under the store key: 24-byte nonce, ciphertext, tag.
    sealed_key bytea NOT NULL,
    -- Entries committed; only the lease holder advances it, in the group's transaction.
    size bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    checkpoint_size bigint NOT NULL CHECK (checkpoint_size >= 0),
    checkpoint_note bytea NOT NULL,
    checkpoint_micros bigint NOT NULL,
    -- Who may append and sign, until when (the database's clock), in which epoch. Every
    -- takeover increments the epoch; every write of the holder names the epoch it holds.
    lease_holder text,
    lease_epoch bigint NOT NULL DEFAULT 0,
    lease_expires timestamptz,
    CHECK (checkpoint_size <= size)
);

-- The source of truth: each entry's leaf bytes and its leaf hash (tree level 0, which is
-- tile level 0).
CREATE TABLE sealog_entries (
    log_id bigint NOT NULL REFERENCES sealog_logs (id),
    idx bigint NOT NULL CHECK (idx >= 0),
    leaf bytea NOT NULL,
    leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32),
    PRIMARY KEY (log_id, idx)
);

-- The hashes of tree levels 8, 16, … 56 (tile levels 1 to 7), in node order: what tiles and
-- proofs are served from.
CREATE TABLE sealog_tree_hashes (
    log_id bigint NOT NULL REFERENCES sealog_logs (id),
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 7),
    idx bigint NOT NULL CHECK (idx >= 0),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (log_id, level, idx)
);

-- Earlier checkpoints, at most one a minute, for consistency proofs from old sizes.
CREATE TABLE sealog_checkpoint_history (
    log_id bigint NOT NULL REFERENCES sealog_logs (id),
    size bigint NOT NULL,
    note bytea NOT NULL,
    signed_micros bigint NOT NULL,
    PRIMARY KEY (log_id, size)
);
