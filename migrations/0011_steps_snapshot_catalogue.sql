-- The snapshot catalogue: one row per committed snapshot, written when its manifest is written
-- (backup, import) or first read (reconciliation), so that status, the hourly check, retention
-- and the snapshot list need not read every manifest on every call. The bucket stays the source of
-- truth: restores and verification read and check the manifest itself. Counts and ids only.
CREATE TABLE snapshot_catalogue (
  snapshot_id     TEXT    PRIMARY KEY,
  started_at      TEXT    NOT NULL,
  finished_at     TEXT    NOT NULL,
  trigger         TEXT    NOT NULL,              -- scheduled | manual
  format_version  INTEGER NOT NULL,
  bytes           INTEGER NOT NULL,
  rows            INTEGER NOT NULL,
  tables          TEXT    NOT NULL,              -- JSON { table: rows }
  chunks          INTEGER NOT NULL,
  encrypted       INTEGER NOT NULL,
  signature       TEXT    NOT NULL,              -- valid | unsigned | invalid | other-key | no-key
  key_id          TEXT,                          -- the signing key's public id it was checked with
  manifest_sha256 TEXT    NOT NULL,              -- the stored manifest's SHA-256 (its metadata)
  catalogued_at   TEXT    NOT NULL,
  checked_at      TEXT    NOT NULL,              -- last time its manifest was seen in the bucket
  gone_at         TEXT                           -- set when the manifest was found missing
);
CREATE INDEX snapshot_catalogue_checked ON snapshot_catalogue (checked_at);
