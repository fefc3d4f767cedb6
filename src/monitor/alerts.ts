// Alert de-duplication for the dead man's switch: the stale alert at most once a day while it
// lasts, the recovery exactly once. Decision is pure; the D1 state is claimed with
// compare-and-set updates so a duplicate cron delivery cannot send twice.
import type { Staleness } from "./staleness";
import {
	fetchStoredAlertState,
	insertAlertStateIfMissing,
	updateAlertLastSentBack,
	updateAlertToAlerting,
	updateAlertToOk,
	type AlertState,
} from "../db/alert-state";

export type { AlertState };

export const STALE_ALERT_KEY = "backup_stale";
/** Minimum hours between two stale alerts while the condition lasts. */
export const STALE_REPEAT_HOURS = 24;

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

/** Read the state, creating it (status ok, watching from `now`) on the first run. */
export async function fetchAlertState(db: D1Database, key: string, now: Date): Promise<AlertState> {
	await insertAlertStateIfMissing(db, key, now.toISOString());
	const state = await fetchStoredAlertState(db, key);
	if (!state) throw new Error(`alert_state ${key} missing after insert`);
	return state;
}

/** Read without creating (for status pages); null before the monitor's first run. */
export async function peekAlertState(db: D1Database, key: string): Promise<AlertState | null> {
	return fetchStoredAlertState(db, key);
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
	const before = await peekAlertState(db, key);
	const repeatBefore = new Date(now.getTime() - STALE_REPEAT_HOURS * 3_600_000).toISOString();
	const claimed = await updateAlertToAlerting(db, key, now.toISOString(), repeatBefore);
	return { claimed, previousLastSentAt: before?.lastSentAt ?? null };
}

/** Undo a claim whose alert reached no channel, so that the next hourly run tries again. */
export async function releaseStaleAlert(db: D1Database, key: string, claimedAt: Date, previous: string | null): Promise<void> {
	await updateAlertLastSentBack(db, key, claimedAt.toISOString(), previous);
}

/** Claim the recovery: succeeds once per stale episode. Returns when the episode started. */
export async function claimRecovery(
	db: D1Database,
	key: string,
	now: Date,
): Promise<{ claimed: boolean; staleSince: string | null }> {
	const before = await peekAlertState(db, key);
	const claimed = await updateAlertToOk(db, key, now.toISOString());
	return { claimed, staleSince: before?.since ?? null };
}
