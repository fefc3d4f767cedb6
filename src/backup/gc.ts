// Garbage collection of incomplete snapshots: folders without a manifest (a run that failed or
// was interrupted before its commit point) older than a day. Run only after a successful backup.
import { fetchActiveRuns } from "../db/backup-runs";
import { manifestKey, parseSnapshotTime, snapshotPrefix } from "../snapshots/format";
import { listKeys, listSnapshotFolders, type SnapshotStore } from "../snapshots/store";
import { fetchRunWorkflowStatus } from "./chain";

export const GC_MIN_AGE_MS = 24 * 60 * 60 * 1000;

/** Pure: is this folder old enough to be garbage (given it has no manifest)? */
export function isGarbageCandidate(snapshotId: string, now: Date, keep: string): boolean {
	if (snapshotId === keep) return false;
	const at = parseSnapshotTime(snapshotId);
	return at !== undefined && now.getTime() - at.getTime() > GC_MIN_AGE_MS;
}

/** Workflow statuses after which an instance can no longer write anything. */
const ENDED = new Set(["errored", "terminated", "complete"]);

/**
 * Snapshot ids that backup runs other than `runId` may still be writing: every run recorded as
 * queued/running in D1, unless its Workflow instance is known to have ended. A folder's age alone
 * does not prove it abandoned: a run can be paused, or retrying through an outage, for more than
 * a day, and deleting its chunks would let it commit a manifest over missing objects. When the
 * instance's status cannot be read, the folder is protected (a stale row only delays the GC).
 */
export async function fetchSnapshotsInProgress(env: Env, runId: string): Promise<Set<string>> {
	const ids = new Set<string>();
	for (const run of await fetchActiveRuns(env.DB)) {
		if (run.id === runId || !run.snapshotId) continue;
		let status: string | undefined;
		try {
			status = await fetchRunWorkflowStatus(env.BACKUP_WORKFLOW, run.id);
		} catch {
			status = undefined;
		}
		if (status === undefined || !ENDED.has(status)) ids.add(run.snapshotId);
	}
	return ids;
}

/**
 * Delete every object of each manifest-less folder older than a day. Never touches a folder
 * that has a manifest, nor `keep` (the snapshot just written), nor a folder in `inProgress`
 * (see fetchSnapshotsInProgress). Returns the removed snapshot ids. Idempotent: a retry finds
 * less to delete.
 */
export async function removeIncompleteSnapshots(
	store: SnapshotStore,
	now: Date,
	keep: string,
	inProgress: ReadonlySet<string> = new Set(),
): Promise<string[]> {
	const removed: string[] = [];
	for (const id of await listSnapshotFolders(store)) {
		if (!isGarbageCandidate(id, now, keep) || inProgress.has(id)) continue;
		if (await store.head(manifestKey(id))) continue;
		const keys = await listKeys(store, snapshotPrefix(id));
		for (let i = 0; i < keys.length; i += 1000) await store.delete(keys.slice(i, i + 1000));
		removed.push(id);
	}
	return removed;
}
