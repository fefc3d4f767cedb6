-- Weekly verification (issue 5): one row per run, and the latest check of each snapshot.
-- Ids, counts and reasons only, never respondents' data.

-- One row per verification run; id = the VerifyWorkflow instance id (`verify-YYYY-MM-DD`).
CREATE TABLE verification_runs (
  id                TEXT    PRIMARY KEY,
  scheduled_time    TEXT    NOT NULL,
  status            TEXT    NOT NULL,            -- running | ok | failed | error
  started_at        TEXT    NOT NULL,
  finished_at       TEXT,
  snapshots_total   INTEGER NOT NULL DEFAULT 0,  -- complete snapshots in R2
  snapshots_checked INTEGER NOT NULL DEFAULT 0,
  snapshots_corrupt INTEGER NOT NULL DEFAULT 0,
  chunks_checked    INTEGER NOT NULL DEFAULT 0,
  bytes_checked     INTEGER NOT NULL DEFAULT 0,
  drill_snapshot_id TEXT,
  drill_status      TEXT,                        -- ok | mismatch | error | skipped
  details           TEXT,                        -- JSON: corrupt chunks, drill per table
  error             TEXT
);
CREATE INDEX verification_runs_started_at ON verification_runs (started_at);

-- The latest verification of each snapshot: retention treats a "corrupt" one as not verified,
-- and the sample picks the least recently checked snapshots first.
CREATE TABLE snapshot_checks (
  snapshot_id TEXT    PRIMARY KEY,
  run_id      TEXT    NOT NULL,
  checked_at  TEXT    NOT NULL,
  status      TEXT    NOT NULL,                  -- ok | corrupt
  problems    TEXT                               -- JSON [{ chunk, reason }] when corrupt
);
