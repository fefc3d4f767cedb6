// Alert de-duplication for the dead man's switch: the stale alert at most once a day while it
// lasts, the recovery exactly once. Decision is pure; the D1 state is claimed with
// compare-and-set updates so a duplicate cron delivery cannot send twice.
import type { Staleness } from "./staleness";

export const STALE_ALERT_KEY = "backup_stale";
/** Minimum hours between two stale alerts while the condition lasts. */
export const STALE_REPEAT_HOURS = 24;

export type AlertState = {
	status: "ok" | "alerting";
	/** When the current status began (ISO). */
	since: string;
	/** When the stale alert was last delivered (ISO), null if never in this episode. */
	lastSentAt: string | null;
	/** When the monitor first ran (ISO). */
	createdAt: string;
};

export type AlertAction = "none" | "send_stale" | "send_recovered";

/** Pure: what the hourly check should send, given the stored state and the current staleness. */
export function decideStaleAlert(state: AlertState, staleness: Pick<Staleness, "stale" | "newest">, now: Date): AlertAction {
	if (staleness.stale) {
		if (state.status !== "alerting" || state.lastSentAt === null) return "send_stale";
		const sinceLast = now.getTime() - new Date(state.lastSentAt).getTime();
		return sinceLast >= STALE_REPEAT_HOURS * 3_600_000 ? "send_stale" : "none";
	}
	// Recovery needs an actual verified snapshot (not just "not stale yet").
	if (state.status === "alerting" && staleness.newest) return "send_recovered";
	return "none";
}

type Row = { status: string; since: string; last_sent_at: string | null; created_at: string };

/** Read the state, creating it (status ok, watching from `now`) on the first run. */
export async function fetchAlertState(db: D1Database, key: string, now: Date): Promise<AlertState> {
	const iso = now.toISOString();
	await db
		.prepare(
			"INSERT OR IGNORE INTO alert_state (key, status, since, last_sent_at, created_at, updated_at) VALUES (?, 'ok', ?, NULL, ?, ?)",
		)
		.bind(key, iso, iso, iso)
		.run();
	const row = await db
		.prepare("SELECT status, since, last_sent_at, created_at FROM alert_state WHERE key = ?")
		.bind(key)
		.first<Row>();
	if (!row) throw new Error(`alert_state ${key} missing after insert`);
	return {
		status: row.status === "alerting" ? "alerting" : "ok",
		since: row.since,
		lastSentAt: row.last_sent_at,
		createdAt: row.created_at,
	};
}

/** Read without creating (for status pages); null before the monitor's first run. */
export async function peekAlertState(db: D1Database, key: string): Promise<AlertState | null> {
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
 * Claim the right to send a stale alert at `now`: succeeds for exactly one caller per day
 * (the row's last_sent_at moves to `now`). Returns the previous last_sent_at to release with.
 */
export async function claimStaleAlert(
	db: D1Database,
	key: string,
	now: Date,
): Promise<{ claimed: boolean; previousLastSentAt: string | null }> {
	const iso = now.toISOString();
	const before = await peekAlertState(db, key);
	const repeatBefore = new Date(now.getTime() - STALE_REPEAT_HOURS * 3_600_000).toISOString();
	const result = await db
		.prepare(
			`UPDATE alert_state
			   SET since = CASE WHEN status = 'alerting' THEN since ELSE ? END,
			       status = 'alerting', last_sent_at = ?, updated_at = ?
			 WHERE key = ? AND (status = 'ok' OR last_sent_at IS NULL OR last_sent_at <= ?)`,
		)
		.bind(iso, iso, iso, key, repeatBefore)
		.run();
	return { claimed: result.meta.changes === 1, previousLastSentAt: before?.lastSentAt ?? null };
}

/** Undo a claim whose alert reached no channel, so that the next hourly run tries again. */
export async function releaseStaleAlert(db: D1Database, key: string, claimedAt: Date, previous: string | null): Promise<void> {
	await db
		.prepare("UPDATE alert_state SET last_sent_at = ? WHERE key = ? AND last_sent_at = ?")
		.bind(previous, key, claimedAt.toISOString())
		.run();
}

/** Claim the recovery: succeeds once per stale episode. Returns when the episode started. */
export async function claimRecovery(
	db: D1Database,
	key: string,
	now: Date,
): Promise<{ claimed: boolean; staleSince: string | null }> {
	const before = await peekAlertState(db, key);
	const iso = now.toISOString();
	const result = await db
		.prepare(
			"UPDATE alert_state SET status = 'ok', since = ?, last_sent_at = NULL, updated_at = ? WHERE key = ? AND status = 'alerting'",
		)
		.bind(iso, iso, key)
		.run();
	return { claimed: result.meta.changes === 1, staleSince: before?.since ?? null };
}
