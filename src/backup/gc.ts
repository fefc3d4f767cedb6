// Garbage collection of incomplete snapshots: folders without a manifest (a run that failed or
// was interrupted before its commit point) older than a day. Run only after a successful backup.
import { manifestKey, parseSnapshotTime, snapshotPrefix } from "./format";
import { listKeys, listSnapshotFolders } from "./store";

export const GC_MIN_AGE_MS = 24 * 60 * 60 * 1000;

/** Pure: is this folder old enough to be garbage (given it has no manifest)? */
export function isGarbageCandidate(snapshotId: string, now: Date, keep: string): boolean {
	if (snapshotId === keep) return false;
	const at = parseSnapshotTime(snapshotId);
	return at !== undefined && now.getTime() - at.getTime() > GC_MIN_AGE_MS;
}

/**
 * Delete every object of each manifest-less folder older than a day. Never touches a folder
 * that has a manifest, nor `keep` (the snapshot just written). Returns the removed snapshot ids.
 * Idempotent: a retry finds less to delete.
 */
export async function removeIncompleteSnapshots(bucket: R2Bucket, now: Date, keep: string): Promise<string[]> {
	const removed: string[] = [];
	for (const id of await listSnapshotFolders(bucket)) {
		if (!isGarbageCandidate(id, now, keep)) continue;
		if (await bucket.head(manifestKey(id))) continue;
		const keys = await listKeys(bucket, snapshotPrefix(id));
		for (let i = 0; i < keys.length; i += 1000) await bucket.delete(keys.slice(i, i + 1000));
		removed.push(id);
	}
	return removed;
}
