// Export side of the backup: the consistency bound taken at the start of a run, and one chunk
// exported per call (keyset pages from D1 -> NDJSON -> the codec's sealChunk -> the snapshot store
// with its SHA-256 -> read back and checked by the codec's checkWrittenChunk). Each call holds one
// chunk's bytes at most; only small metadata is returned to the Workflow.
import { NonRetryableError } from "cloudflare:workflows";
import { DigestSum, chunkKey, recordHasher, type Cell, type ChunkEntry } from "../snapshots/format";
import { checkWrittenChunk, sealChunk } from "../snapshots/codec";
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
};

/** Where the next chunk starts: a table (index in exportedTables) and the last key exported. */
export type ExportCursor = { table: number; after: Cell | null; ratio: number };

export const START_CURSOR: ExportCursor = { table: 0, after: null, ratio: INITIAL_RATIO };

export type ChunkExport = {
	/** null when there was nothing left to export (no object written). */
	entry: ChunkEntry | null;
	/** Per-table partial content digests of this chunk's records. */
	digests: Record<string, string>;
	rawBytes: number;
	/** null when every table is exhausted. */
	next: ExportCursor | null;
};

/**
 * Read the snapshot's bounds, columns and schema version. The bounds of every bounded table are
 * read in ONE D1 batch (a single transaction), so they describe one moment of the database.
 */
export async function fetchExportPlan(db: D1Database, snapshotId: string): Promise<ExportPlan> {
	const shapes = await fetchTableShapes(db, exportedTables);
	const bounds: ExportPlan["bounds"] = {};
	const columns: ExportPlan["columns"] = {};
	exportedTables.forEach((t, i) => {
		const cols = shapes[i]!.columns;
		if (cols.length === 0) throw new NonRetryableError(`table ${t.name} does not exist`);
		if (!cols.includes(t.key)) throw new NonRetryableError(`table ${t.name} has no column ${t.key}`);
		columns[t.name] = cols;
		bounds[t.name] = shapes[i]!.bound;
	});
	return { snapshotId, bounds, columns, schemaVersion: await fetchSchemaVersion(db) };
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

/**
 * Export chunk `n` starting at `cursor`: read keyset pages until the step budget is reached (at
 * least one row per chunk), encode the lines once, sum their record hashes from those bytes, gzip
 * them as one member, put it in the store with its SHA-256 (a corrupted upload is refused), then
 * READ IT BACK and check it (checkWrittenChunk: size, SHA-256, gunzip, and byte equality with
 * the NDJSON that was sealed) before returning its manifest entry and the next cursor.
 * Memory: one chunk's NDJSON and compressed bytes. Idempotent: the same (plan, cursor, n) writes
 * the same rows to the same key, so a retried step overwrites its own object.
 */
export async function exportChunk(
	db: D1Database,
	store: SnapshotStore,
	plan: ExportPlan,
	cursor: ExportCursor,
	n: number,
	targetCompressed: number,
	step: Pick<ExportStepBudget, "rawBytes" | "rows"> = { rawBytes: MAX_RAW_CHUNK_BYTES, rows: MAX_PAGE_ROWS * 20 },
): Promise<ChunkExport> {
	const budget = buildRawBudget(targetCompressed, cursor.ratio, step.rawBytes);
	const segments: Segment[] = [];
	const counts: Record<string, number> = {};
	let text = "";
	let rows = 0;
	let table = cursor.table;
	let after = cursor.after;
	let avgRow = 512;

	while (table < exportedTables.length && text.length < budget && rows < step.rows) {
		const t = exportedTables[table]!;
		const cols = plan.columns[t.name]!;
		const bound = plan.bounds[t.name] ?? null;
		if (t.bounded && bound === null) {
			table++;
			after = null;
			continue;
		}
		const wanted = Math.min(step.rows - rows, Math.ceil((budget - text.length) / avgRow) + 1);
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
	if (rows === 0 && n > 1) return { entry: null, digests: {}, rawBytes: 0, next: null };

	const raw = encoder.encode(text);
	text = "";
	const sums: Record<string, DigestSum> = {};
	sumRecordHashes(raw, segments, sums);
	const digests: Record<string, string> = {};
	for (const [name, sum] of Object.entries(sums)) digests[name] = sum.toHex();

	const { bytes: compressed, sha256 } = await sealChunk(raw);
	const key = chunkKey(plan.snapshotId, n);
	await store.put(key, compressed, { sha256, contentType: "application/gzip", metadata: { rows: String(rows) } });
	const entry: ChunkEntry = { n, key, bytes: compressed.byteLength, sha256, rows, tables: counts };
	const check = await checkWrittenChunk(entry, (await store.get(key))?.bytes, raw);
	// A mismatch is not transient: what is stored is what it is. Fail the run at once. (No custom
	// error name: the Workflow engine recognises a NonRetryableError by its name and would retry.)
	if (!check.ok) throw new NonRetryableError(`${VERIFICATION_FAILED}: ${check.message}`);
	if (next) next.ratio = compressed.byteLength > 0 ? raw.byteLength / compressed.byteLength : INITIAL_RATIO;
	return { entry, digests, rawBytes: raw.byteLength, next };
}
