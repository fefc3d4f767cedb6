-- Baseline benchmark table: one row per request, the body stored as-is.
CREATE TABLE submissions (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT    NOT NULL UNIQUE,
  received_at TEXT    NOT NULL,
  answers     TEXT    NOT NULL
);
