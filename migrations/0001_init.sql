-- Questionnaire data and its metadata. Every table that holds respondents' data has a
-- monotonic `seq` so that a backup can take a consistent bound (rows with seq <= bound).

-- Dynamic roles typed by respondents. `role_key` is the normalised form used for
-- deduplication (case- and accent-insensitive); `label` is the first spelling seen.
CREATE TABLE roles (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  role_key     TEXT    NOT NULL UNIQUE,
  label        TEXT    NOT NULL,
  created_at   TEXT    NOT NULL,
  use_count    INTEGER NOT NULL DEFAULT 0,
  last_used_at TEXT
);

-- One row per accepted submission. `answers` is the validated answers as JSON.
CREATE TABLE submissions (
  seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
  id                    TEXT    NOT NULL UNIQUE,
  received_at           TEXT    NOT NULL,
  questionnaire_version TEXT    NOT NULL,
  role_key              TEXT    NOT NULL,
  answers               TEXT    NOT NULL,
  validation            TEXT    NOT NULL
);
CREATE INDEX submissions_received_at ON submissions (received_at);
CREATE INDEX submissions_role_key ON submissions (role_key);

-- Counters kept in the same D1 batch as the insert: 'total', 'role:<role_key>', 'day:<YYYY-MM-DD>'.
CREATE TABLE counters (
  name       TEXT    PRIMARY KEY,
  value      INTEGER NOT NULL,
  updated_at TEXT    NOT NULL
);

-- One row per backup run (scheduled or manual), whatever its outcome.
CREATE TABLE backup_runs (
  id           TEXT    PRIMARY KEY,
  trigger      TEXT    NOT NULL,
  status       TEXT    NOT NULL,
  stage        TEXT,
  started_at   TEXT    NOT NULL,
  finished_at  TEXT,
  snapshot_id  TEXT,
  rows         INTEGER NOT NULL DEFAULT 0,
  bytes        INTEGER NOT NULL DEFAULT 0,
  chunks       INTEGER NOT NULL DEFAULT 0,
  error        TEXT,
  details      TEXT
);
CREATE INDEX backup_runs_started_at ON backup_runs (started_at);

-- Right-to-erasure requests: ids and a salted hash of the e-mail, never the data itself.
CREATE TABLE erasures (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT    NOT NULL UNIQUE,
  requested_at   TEXT    NOT NULL,
  submission_ids TEXT    NOT NULL,
  email_hash     TEXT,
  email_salt     TEXT
);
-- One row per erased submission id, so that restores can skip them with a lookup.
CREATE TABLE erased_submissions (
  submission_id TEXT PRIMARY KEY,
  erasure_id    TEXT NOT NULL,
  erased_at     TEXT NOT NULL
);

-- Administrative actions (who did what, when); never personal data.
CREATE TABLE audit_log (
  seq    INTEGER PRIMARY KEY AUTOINCREMENT,
  at     TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT
);
