// Reads what the monitor needs from R2, the source of truth (it survives the loss of D1):
// the newest verified snapshot, and the count and size of all of them.
import { listManifests, listSnapshotFolders, readManifest, type SnapshotStore } from "../snapshots/store";
import type { NewestSnapshot } from "./staleness";

/**
 * The newest *verified* snapshot: the newest folder with a readable, checksum-matching manifest
 * (the backup writes the manifest only after reading every chunk back and matching it).
 * Reads manifests newest-first and stops at the first good one: usually 1 list + 1 read.
 */
export async function fetchNewestVerified(store: SnapshotStore): Promise<NewestSnapshot | null> {
	const ids = await listSnapshotFolders(store);
	for (let i = ids.length - 1; i >= 0; i--) {
		const read = await readManifest(store, ids[i]!);
		if (read.ok) return { snapshotId: read.manifest.snapshotId, finishedAt: read.manifest.finishedAt };
	}
	return null;
}

export type SnapshotTotals = { count: number; totalBytes: number; newest: NewestSnapshot | null };

/** Every verified snapshot's count and stored bytes (reads each manifest: admin pages only). */
export async function fetchSnapshotTotals(store: SnapshotStore): Promise<SnapshotTotals> {
	const manifests = await listManifests(store);
	const newest = manifests[0];
	return {
		count: manifests.length,
		totalBytes: manifests.reduce((sum, m) => sum + m.bytes, 0),
		newest: newest ? { snapshotId: newest.snapshotId, finishedAt: newest.finishedAt } : null,
	};
}
