// Reads what the monitor needs from the snapshot store, the source of truth (it survives the loss
// of D1): the newest verified snapshot, and the count and size of all of them. A snapshot counts
// only when its manifest is authentic (signature.ts) and not dated in the future: otherwise one
// planted object could silence the no-backup alarm forever.
import type { Manifest } from "../snapshots/format";
import { findIgnoreReason, type IgnoredSnapshot } from "../snapshots/signature";

export type { IgnoredSnapshot };
import { listManifestReads, listSnapshotFolders, readManifest, type ManifestKeyring, type SnapshotStore } from "../snapshots/store";
import type { NewestSnapshot } from "./staleness";

/**
 * The newest *verified* snapshot: the newest folder with a readable, checksum-matching, authentic
 * manifest not dated in the future (the backup writes the manifest only after reading every chunk
 * back and matching it). Reads manifests newest-first and stops at the first good one: usually
 * 1 list + 1 read.
 */
export async function fetchNewestVerified(
	store: SnapshotStore,
	keyring: ManifestKeyring,
	now: Date,
): Promise<NewestSnapshot | null> {
	const ids = await listSnapshotFolders(store);
	for (let i = ids.length - 1; i >= 0; i--) {
		const read = await readManifest(store, ids[i]!, keyring);
		if (read.ok && findIgnoreReason(read.manifest, read.signature, now) === null) {
			return { snapshotId: read.manifest.snapshotId, finishedAt: read.manifest.finishedAt };
		}
	}
	return null;
}

export type SnapshotTotals = {
	count: number;
	totalBytes: number;
	newest: NewestSnapshot | null;
	/** When the oldest counted snapshot finished (how long backups have existed), null when none. */
	oldestFinishedAt: string | null;
	/** Readable snapshots that are not counted (untrusted signature, or dated in the future). */
	ignored: IgnoredSnapshot[];
};

/** Every verified snapshot's count and stored bytes (reads each manifest: admin pages only). */
export async function fetchSnapshotTotals(store: SnapshotStore, keyring: ManifestKeyring, now: Date): Promise<SnapshotTotals> {
	const ignored: IgnoredSnapshot[] = [];
	const counted: Manifest[] = [];
	for (const read of await listManifestReads(store, keyring)) {
		const reason = findIgnoreReason(read.manifest, read.signature, now);
		if (reason) ignored.push({ snapshotId: read.manifest.snapshotId, reason });
		else counted.push(read.manifest);
	}
	const newest = counted[0];
	return {
		count: counted.length,
		totalBytes: counted.reduce((sum, m) => sum + m.bytes, 0),
		newest: newest ? { snapshotId: newest.snapshotId, finishedAt: newest.finishedAt } : null,
		oldestFinishedAt: counted.at(-1)?.finishedAt ?? null,
		ignored,
	};
}
