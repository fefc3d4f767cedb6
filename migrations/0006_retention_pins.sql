-- Retention pins (issue 11): when a backup shows that data disappeared, every snapshot taken
-- before the loss is pinned (never deleted by retention) until an administrator releases the pin.
-- Ids, counts and reasons only, never respondents' data. Mirrored in R2 (retention-pins/<id>.json)
-- so that losing D1 does not release a pin; creation and release are also written to audit_log.
CREATE TABLE retention_pins (
  id           TEXT PRIMARY KEY,   -- pin-<detected_in>: one pin per snapshot that revealed a loss
  created_at   TEXT NOT NULL,
  detected_in  TEXT NOT NULL,      -- the newest snapshot when the loss was seen (the first after it)
  last_before  TEXT NOT NULL,      -- the newest snapshot that still held the lost rows
  snapshot_ids TEXT NOT NULL,      -- JSON array: every snapshot from before the loss, oldest first
  tables       TEXT NOT NULL,      -- JSON [{ table, fromSnapshot, from, to, erased, lost }]
  reason       TEXT NOT NULL,      -- one line (English), shown in retention's reasons
  alerted_at   TEXT,               -- when the retention_frozen alert went out (null: not yet)
  released_at  TEXT                -- null while the pin holds
);
CREATE INDEX retention_pins_released_at ON retention_pins (released_at);
