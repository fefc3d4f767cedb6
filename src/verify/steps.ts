// The I/O of each VerifyWorkflow step: check a snapshot's metadata (manifest, signature, every
// chunk present with its size), list a few chunks' parts, check ONE part (and, for the newest
// snapshot, feed the restore drill), digest a page of live rows. Small JSON results.
import { DigestSum, canonicalRow, isChunkKeyOf, partsOf, recordHashBytes, snapshotPrefix, type ChunkEntry, type Row } from "../snapshots/format";
import { describeChunk, inspectPart } from "../snapshots/codec";
import { fetchObjectSizes, readManifest, readPartBytes, type ManifestKeyring, type SnapshotStore } from "../snapshots/store";
import { describeSignature, isTrusted } from "../snapshots/signature";
import { findExportedTable } from "../snapshots/tables";
import { buildDrillRule, projectRow, type DrillSide } from "./plan";
import type { CorruptItem } from "../db/verification-runs";
import { fetchErasedSubmissionIds } from "../db/erasures";
import { fetchSeqPage } from "../db/export";

/** A snapshot the verification knows the manifest of: what reading its chunks must give back. */
export type VerifyTarget = {
	id: string;
	/** The manifest's per-table rows and digests: the sum over the chunks must give them back. */
	expected: Record<string, { rows: number; digest: string }>;
	/** Bounds of the tables (restore drill of the newest). */
	bounds: Record<string, number | null>;
	bytes: number;
	/** Parts of each chunk (index n - 1): 1 for a chunk written without a parts list. */
	partsPerChunk: number[];
	submissions: number | null;
};

/**
 * What step "manifest <id>" finds: the manifest read and authenticated, and every chunk it lists
 * present in the store with its size (one listing of the folder; no chunk is read). A snapshot
 * whose manifest is missing is a backup in progress or abandoned (the backup's GC owns it): null.
 */
export type SnapshotMetadata = { target: VerifyTarget | null; problems: CorruptItem[] };

export async function checkSnapshotMetadata(store: SnapshotStore, id: string, keyring: ManifestKeyring = {}): Promise<SnapshotMetadata | null> {
	const read = await readManifest(store, id, keyring);
	if (!read.ok) {
		if (read.reason === "missing") return null;
		return { target: null, problems: [{ snapshotId: id, chunk: null, reason: `manifest_${read.reason}`, message: read.message }] };
	}
	// An unauthenticated manifest is reported like a corruption: it may have been planted.
	if (!isTrusted(read.signature)) {
		return { target: null, problems: [{ snapshotId: id, chunk: null, reason: `manifest_${read.signature}`, message: describeSignature(read.signature) }] };
	}
	const m = read.manifest;
	const sizes = await fetchObjectSizes(store, snapshotPrefix(id));
	const problems: CorruptItem[] = [];
	for (const c of m.chunks) {
		if (!isChunkKeyOf(id, c.key)) problems.push({ snapshotId: id, chunk: c.key, reason: "manifest_format", message: `chunk ${c.n}: key outside the snapshot folder` });
		else if (!sizes.has(c.key)) problems.push({ snapshotId: id, chunk: c.key, reason: "missing", message: `${describeChunk(c)}: object is missing` });
		else if (sizes.get(c.key) !== c.bytes) {
			problems.push({ snapshotId: id, chunk: c.key, reason: "size", message: `${describeChunk(c)}: ${sizes.get(c.key)} bytes, manifest says ${c.bytes}` });
		}
	}
	const expected: VerifyTarget["expected"] = {};
	const bounds: VerifyTarget["bounds"] = {};
	for (const [t, sum] of Object.entries(m.tables)) {
		expected[t] = { rows: sum.rows, digest: sum.digest };
		bounds[t] = sum.bound;
	}
	const target: VerifyTarget = {
		id,
		expected,
		bounds,
		bytes: m.bytes,
		partsPerChunk: m.chunks.map((c) => partsOf(c).length),
		submissions: m.tables.submissions?.rows ?? null,
	};
	return { target, problems };
}

/** Step "entries <id> <from>-<to>": the manifest's entries of those chunks (with their parts). */
export async function fetchChunkEntries(
	store: SnapshotStore,
	id: string,
	from: number,
	to: number,
): Promise<{ ok: true; entries: ChunkEntry[] } | { ok: false; problem: CorruptItem }> {
	const read = await readManifest(store, id);
	if (!read.ok) return { ok: false, problem: { snapshotId: id, chunk: null, reason: `manifest_${read.reason}`, message: read.message } };
	const entries = read.manifest.chunks.slice(from - 1, to);
	if (entries.length !== to - from + 1) {
		return { ok: false, problem: { snapshotId: id, chunk: null, reason: "manifest_changed", message: `chunks ${from}-${to} are no longer in the manifest` } };
	}
	return { ok: true, entries };
}

/** What the drill accumulates per table on the snapshot side. */
export type DrillSnapshotTable = DrillSide & { erased: number; columns: string[] | null };

export type PartResult = {
	bytes: number;
	problem: CorruptItem | null;
	/** Full-record counts and digests per table (summed, then compared with the manifest). */
	tables: Record<string, DrillSide>;
	/** Only for the newest snapshot: the drill's projected sums per table. */
	drill: Record<string, DrillSnapshotTable> | null;
};

/**
 * Step "check <id> <n>.<part>": ONE part of one chunk, read by a range read: its size and SHA-256
 * (against the manifest, which is authenticated), gzip, every record parsed and hashed, its record
 * count. With `drill`, the restore drill's projected digests too. A result of a few hundred bytes.
 */
export async function checkPart(
	store: SnapshotStore,
	db: D1Database,
	target: Pick<VerifyTarget, "id" | "bounds">,
	entry: ChunkEntry,
	index: number,
	drill: boolean,
): Promise<PartResult> {
	const bytes = await readPartBytes(store, entry, index);
	const erased = drill ? new Set(await fetchErasedSubmissionIds(db)) : new Set<string>();
	const acc: Record<string, { sum: DigestSum; rows: number; erased: number; columns: string[] | null }> = {};
	const onRecord = drill
		? ({ table, row }: { table: string; row: Row }) => {
				const a = (acc[table] ??= { sum: new DigestSum(), rows: 0, erased: 0, columns: null });
				a.columns ??= Object.keys(row);
				const rule = buildDrillRule(table, target.bounds[table] ?? null);
				if (!rule.compare) return;
				if (rule.excludeErased && typeof row.id === "string" && erased.has(row.id)) {
					a.erased++;
					return;
				}
				a.sum.addBytes(recordHashBytes(table, canonicalRow(projectRow(row, rule.ignoreColumns))));
				a.rows++;
			}
		: undefined;
	const inspection = inspectPart(entry, index, bytes, onRecord);
	const result: PartResult = { bytes: bytes?.byteLength ?? 0, problem: null, tables: {}, drill: null };
	if (!inspection.ok) {
		result.problem = { snapshotId: target.id, chunk: entry.key, reason: inspection.reason, message: inspection.message };
		return result;
	}
	result.tables = inspection.tables;
	if (drill) {
		result.drill = {};
		for (const [t, a] of Object.entries(acc)) result.drill[t] = { rows: a.rows, digest: a.sum.toHex(), erased: a.erased, columns: a.columns };
	}
	return result;
}

/**
 * Rows read per live-digest step, in pages of LIVE_PAGE_ROWS (one D1 query): ~13 µs of isolate CPU
 * per row of ~600 bytes (D1 result decoding, projection, canonical row, record hash; measured by
 * bench:cpu at 1,000 rows per step: 13.5 ms), so 250 rows keep a step near 3 ms
 * (docs/BENCHMARKS.md). Was 20,000 (300–450 ms per step).
 */
export const LIVE_ROWS_PER_STEP = 250;
const LIVE_PAGE_ROWS = 250;

/**
 * Step "live <table> after <seq>": the drill's live side, rows with after < seq <= bound in seq
 * order, projected like the snapshot's. Keyset paging: never a whole table in memory.
 */
export async function digestLivePage(
	db: D1Database,
	input: { table: string; after: number; bound: number; columns: string[] | null; ignore: string[] },
	maxRows = LIVE_ROWS_PER_STEP,
): Promise<{ side: DrillSide; last: number; done: boolean }> {
	const table = findExportedTable(input.table);
	if (!table || !table.bounded) throw new Error(`table ${input.table} is not a bounded exported table`);
	const sum = new DigestSum();
	let rows = 0;
	let last = input.after;
	for (let read = 0; read < maxRows; ) {
		const results = await fetchSeqPage<Row>(db, table.name, last, input.bound, LIVE_PAGE_ROWS);
		for (const row of results) sum.addBytes(recordHashBytes(table.name, canonicalRow(projectRow(row, input.ignore, input.columns ?? undefined))));
		rows += results.length;
		read += results.length;
		if (results.length < LIVE_PAGE_ROWS) return { side: { rows, digest: sum.toHex() }, last, done: true };
		last = results[results.length - 1]!.seq as number;
	}
	return { side: { rows, digest: sum.toHex() }, last, done: false };
}
