-- The data lock (issue 11.6): who is changing the questionnaire's data right now, so that a backup
-- never captures a restore, an undo or a clean-up half done. One row per holder (docs/decisions.md,
-- "The data lock"). shared: backup, erasure; exclusive: merge, replace, undo, undo-cleanup.
-- Operational state only (ids and times), never exported or restored.
CREATE TABLE data_locks (
  holder      TEXT NOT NULL PRIMARY KEY,  -- the Workflow instance id, or a request's own id
  kind        TEXT NOT NULL,              -- backup | merge | replace | undo | undo-cleanup | erasure
  mode        TEXT NOT NULL CHECK (mode IN ('shared', 'exclusive')),
  acquired_at TEXT NOT NULL
);
