// Recovery into a new (or emptied) deployment: a snapshot pushed from an administrator's copy
// through the admin API lands in the primary store exactly as a backup would have written it.
// Within the Free plan's 5 ms per request and per step (docs/decisions.md, "The import is a job"):
// a chunk is stored on arrival with only its SHA-256 checked (by R2, against the one the client
// declares); the manifest is checked for form and kept aside (imports/<id>/manifest.json), then the
// ImportWorkflow reads every chunk back ONE PART per step (size, SHA-256, gzip, every record,
// counts), sums per-table counts and digests, compares them with the manifest and only then writes
// it — signed by THIS deployment, so the snapshot is then listed, verified and restorable like any
// other. A committed snapshot is never overwritten; a refused import commits nothing.
import { checkChunkCounts, inspectPart } from "../snapshots/codec";
import {
	chunkKey,
	combineTableDigests,
	DigestSum,
	FormatError,
	isChunkKeyOf,
	manifestKey,
	parseManifest,
	partsOf,
	sha256Hex,
	snapshotPrefix,
	type ChunkEntry,
	type Manifest,
} from "../snapshots/format";
import { readPartBytes, StoreError, writeManifest, type ManifestKeyring, type SnapshotStore } from "../snapshots/store";

export class ImportError extends Error {
	readonly code: "snapshot_exists" | "invalid_chunk" | "invalid_manifest" | "import_running";
	constructor(code: ImportError["code"], message: string) {
		super(message);
		this.name = "ImportError";
		this.code = code;
	}
}

/** Custom metadata of a pushed chunk: the SHA-256 its bytes were stored with (checked by the store). */
export const CHUNK_SHA_META = "sha256";

/** Where an import keeps its pushed manifest and its status, outside the snapshot's folder. */
export const pendingManifestKey = (snapshotId: string) => `imports/${snapshotId}/manifest.json`;
export const importStatusKey = (snapshotId: string) => `imports/${snapshotId}/status.json`;

/** What GET /api/admin/imports/{id} answers (the job writes it as it goes). */
export type ImportStatus = {
	snapshotId: string;
	status: "queued" | "running" | "done" | "failed";
	progress: { parts: { done: number; total: number } };
	/** Why the import was refused (plain sentence, no record content). */
	error: string | null;
	/** The Workflow instance doing the work. */
	instance: string;
	startedAt: string;
	finishedAt: string | null;
	/** Once done: what was committed. */
	rows: number | null;
	chunks: number | null;
	contentDigest: string | null;
};

async function refuseCommitted(store: SnapshotStore, snapshotId: string): Promise<void> {
	if (await store.head(manifestKey(snapshotId))) {
		throw new ImportError("snapshot_exists", `snapshot ${snapshotId} already exists here; it is never overwritten`);
	}
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Store chunk `n` of a snapshot being imported. `declaredSha256` (what the client computed; the
 * manifest will name it) is checked by the store itself on arrival: a body that differs is refused
 * and nothing is stored. Its records are NOT decoded here: the import job reads them back.
 */
export async function importChunk(
	store: SnapshotStore,
	snapshotId: string,
	n: number,
	bytes: Uint8Array,
	declaredSha256?: string,
): Promise<{ key: string; bytes: number; sha256: string }> {
	if (declaredSha256 !== undefined && !SHA256_HEX.test(declaredSha256)) {
		throw new ImportError("invalid_chunk", "the declared SHA-256 is not 64 lowercase hexadecimal characters");
	}
	await refuseCommitted(store, snapshotId);
	const key = chunkKey(snapshotId, n);
	const sha256 = declaredSha256 ?? sha256Hex(bytes);
	try {
		await store.put(key, bytes, { sha256, contentType: "application/gzip", metadata: { [CHUNK_SHA_META]: sha256 } });
	} catch (err) {
		if (err instanceof StoreError && err.code === "checksum") {
			throw new ImportError("invalid_chunk", `chunk ${n}: its SHA-256 is not the one declared (damaged on the way); nothing was stored`);
		}
		throw err;
	}
	return { key, bytes: bytes.byteLength, sha256 };
}

/**
 * The manifest PUT's checks, all cheap: not committed yet, parseable (format, version, parts),
 * this snapshot's, unencrypted, every chunk key a plain chunk of this snapshot. The chunks
 * themselves are checked by the job.
 */
export async function checkImportManifest(store: SnapshotStore, snapshotId: string, manifestText: string): Promise<Manifest> {
	await refuseCommitted(store, snapshotId);
	let manifest: Manifest;
	try {
		manifest = parseManifest(manifestText);
	} catch (err) {
		throw new ImportError("invalid_manifest", err instanceof FormatError ? err.message : "unreadable manifest");
	}
	if (manifest.snapshotId !== snapshotId) throw new ImportError("invalid_manifest", "the manifest names another snapshot");
	if (manifest.encryption !== null) throw new ImportError("invalid_manifest", "push the decrypted snapshot (`--identity`): the primary copy is not encrypted");
	for (const entry of manifest.chunks) {
		if (!isChunkKeyOf(snapshotId, entry.key) || entry.key.endsWith(".age")) {
			throw new ImportError("invalid_manifest", `chunk ${entry.n}: its key is not a plain chunk of this snapshot`);
		}
	}
	return manifest;
}

/** The pushed manifest kept for the job (never in the snapshot's folder: it is not committed). */
export async function putPendingManifest(store: SnapshotStore, snapshotId: string, text: string): Promise<string> {
	const sha256 = sha256Hex(text);
	await store.put(pendingManifestKey(snapshotId), text, { sha256, contentType: "application/json" });
	return sha256;
}

async function readPendingManifest(store: SnapshotStore, snapshotId: string, sha256: string): Promise<Manifest> {
	const obj = await store.get(pendingManifestKey(snapshotId));
	if (!obj) throw new ImportError("invalid_manifest", "the pushed manifest is gone (pushed again meanwhile?)");
	const text = new TextDecoder().decode(obj.bytes);
	if (sha256Hex(text) !== sha256) throw new ImportError("invalid_manifest", "the pushed manifest changed while it was being checked (pushed again?)");
	return parseManifest(text);
}

export async function putImportStatus(store: SnapshotStore, status: ImportStatus): Promise<void> {
	await store.put(importStatusKey(status.snapshotId), JSON.stringify(status), { contentType: "application/json" });
}

export async function fetchImportStatus(store: SnapshotStore, snapshotId: string): Promise<ImportStatus | undefined> {
	const obj = await store.get(importStatusKey(snapshotId));
	return obj ? (JSON.parse(new TextDecoder().decode(obj.bytes)) as ImportStatus) : undefined;
}

/** Per-table rows and digest: what the manifest says, what the parts give. */
export type TableSum = { rows: number; digest: string };

/** What the job's first step finds: the plan (small), or why the chunks cannot be read. */
export type ImportPlan = {
	problem: string | null;
	/** Parts of each chunk (index n - 1). */
	partsPerChunk: number[];
	expected: Record<string, TableSum>;
};

/**
 * Step "plan": the pushed manifest read back, every chunk it lists present with its size and the
 * SHA-256 it was stored with (one listing; no chunk is read), and the manifest's own digest.
 */
export async function planImportCheck(store: SnapshotStore, snapshotId: string, manifestSha256: string): Promise<ImportPlan> {
	const manifest = await readPendingManifest(store, snapshotId, manifestSha256);
	const expected: Record<string, TableSum> = {};
	for (const [t, s] of Object.entries(manifest.tables)) expected[t] = { rows: s.rows, digest: s.digest };
	const plan: ImportPlan = { problem: null, partsPerChunk: manifest.chunks.map((c) => partsOf(c).length), expected };
	const stored = new Map((await store.list(snapshotPrefix(snapshotId))).map((o) => [o.key, o]));
	for (const c of manifest.chunks) {
		const o = stored.get(c.key);
		if (!o) plan.problem = `chunk ${c.n}: not pushed (missing)`;
		else if (o.size !== c.bytes) plan.problem = `chunk ${c.n}: ${o.size} bytes pushed, manifest says ${c.bytes}`;
		else if (o.metadata[CHUNK_SHA_META] !== c.sha256) plan.problem = `chunk ${c.n}: SHA-256 does not match the manifest`;
		if (plan.problem) return plan;
	}
	if (combineTableDigests(manifest.tables) !== manifest.contentDigest) plan.problem = "the manifest's content digest does not match its tables";
	return plan;
}

/** Step "entries <from>-<to>": those chunks' manifest entries (with their parts). */
export async function fetchImportEntries(store: SnapshotStore, snapshotId: string, manifestSha256: string, from: number, to: number): Promise<ChunkEntry[]> {
	return (await readPendingManifest(store, snapshotId, manifestSha256)).chunks.slice(from - 1, to);
}

/** Step "check <n>.<part>": ONE part read by a range read and inspected; a few hundred bytes. */
export async function checkImportedPart(
	store: SnapshotStore,
	entry: ChunkEntry,
	index: number,
): Promise<{ problem: string | null; tables: Record<string, TableSum> }> {
	const inspection = inspectPart(entry, index, await readPartBytes(store, entry, index));
	return inspection.ok ? { problem: null, tables: inspection.tables } : { problem: inspection.message, tables: {} };
}

/** Pure: a chunk's per-table counts, summed over its parts, against its entry. */
export function checkImportedChunkCounts(entry: ChunkEntry, counts: Record<string, number>): string | null {
	const c = checkChunkCounts(entry, counts);
	return c.ok ? null : c.message;
}

/** Pure: add a part's per-table sums into `sums`. */
export function addTableSums(sums: Record<string, TableSum>, part: Record<string, TableSum>): Record<string, TableSum> {
	const out = { ...sums };
	for (const [t, s] of Object.entries(part)) {
		const acc = new DigestSum();
		if (out[t]) acc.addHex(out[t].digest);
		acc.addHex(s.digest);
		out[t] = { rows: (out[t]?.rows ?? 0) + s.rows, digest: acc.toHex() };
	}
	return out;
}

/** Pure: the per-table sums of every part against the manifest's tables (first problem, or null). */
export function compareImportSums(expected: Record<string, TableSum>, sums: Record<string, TableSum>): string | null {
	for (const [t, want] of Object.entries(expected)) {
		const got = sums[t] ?? { rows: 0, digest: new DigestSum().toHex() };
		if (got.rows !== want.rows) return `table ${t}: ${got.rows} rows, manifest says ${want.rows}`;
		if (got.digest !== want.digest) return `table ${t}: content digest differs from the manifest`;
	}
	for (const t of Object.keys(sums)) if (!expected[t]) return `table ${t}: not in the manifest`;
	return null;
}

/**
 * Step "commit": remove what the manifest does not list from the folder (`zcat chunk-*` must be the
 * snapshot), then write the manifest — the commit point — signed by this deployment.
 */
export async function commitImportedManifest(
	store: SnapshotStore,
	snapshotId: string,
	manifestSha256: string,
	keyring: ManifestKeyring,
): Promise<{ manifest: Manifest; text: string }> {
	await refuseCommitted(store, snapshotId);
	const manifest = await readPendingManifest(store, snapshotId, manifestSha256);
	const listed = new Set(manifest.chunks.map((c) => c.key));
	const stored = await store.list(snapshotPrefix(snapshotId));
	// Checked again at the commit point: a chunk removed or replaced since its parts were read (a
	// clean-up, a second push) must not leave a manifest over missing or other bytes.
	const found = new Map(stored.map((o) => [o.key, o]));
	for (const c of manifest.chunks) {
		const o = found.get(c.key);
		if (!o || o.size !== c.bytes || o.metadata[CHUNK_SHA_META] !== c.sha256) {
			throw new ImportError("invalid_manifest", `chunk ${c.n}: changed or removed while the import was being checked; push again`);
		}
	}
	const strays = stored.map((o) => o.key).filter((k) => !listed.has(k));
	if (strays.length > 0) await store.delete(strays);
	const written = await writeManifest(store, manifest, keyring);
	await store.delete([pendingManifestKey(snapshotId)]);
	return { manifest, text: written.text };
}

/**
 * Snapshot ids whose import is queued or running (its status says so): the backup's clean-up of
 * manifest-less folders leaves them alone, or it could delete chunks the job is reading (a pushed
 * snapshot is usually older than the clean-up's one day). One listing plus one small read per
 * import ever started (recoveries are rare).
 */
export async function fetchImportsInProgress(store: SnapshotStore): Promise<Set<string>> {
	const ids = new Set<string>();
	for (const o of await store.list("imports/")) {
		const m = /^imports\/([^/]+)\/status\.json$/.exec(o.key);
		if (!m) continue;
		const status = await fetchImportStatus(store, m[1]!);
		if (status && (status.status === "queued" || status.status === "running")) ids.add(m[1]!);
	}
	return ids;
}
