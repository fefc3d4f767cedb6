-- Restore runs (issue 6): one row per restore request, whatever its mode and outcome.
-- Operational metadata only (ids, counts, reasons), never respondents' data.
CREATE TABLE restore_runs (
  id                  TEXT    PRIMARY KEY,
  snapshot_id         TEXT    NOT NULL,
  mode                TEXT    NOT NULL,            -- dry-run | merge | replace
  status              TEXT    NOT NULL,            -- queued | running | complete | refused | failed
  stage               TEXT,                        -- current step, e.g. "verify chunk 3/12", "load chunk 5"
  requested_at        TEXT    NOT NULL,
  finished_at         TEXT,
  chunks_total        INTEGER NOT NULL DEFAULT 0,
  chunks_verified     INTEGER NOT NULL DEFAULT 0,
  chunks_loaded       INTEGER NOT NULL DEFAULT 0,
  rows_total          INTEGER NOT NULL DEFAULT 0,
  rows_written        INTEGER NOT NULL DEFAULT 0,
  rows_skipped_erased INTEGER NOT NULL DEFAULT 0,
  -- 1 while the data replaced by this run is kept in restore_undo_* tables (replace mode only).
  undo_available      INTEGER NOT NULL DEFAULT 0,
  undone_at           TEXT,
  report              TEXT,                        -- JSON: per-table counts and sample ids (ids only)
  error               TEXT
);
CREATE INDEX restore_runs_requested_at ON restore_runs (requested_at);
