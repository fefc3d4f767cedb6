// The alert_state table: one row per alert (the dead man's switch's "backup_stale"), whose
// compare-and-set updates let exactly one of two concurrent hourly runs send an alert.

export type AlertState = {
	status: "ok" | "alerting";
	/** When the current status began (ISO). */
	since: string;
	/** When the stale alert was last delivered (ISO), null if never in this episode. */
	lastSentAt: string | null;
	/** When the monitor first ran (ISO). */
	createdAt: string;
};

type Row = { status: string; since: string; last_sent_at: string | null; created_at: string };

/** Create the alert's row (status ok, watching from `at`) unless it exists. */
export async function insertAlertStateIfMissing(db: D1Database, key: string, at: string): Promise<void> {
	await db
		.prepare(
			"INSERT OR IGNORE INTO alert_state (key, status, since, last_sent_at, created_at, updated_at) VALUES (?, 'ok', ?, NULL, ?, ?)",
		)
		.bind(key, at, at, at)
		.run();
}

/** The alert's state; null when its row does not exist yet. */
export async function fetchStoredAlertState(db: D1Database, key: string): Promise<AlertState | null> {
	const row = await db
		.prepare("SELECT status, since, last_sent_at, created_at FROM alert_state WHERE key = ?")
		.bind(key)
		.first<Row>();
	if (!row) return null;
	return {
		status: row.status === "alerting" ? "alerting" : "ok",
		since: row.since,
		lastSentAt: row.last_sent_at,
		createdAt: row.created_at,
	};
}

/**
 * Compare-and-set: move to alerting with last_sent_at = `at` (keeping `since` if already alerting),
 * only if the alert is ok, was never sent, or was last sent at or before `repeatBefore`.
 * Returns whether this call changed the row.
 */
export async function updateAlertToAlerting(db: D1Database, key: string, at: string, repeatBefore: string): Promise<boolean> {
	const result = await db
		.prepare(
			`UPDATE alert_state
			   SET since = CASE WHEN status = 'alerting' THEN since ELSE ? END,
			       status = 'alerting', last_sent_at = ?, updated_at = ?
			 WHERE key = ? AND (status = 'ok' OR last_sent_at IS NULL OR last_sent_at <= ?)`,
		)
		.bind(at, at, at, key, repeatBefore)
		.run();
	return result.meta.changes === 1;
}

/** Compare-and-set: put last_sent_at back to `previous` if it is still `claimedAt`. */
export async function updateAlertLastSentBack(db: D1Database, key: string, claimedAt: string, previous: string | null): Promise<void> {
	await db
		.prepare("UPDATE alert_state SET last_sent_at = ? WHERE key = ? AND last_sent_at = ?")
		.bind(previous, key, claimedAt)
		.run();
}

/** Compare-and-set: back to ok since `at`, only if alerting. Returns whether this call changed the row. */
export async function updateAlertToOk(db: D1Database, key: string, at: string): Promise<boolean> {
	const result = await db
		.prepare(
			"UPDATE alert_state SET status = 'ok', since = ?, last_sent_at = NULL, updated_at = ? WHERE key = ? AND status = 'alerting'",
		)
		.bind(at, at, key)
		.run();
	return result.meta.changes === 1;
}
