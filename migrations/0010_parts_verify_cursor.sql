-- Reading snapshots part by part (issue 10): the weekly verification's rotating sample and the
-- parts list a chained backup carries over in D1 instead of in its hand-over parameters.
-- Ids, offsets, sizes and checksums only, never respondents' data.

-- Where the weekly verification's rotating sample stopped: the last chunk it read, as
-- "<snapshotId>/<chunk number>" (one row, name = 'weekly'). Every chunk is read in turn.
CREATE TABLE verify_cursor (
  name       TEXT PRIMARY KEY,
  position   TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- The parts (gzip members: offset, bytes, sha256, rows) of each chunk a backup run has written,
-- until its manifest is committed: a run chained over several Workflow instances hands its chunk
-- list over in the instance's parameters (< 1 MiB), which cannot also hold every part.
CREATE TABLE backup_chunk_parts (
  run_id TEXT    NOT NULL,
  n      INTEGER NOT NULL,
  parts  TEXT    NOT NULL,   -- JSON [{offset, bytes, sha256, rows}]
  PRIMARY KEY (run_id, n)
);
