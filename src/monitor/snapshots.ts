// Reads what the monitor needs about the snapshots: the newest verified one, and the count and size
// of all of them. From the snapshot catalogue (src/catalogue/), reconciled against the bucket within
// bounds on every call; when D1 cannot be read, straight from the snapshot store, the source of
// truth (it survives the loss of D1). A snapshot counts only when its manifest is authentic
// (signature.ts) and not dated in the future: otherwise one planted object could silence the
// no-backup alarm forever.
import { CatalogueUnavailable, buildCatalogueTotals, reconcileCatalogue, type CatalogueView, type ReconcileOptions } from "../catalogue/catalogue";
import { describeError, logError } from "../log";
import type { Manifest } from "../snapshots/format";
import { findIgnoreReason, type IgnoredSnapshot } from "../snapshots/signature";
import { listManifestReads, listSnapshotFolders, readManifest, type ManifestKeyring, type SnapshotStore } from "../snapshots/store";
import type { NewestSnapshot } from "./staleness";

export type { IgnoredSnapshot };

/**
 * The newest *verified* snapshot read from the store alone: the newest folder with a readable,
 * checksum-matching, authentic manifest not dated in the future. Reads manifests newest-first and
 * stops at the first good one: usually 1 list + 1 read. The fallback when D1 is unavailable.
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
	/** Snapshot folders not catalogued yet (read by the next calls; 0 when read from the store). */
	pending: number;
	/** "catalogue", or "store" when D1 could not be read. */
	source: "catalogue" | "store";
};

/** Every verified snapshot's count and stored bytes from the store alone (reads each manifest). */
export async function fetchSnapshotTotalsFromStore(store: SnapshotStore, keyring: ManifestKeyring, now: Date): Promise<SnapshotTotals> {
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
		pending: 0,
		source: "store",
	};
}

/**
 * Totals from the catalogue after a bounded reconciliation (see ReconcileOptions); from the store
 * alone when D1 cannot be read (a stale backup while D1 is down is exactly when someone must hear).
 */
export async function fetchSnapshotTotals(
	store: SnapshotStore,
	db: D1Database,
	keyring: ManifestKeyring,
	now: Date,
	options: ReconcileOptions = {},
): Promise<SnapshotTotals & { view: CatalogueView | null }> {
	let view: CatalogueView;
	try {
		view = await reconcileCatalogue(store, db, keyring, now, options);
	} catch (err) {
		if (!(err instanceof CatalogueUnavailable)) throw err;
		logError("catalogue_unavailable", { error: describeError(err) });
		return { ...(await fetchSnapshotTotalsFromStore(store, keyring, now)), view: null };
	}
	return { ...buildCatalogueTotals(view.entries, now), pending: view.pending.length, source: "catalogue", view };
}
