// Export side of the backup: the consistency bound taken at the start of a run; parts (keyset pages
// from D1 -> record lines -> record hashes -> one gzip member, checked), each small enough for one
// Free-plan Workflow step; and chunks, each the concatenation of a few parts' members, put in the
// snapshot store with its SHA-256 and read back. Step sizes come from src/platform/plans.ts.
import { NonRetryableError } from "cloudflare:workflows";
import { DigestSum, chunkKey, recordHasher, type Cell, type ChunkEntry } from "../snapshots/format";
import { checkSealedMember, checkStoredBytes, gzip, sealMembers } from "../snapshots/codec";
import type { ExportStepBudget } from "../platform/plans";
import { exportedTables } from "../snapshots/tables";
import type { SnapshotStore } from "../snapshots/store";
import { fetchKeysetPage, fetchTableShapes } from "../db/export";
import { fetchSchemaVersion } from "../db/schema";

/**
 * Hard ceiling on one chunk's uncompressed size: bounds memory whatever the compression ratio.
 * 4 MiB: a chunk's NDJSON bytes are held until its read-back check.
 */
export const MAX_RAW_CHUNK_BYTES = 4 * 1024 * 1024;
const encoder = new TextEncoder();

/** Most rows read by one D1 query. */
export const MAX_PAGE_ROWS = 1000;
/** Compression ratio assumed before the first chunk has measured one. */
const INITIAL_RATIO = 4;

/** What the whole run exports: fixed at the start, carried between steps. */
export type ExportPlan = {
	snapshotId: string;
	/** Per table: the highest `seq` included (null = empty table, or not a bounded table). */
	bounds: Record<string, number | null>;
	/** Per table: column names in schema order. */
	columns: Record<string, string[]>;
	schemaVersion: string;
	/**
	 * Rows counted at the start (same batch as the bounds): what progress is measured against.
	 * Exact for the bounded tables, an estimate for the others (they may change during the run).
	 */
	rowsTotal?: number;
};

/** Where the next chunk starts: a table (index in exportedTables) and the last key exported. */
export type ExportCursor = { table: number; after: Cell | null; ratio: number };

export const START_CURSOR: ExportCursor = { table: 0, after: null, ratio: INITIAL_RATIO };

/**
 * Read the snapshot's bounds, columns and schema version. The bounds of every bounded table are
 * read in ONE D1 batch (a single transaction), so they describe one moment of the database.
 */
export async function fetchExportPlan(db: D1Database, snapshotId: string): Promise<ExportPlan> {
	const shapes = await fetchTableShapes(db, exportedTables);
	const bounds: ExportPlan["bounds"] = {};
	const columns: ExportPlan["columns"] = {};
	let rowsTotal = 0;
	exportedTables.forEach((t, i) => {
		const cols = shapes[i]!.columns;
		if (cols.length === 0) throw new NonRetryableError(`table ${t.name} does not exist`);
		if (!cols.includes(t.key)) throw new NonRetryableError(`table ${t.name} has no column ${t.key}`);
		columns[t.name] = cols;
		bounds[t.name] = shapes[i]!.bound;
		rowsTotal += shapes[i]!.rows;
	});
	return { snapshotId, bounds, columns, schemaVersion: await fetchSchemaVersion(db), rowsTotal };
}

/**
 * Uncompressed budget of the next chunk: the plan's step budget, or less when the target
 * compressed size (BACKUP_CHUNK_BYTES) times the last measured ratio is smaller.
 */
export function buildRawBudget(targetCompressed: number, ratio: number, stepRawBytes = MAX_RAW_CHUNK_BYTES): number {
	const r = Number.isFinite(ratio) && ratio >= 1 ? ratio : INITIAL_RATIO;
	return Math.max(1024, Math.min(MAX_RAW_CHUNK_BYTES, stepRawBytes, Math.floor(targetCompressed * r)));
}

/** How one table's rows become record lines: computed once per page, not per row. */
export type LineShape = {
	/** `{"table":<name>,"row":{` */
	prefix: string;
	/** Per cell in line order: `"<column>":` (with a leading comma after the first). */
	keys: readonly string[];
	/** Per cell in line order: the index of its column in the D1 row. */
	order: readonly number[];
};

/**
 * The line shape of a table. Columns are written in sorted name order (JavaScript string order,
 * as canonicalRow sorts them), so a line's `row` object is, byte for byte, the canonical row of
 * the content digest: the record hash is taken from the line's own bytes, with no second string.
 */
export function buildLineShape(table: string, columns: readonly string[]): LineShape {
	const order = columns.map((_, i) => i).sort((a, b) => (columns[a]! < columns[b]! ? -1 : columns[a]! > columns[b]! ? 1 : 0));
	return {
		prefix: `{"table":${JSON.stringify(table)},"row":{`,
		keys: order.map((i, j) => `${j ? "," : ""}${JSON.stringify(columns[i])}:`),
		order,
	};
}

/**
 * Pure: one record line `{"table":…,"row":{…}}\n` from one raw D1 row, columns in sorted order.
 * Equal to JSON.stringify of `{table, row}` with the row's keys sorted: strings through
 * JSON.stringify, finite numbers as JSON.stringify writes them (the same as String), null as
 * null. Anything else is refused rather than written lossily: BLOBs and non-finite numbers
 * (JSON would turn NaN and Infinity into null).
 */
export function buildRecordLine(shape: LineShape, values: readonly unknown[]): string {
	let line = shape.prefix;
	const { keys, order } = shape;
	for (let j = 0; j < order.length; j++) {
		const v = values[order[j]!];
		let cell: string;
		if (typeof v === "string") cell = JSON.stringify(v);
		else if (typeof v === "number" && Number.isFinite(v)) cell = String(v);
		else if (v === null) cell = "null";
		else throw new NonRetryableError(`unsupported value in column ${keys[j]!.replace(/^,/, "").slice(0, -1)}: ${typeof v === "number" ? String(v) : typeof v}`);
		line += keys[j]! + cell;
	}
	return `${line}}}\n`;
}

/** A run of consecutive lines of one table in a chunk. */
type Segment = { table: string; lines: number };

/**
 * Add each line's record hash to its table's sum, straight from the encoded chunk: a line is
 * `{"table":<t>,"row":` + canonical row + `}` + "\n" (raw newlines cannot occur inside JSON
 * strings, so splitting on 0x0A is exact).
 */
function sumRecordHashes(raw: Uint8Array, segments: readonly Segment[], sums: Record<string, DigestSum>): void {
	let start = 0;
	for (const seg of segments) {
		const hash = recordHasher(seg.table);
		const skip = encoder.encode(`{"table":${JSON.stringify(seg.table)},"row":`).byteLength;
		const sum = (sums[seg.table] ??= new DigestSum());
		for (let i = 0; i < seg.lines; i++) {
			const end = raw.indexOf(NEWLINE, start);
			sum.addBytes(hash(raw.subarray(start + skip, end - 1)));
			start = end + 1;
		}
	}
}

const NEWLINE = 0x0a;

/** Marks a read-back mismatch: the Workflow reports it as stage "verify" and never retries it. */
export const VERIFICATION_FAILED = "verification failed";

/** Rows read for one part: its NDJSON bytes and where it continues. */
type PartLines = { raw: Uint8Array; segments: Segment[]; counts: Record<string, number>; rows: number; next: ExportCursor | null };

/**
 * Read keyset pages from `cursor` until the part's budget is reached (at least one row when any
 * is left) and encode their record lines once. A part never holds more than `step.rows` records
 * and `budget` characters plus the row that crosses the line.
 */
async function readPartLines(
	db: D1Database,
	plan: ExportPlan,
	cursor: ExportCursor,
	budget: number,
	maxRows: number,
): Promise<PartLines> {
	const segments: Segment[] = [];
	const counts: Record<string, number> = {};
	let text = "";
	let rows = 0;
	let table = cursor.table;
	let after = cursor.after;
	let avgRow = 512;

	while (table < exportedTables.length && text.length < budget && rows < maxRows) {
		const t = exportedTables[table]!;
		const cols = plan.columns[t.name]!;
		const bound = plan.bounds[t.name] ?? null;
		if (t.bounded && bound === null) {
			table++;
			after = null;
			continue;
		}
		const wanted = Math.min(maxRows - rows, Math.ceil((budget - text.length) / avgRow) + 1);
		const limit = Math.max(1, Math.min(MAX_PAGE_ROWS, wanted));
		const page = await fetchKeysetPage(db, { table: t.name, key: t.key, columns: cols, bound: t.bounded ? bound : null, after, limit });
		const shape = buildLineShape(t.name, cols);
		const keyIdx = cols.indexOf(t.key);
		const before = text.length;
		let taken = 0;
		for (const values of page) {
			text += buildRecordLine(shape, values);
			taken++;
			after = values[keyIdx] as Cell;
			if (text.length >= budget) break;
		}
		if (taken > 0) {
			segments.push({ table: t.name, lines: taken });
			rows += taken;
			counts[t.name] = (counts[t.name] ?? 0) + taken;
			avgRow = Math.max(64, Math.ceil((text.length - before) / taken));
		}
		if (taken === page.length && page.length < limit) {
			// The table is exhausted (a short page): move on.
			table++;
			after = null;
		}
	}
	const next = table < exportedTables.length ? { table, after, ratio: cursor.ratio } : null;
	return { raw: encoder.encode(text), segments, counts, rows, next };
}

/** One part of a chunk: one gzip member of record lines, made and checked in one Workflow step. */
export type ExportedPart = {
	/** The gzip member (what the chunk object will hold, among its other parts). */
	member: Uint8Array;
	/** Its NDJSON size, and records per table. */
	rawBytes: number;
	rows: number;
	tables: Record<string, number>;
	/** Per-table partial content digests of its records. */
	digests: Record<string, string>;
	/** Where the next part starts; null when every table is exhausted. */
	next: ExportCursor | null;
};

/**
 * Export one part starting at `cursor`: its record lines (encoded once), their record hashes
 * (from those bytes), and one gzip member of them, decompressed again at once and compared byte
 * for byte with the lines (checkSealedMember), so a part that leaves this step decodes exactly to
 * what was read from D1. Small enough for one Free-plan step (the plan's ExportStepBudget) and for
 * a step result (at most 3 bytes per character of the budget, under the 1 MiB limit).
 * Deterministic: the same (plan, cursor) gives the same member, so a retried step is harmless.
 */
export async function exportPart(
	db: D1Database,
	plan: ExportPlan,
	cursor: ExportCursor,
	step: Pick<ExportStepBudget, "partChars" | "partRows">,
	targetCompressed: number,
): Promise<ExportedPart> {
	const budget = buildRawBudget(targetCompressed, cursor.ratio, step.partChars);
	const { raw, segments, counts, rows, next } = await readPartLines(db, plan, cursor, budget, step.partRows);
	const sums: Record<string, DigestSum> = {};
	sumRecordHashes(raw, segments, sums);
	const digests: Record<string, string> = {};
	for (const [name, sum] of Object.entries(sums)) digests[name] = sum.toHex();
	const member = gzip(raw);
	const check = checkSealedMember(member, raw);
	if (!check.ok) throw new NonRetryableError(`${VERIFICATION_FAILED}: ${check.message}`);
	if (next) next.ratio = member.byteLength > 0 && raw.byteLength > 0 ? raw.byteLength / member.byteLength : cursor.ratio;
	return { member, rawBytes: raw.byteLength, rows, tables: counts, digests, next };
}

/**
 * Pure: pack the parts waiting so far into a chunk now? When they reach the chunk's size (the plan's
 * chunkRawBytes uncompressed, or `targetCompressed` compressed), or when nothing is left to export.
 */
export function isChunkFull(
	pending: readonly Pick<ExportedPart, "rawBytes" | "member">[],
	step: Pick<ExportStepBudget, "chunkRawBytes" | "chunkParts">,
	targetCompressed: number,
	done: boolean,
): boolean {
	if (pending.length === 0) return false;
	if (done || pending.length >= step.chunkParts) return true;
	let raw = 0;
	let bytes = 0;
	for (const p of pending) {
		raw += p.rawBytes;
		bytes += p.member.byteLength;
	}
	return raw >= step.chunkRawBytes || bytes >= targetCompressed;
}

/**
 * Write chunk `n` from its parts: the members concatenated (one valid gzip stream), put in the
 * store with its SHA-256 (a corrupted upload is refused), then READ BACK and checked by the codec's
 * checkStoredBytes: the object exists with the entry's size and SHA-256, so it holds exactly the
 * members, each of which was decompressed and compared with its lines in its own step.
 * Idempotent: the same parts give the same object at the same key.
 */
export async function writeChunk(
	store: SnapshotStore,
	snapshotId: string,
	n: number,
	parts: readonly Pick<ExportedPart, "member" | "rows" | "tables">[],
): Promise<ChunkEntry> {
	const { bytes, sha256, ranges } = sealMembers(parts.map((p) => p.member));
	const rows = parts.reduce((s, p) => s + p.rows, 0);
	const tables: Record<string, number> = {};
	for (const p of parts) for (const [t, c] of Object.entries(p.tables)) tables[t] = (tables[t] ?? 0) + c;
	const key = chunkKey(snapshotId, n);
	await store.put(key, bytes, { sha256, contentType: "application/gzip", metadata: { rows: String(rows) } });
	// Each member's byte range: a reader checks and loads one part without the whole chunk.
	const entry: ChunkEntry = { n, key, bytes: bytes.byteLength, sha256, rows, tables, parts: ranges.map((r, i) => ({ ...r, rows: parts[i]!.rows })) };
	const check = checkStoredBytes(entry, (await store.get(key))?.bytes);
	// A mismatch is not transient: what is stored is what it is. Fail the run at once. (No custom
	// error name: the Workflow engine recognises a NonRetryableError by its name and would retry.)
	if (!check.ok) throw new NonRetryableError(`${VERIFICATION_FAILED}: ${check.message}`);
	return entry;
}
