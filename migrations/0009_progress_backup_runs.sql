-- Progress and failure explanation of a backup run (issue 13.5).
-- `rows_total`: rows the run expects to export, counted at its start in the same D1 batch as its
--   consistency bounds (an estimate for the unbounded tables, which may change while it runs).
-- `failed_step`: the Workflow step that failed (e.g. "write chunk 3"), so a failure can be
--   explained in words (writing to R2, reading D1, …) rather than by its raw error alone.
ALTER TABLE backup_runs ADD COLUMN rows_total INTEGER;
ALTER TABLE backup_runs ADD COLUMN failed_step TEXT;
