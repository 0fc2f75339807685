-- `sealog migrate`: a log being copied in from a data directory is marked until the copy is
-- verified, so that no node serves it half-copied (the engine lists only logs not being
-- imported) and a rerun after a crash finds it and continues from its last committed batch.
-- Until its checkpoint is copied, an importing log's checkpoint_note is empty.
ALTER TABLE sealog_logs ADD COLUMN importing boolean NOT NULL DEFAULT false;
