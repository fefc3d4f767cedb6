-- Cloudflare platform usage as this application itself sees it (issue 10, "the budget is
-- visible"): one row per UTC day, incremented once per request, cron invocation or Workflow step
-- with the sum of that invocation's D1 statement metadata and R2 operations. Counts only, never
-- data. See docs/cloudflare-plans.md ("What the status counts").
CREATE TABLE platform_usage (
  day             TEXT PRIMARY KEY,            -- YYYY-MM-DD (UTC, the day D1's daily limits use)
  d1_rows_read    INTEGER NOT NULL DEFAULT 0,  -- sum of meta.rows_read
  d1_rows_written INTEGER NOT NULL DEFAULT 0,  -- sum of meta.rows_written (+1 per flush: this row)
  r2_class_a      INTEGER NOT NULL DEFAULT 0,  -- R2 puts and list pages (Class A operations)
  r2_class_b      INTEGER NOT NULL DEFAULT 0,  -- R2 gets and heads (Class B operations)
  d1_size_bytes   INTEGER NOT NULL DEFAULT 0,  -- largest meta.size_after seen that day
  backup_steps    INTEGER NOT NULL DEFAULT 0,  -- most steps one backup Workflow instance took that day
  verify_steps    INTEGER NOT NULL DEFAULT 0,  -- same for the weekly verification
  restore_steps   INTEGER NOT NULL DEFAULT 0   -- same for a restore
);
