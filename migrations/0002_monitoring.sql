-- Monitoring: alert de-duplication state and a log of notification deliveries.
-- Neither table ever holds message content, respondents' data or addresses.

-- One row per alert kind (e.g. 'backup_stale'). `status` is 'ok' or 'alerting'; `last_sent_at`
-- limits repeats (the stale alert at most once a day); `created_at` is when the monitor first ran,
-- the reference time when no snapshot exists at all.
CREATE TABLE alert_state (
  key          TEXT PRIMARY KEY,
  status       TEXT NOT NULL,
  since        TEXT NOT NULL,
  last_sent_at TEXT,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);

-- One row per channel per event delivered (or attempted), heartbeat pings included.
-- `run_id` links a delivery to the backup run (or job) that caused it.
CREATE TABLE notification_log (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  at          TEXT    NOT NULL,
  channel     TEXT    NOT NULL,
  event_type  TEXT    NOT NULL,
  run_id      TEXT,
  ok          INTEGER NOT NULL,
  attempts    INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  error       TEXT
);
CREATE INDEX notification_log_channel_at ON notification_log (channel, at);
CREATE INDEX notification_log_at ON notification_log (at);
