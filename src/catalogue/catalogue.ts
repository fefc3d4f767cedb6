// The snapshot catalogue: what every committed snapshot's manifest says, kept in D1 (src/db/
// snapshot-catalogue.ts) so that status, the hourly check, retention and the snapshot list do not
// read, parse and authenticate every manifest on every call. Filled when a manifest is written
// (backup, import) and reconciled cheaply against the bucket: one listing of the folders, then
// only the manifests it does not know (bounded per call), and a bounded number of HEADs that notice
// a manifest removed behind its back. The bucket stays the source of truth: a restore, a
// verification and a download still read and check the manifest itself (docs/decisions.md).
import {
	fetchCatalogue,
	updateCatalogueChecks,
	upsertCatalogueEntries,
	type CatalogueEntry,
} from "../db/snapshot-catalogue";
import { manifestKey, serializeManifest, sha256Hex, type Manifest } from "../snapshots/format";
import { buildKeyId, findIgnoreReason, type IgnoredSnapshot } from "../snapshots/signature";
import {
	MANIFEST_SHA_META,
	listSnapshotFolders,
	readManifest,
	type ManifestKeyring,
	type ManifestRead,
	type SnapshotStore,
} from "../snapshots/store";

export type { CatalogueEntry };

/** Manifests read per call at most by the hourly check, the status and the snapshot list. */
export const MAX_MANIFEST_READS = 20;

const keyIds = new Map<string, Promise<string>>();

/** The public id of the configured signing key (null without one); computed once per isolate. */
export function fetchKeyId(keyring: ManifestKeyring): Promise<string | null> {
	const secret = keyring.signingKey;
	if (!secret) return Promise.resolve(null);
	let id = keyIds.get(secret);
	if (!id) keyIds.set(secret, (id = buildKeyId(secret)));
	return id;
}

/** Pure: the catalogue entry of a manifest that was read and checked. */
export function buildCatalogueEntry(read: Extract<ManifestRead, { ok: true }>, keyId: string | null, now: Date): CatalogueEntry {
	const m = read.manifest;
	const at = now.toISOString();
	return {
		snapshotId: m.snapshotId,
		startedAt: m.startedAt,
		finishedAt: m.finishedAt,
		trigger: m.trigger === "scheduled" ? "scheduled" : "manual",
		formatVersion: m.version,
		bytes: m.bytes,
		rows: m.rows,
		tables: Object.fromEntries(Object.entries(m.tables).map(([t, s]) => [t, s.rows])),
		chunks: m.chunks.length,
		encrypted: m.encryption !== null,
		signature: read.signature,
		keyId,
		manifestSha256: sha256Hex(read.text),
		cataloguedAt: at,
		checkedAt: at,
		goneAt: null,
	};
}

/** Record a manifest just written and read back (the backup's and the import's commit). */
export async function catalogueManifest(
	db: D1Database,
	read: Extract<ManifestRead, { ok: true }>,
	keyring: ManifestKeyring,
	now: Date,
): Promise<CatalogueEntry> {
	const entry = buildCatalogueEntry(read, await fetchKeyId(keyring), now);
	await upsertCatalogueEntries(db, [entry]);
	return entry;
}

/**
 * Record a manifest this deployment has just committed with writeManifest (which wrote exactly
 * serializeManifest(manifest), signed with the keyring's key, and read it back): the backup's
 * commit and the import's.
 */
export function catalogueCommitted(
	db: D1Database,
	manifest: Manifest,
	keyring: ManifestKeyring,
	now: Date,
	written?: { text: string },
): Promise<CatalogueEntry> {
	const text = written?.text ?? serializeManifest(manifest);
	const signature = keyring.signingKey ? "valid" : "no-key";
	return catalogueManifest(db, { ok: true, manifest, text, sha256Recorded: true, signature }, keyring, now);
}

export type CatalogueView = {
	/** Catalogued snapshots whose folder is in the bucket, newest first (trusted or not). */
	entries: CatalogueEntry[];
	/** Folders without a manifest (a running or failed backup). */
	incomplete: string[];
	/** Folders whose manifest exists but cannot be read (checksum, format). */
	unreadable: Array<{ id: string; reason: string }>;
	/** Folders not catalogued yet because of the per-call bound (read by a later call). */
	pending: string[];
	/** What this call did: manifests read, HEADs made, entries found gone. */
	work: { reads: number; heads: number; gone: string[] };
};

/** D1 could not be read: the caller may read the bucket alone instead (a bucket failure is thrown as is). */
export class CatalogueUnavailable extends Error {
	constructor(cause: unknown) {
		super(`the snapshot catalogue cannot be read: ${cause instanceof Error ? cause.message : String(cause)}`);
		this.name = "CatalogueUnavailable";
	}
}

export type ReconcileOptions = {
	/** Unknown manifests read at most (default MAX_MANIFEST_READS). */
	maxReads?: number;
	/**
	 * HEADs of catalogued manifests, to notice one removed behind the catalogue's back: "all"
	 * (retention, before it decides anything), or a number: the newest trusted entry first, then the
	 * least recently checked ones (the hourly check). Default 0.
	 */
	heads?: number | "all";
};

/**
 * Pure: which folders must be read (not catalogued, or catalogued with another signing key),
 * newest first, and which entries vanished with their folder.
 */
export function planReconcile(
	folders: readonly string[],
	catalogue: readonly CatalogueEntry[],
	keyId: string | null,
): { unknown: string[]; vanished: string[] } {
	const inBucket = new Set(folders);
	const byId = new Map(catalogue.map((e) => [e.snapshotId, e]));
	const unknown: string[] = [];
	for (let i = folders.length - 1; i >= 0; i--) {
		const e = byId.get(folders[i]!);
		// A gone entry whose folder remains holds chunks without a manifest: the backup's GC owns it.
		if (!e || (!e.goneAt && e.keyId !== keyId)) unknown.push(folders[i]!);
	}
	const vanished = catalogue.filter((e) => !e.goneAt && !inBucket.has(e.snapshotId)).map((e) => e.snapshotId);
	return { unknown, vanished };
}

/** Pure: the entries a bounded HEAD pass looks at: the newest trusted first, then the least recently checked. */
export function pickHeads(entries: readonly CatalogueEntry[], count: number, now: Date): CatalogueEntry[] {
	if (count <= 0) return [];
	const newest = entries.find((e) => findIgnoreReason(e, e.signature, now) === null);
	const rest = entries.filter((e) => e !== newest).sort((a, b) => a.checkedAt.localeCompare(b.checkedAt));
	return (newest ? [newest, ...rest] : rest).slice(0, count);
}

/**
 * Bring the catalogue in line with the bucket, within bounds, and return what it now says.
 * Costs one listing, one D1 read, at most `maxReads` manifest reads, the HEADs asked for, and at
 * most two D1 batches. Throws when D1 or the bucket cannot be read (callers decide).
 */
export async function reconcileCatalogue(
	store: SnapshotStore,
	db: D1Database,
	keyring: ManifestKeyring,
	now: Date,
	options: ReconcileOptions = {},
): Promise<CatalogueView> {
	const maxReads = options.maxReads ?? MAX_MANIFEST_READS;
	const [folders, catalogue, keyId] = await Promise.all([
		listSnapshotFolders(store),
		fetchCatalogue(db).catch((err: unknown) => {
			throw new CatalogueUnavailable(err);
		}),
		fetchKeyId(keyring),
	]);
	const { unknown, vanished } = planReconcile(folders, catalogue, keyId);
	const view: CatalogueView = { entries: [], incomplete: [], unreadable: [], pending: [], work: { reads: 0, heads: 0, gone: [...vanished] } };
	const fresh = new Map<string, CatalogueEntry>();
	const toRead = unknown.slice(0, maxReads);
	view.pending = unknown.slice(maxReads);

	const readAll = async (ids: readonly string[]) => {
		for (let i = 0; i < ids.length; i += 8) {
			const batch = ids.slice(i, i + 8);
			const reads = await Promise.all(batch.map((id) => readManifest(store, id, keyring)));
			view.work.reads += batch.length;
			reads.forEach((read, j) => {
				const id = batch[j]!;
				if (read.ok) fresh.set(id, buildCatalogueEntry(read, keyId, now));
				else if (read.reason === "missing") view.incomplete.push(id);
				else view.unreadable.push({ id, reason: read.message });
			});
		}
	};
	await readAll(toRead);

	// Known entries still in the bucket (and not re-read above).
	const gone = new Set(vanished);
	const known = catalogue.filter((e) => !e.goneAt && !gone.has(e.snapshotId) && !fresh.has(e.snapshotId) && !view.pending.includes(e.snapshotId));
	const seen: string[] = [];
	const headCount = options.heads === "all" ? known.length : (options.heads ?? 0);
	const changed: string[] = [];
	const toHead = pickHeads(known, headCount, now);
	for (let i = 0; i < toHead.length; i += 8) {
		const batch = toHead.slice(i, i + 8);
		const infos = await Promise.all(batch.map((e) => store.head(manifestKey(e.snapshotId))));
		view.work.heads += batch.length;
		infos.forEach((info, j) => {
			const e = batch[j]!;
			if (!info) gone.add(e.snapshotId);
			else if (info.metadata[MANIFEST_SHA_META] && info.metadata[MANIFEST_SHA_META] !== e.manifestSha256) changed.push(e.snapshotId);
			else seen.push(e.snapshotId);
		});
	}
	// A manifest replaced behind the catalogue's back is read again, whatever the bound.
	await readAll(changed);
	view.work.gone = [...gone];

	await Promise.all([
		upsertCatalogueEntries(db, [...fresh.values()]),
		gone.size > 0 || seen.length > 0 ? updateCatalogueChecks(db, { seen, gone: [...gone], at: now }) : Promise.resolve(),
	]);
	const at = now.toISOString();
	const current = new Map<string, CatalogueEntry>();
	for (const e of known) if (!gone.has(e.snapshotId)) current.set(e.snapshotId, seen.includes(e.snapshotId) ? { ...e, checkedAt: at } : e);
	for (const [id, e] of fresh) current.set(id, e);
	view.entries = [...current.values()].sort((a, b) => (a.snapshotId < b.snapshotId ? 1 : -1));
	return view;
}

/** Pure: is a catalogued snapshot counted as a verified backup (authentic, not from the future)? */
export function isCounted(e: CatalogueEntry, now: Date): boolean {
	return findIgnoreReason(e, e.signature, now) === null;
}

export type CatalogueTotals = {
	count: number;
	totalBytes: number;
	newest: { snapshotId: string; finishedAt: string } | null;
	/** When the oldest counted snapshot finished (how long backups have existed), null when none. */
	oldestFinishedAt: string | null;
	ignored: IgnoredSnapshot[];
};

/** Pure: count, size and newest of the counted snapshots, and why the others are not counted. */
export function buildCatalogueTotals(entries: readonly CatalogueEntry[], now: Date): CatalogueTotals {
	const totals: CatalogueTotals = { count: 0, totalBytes: 0, newest: null, oldestFinishedAt: null, ignored: [] };
	for (const e of entries) {
		const reason = findIgnoreReason(e, e.signature, now);
		if (reason) {
			totals.ignored.push({ snapshotId: e.snapshotId, reason });
			continue;
		}
		totals.count++;
		totals.totalBytes += e.bytes;
		if (!totals.newest) totals.newest = { snapshotId: e.snapshotId, finishedAt: e.finishedAt };
		if (totals.oldestFinishedAt === null || e.finishedAt < totals.oldestFinishedAt) totals.oldestFinishedAt = e.finishedAt;
	}
	return totals;
}

