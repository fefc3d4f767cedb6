// Export side of the backup: the consistency bound taken at the start of a run, and one chunk
// exported per call (keyset pages from D1 -> NDJSON -> the codec's sealChunk -> the snapshot store
// with its SHA-256 -> read back through the codec's openChunk and compared with the rows). Each
// call holds one chunk's rows and bytes at most; only small metadata is returned to the Workflow.
import { NonRetryableError } from "cloudflare:workflows";
import { DigestSum, chunkKey, recordHashBytes, type Cell, type ChunkEntry } from "../snapshots/format";
import { describeChunk, openChunk, sealChunk } from "../snapshots/codec";
import { exportedTables } from "../snapshots/tables";
import type { SnapshotStore } from "../snapshots/store";
import { fetchKeysetPage, fetchTableShapes } from "../db/export";
import { fetchSchemaVersion } from "../db/schema";

/**
 * Hard ceiling on one chunk's uncompressed size: bounds memory whatever the compression ratio.
 * 4 MiB: a chunk's rows are held until its read-back check, so this sets the isolate's heap peak.
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

/** Uncompressed budget of the next chunk, from the target compressed size and the last ratio. */
export function buildRawBudget(targetCompressed: number, ratio: number): number {
	const r = Number.isFinite(ratio) && ratio >= 1 ? ratio : INITIAL_RATIO;
	return Math.max(1024, Math.min(MAX_RAW_CHUNK_BYTES, Math.floor(targetCompressed * r)));
}

/**
 * Pure: one record line `{"table":…,"row":{…}}` (exactly JSON.stringify's output for that
 * object) and the canonical row used by the content digest, from one raw D1 row.
 */
export function buildRecordLine(
	tableJson: string,
	keyJson: readonly string[],
	sortedIdx: readonly number[],
	values: readonly unknown[],
): { line: string; canonical: string } {
	const cells = new Array<string>(values.length);
	for (let i = 0; i < values.length; i++) {
		const v = values[i];
		if (v !== null && typeof v !== "string" && typeof v !== "number") {
			// BLOBs (and anything else JSON cannot carry faithfully) are not part of format v1.
			throw new NonRetryableError(`unsupported value type in column ${keyJson[i]}`);
		}
		cells[i] = `${keyJson[i]}:${JSON.stringify(v)}`;
	}
	let canonical = "{";
	for (let j = 0; j < sortedIdx.length; j++) canonical += (j ? "," : "") + cells[sortedIdx[j]!];
	canonical += "}";
	return { line: `{"table":${tableJson},"row":{${cells.join(",")}}}\n`, canonical };
}

/** Rows of one D1 page as exported, kept until the chunk has been read back and compared. */
export type ExportedPage = { table: string; columns: readonly string[]; rows: readonly (readonly unknown[])[] };

/** What a stored chunk must decode to: the exported rows, in order, and the NDJSON size. */
export type ExpectedChunk = { rawBytes: number; pages: readonly ExportedPage[] };

export type ReadBackCheck = { ok: true } | { ok: false; message: string };

const NEWLINE = 0x0a;

/**
 * Pure read-back verification of one stored chunk against what was exported: size and SHA-256
 * of the stored bytes (the manifest entry), gzip decodes, the NDJSON has the exported size, and
 * EVERY line parses as a {table,row} record equal, column by column (===), to the D1 row it was
 * written from, with nothing missing or extra; row counts per table match the entry. This is
 * stricter than comparing content digests (each record is compared exactly, not a sum of
 * hashes) and costs no second SHA-256 per record.
 */
export async function checkReadBack(
	entry: ChunkEntry,
	stored: Uint8Array | undefined,
	expected: ExpectedChunk,
): Promise<ReadBackCheck> {
	const where = describeChunk(entry);
	const fail = (why: string): ReadBackCheck => ({ ok: false, message: `${where}: ${why}` });
	const opened = await openChunk(entry, stored);
	if (!opened.ok) return { ok: false, message: opened.message };
	const { raw } = opened;
	if (raw.byteLength !== expected.rawBytes) return fail(`decompresses to ${raw.byteLength} bytes, ${expected.rawBytes} were written`);
	const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
	const counts: Record<string, number> = {};
	let start = 0;
	let line = 0;
	for (const page of expected.pages) {
		const cols = page.columns;
		for (const values of page.rows) {
			line++;
			const end = raw.indexOf(NEWLINE, start);
			if (end < 0) return fail(`truncated at line ${line}`);
			let value: unknown;
			try {
				value = JSON.parse(decoder.decode(raw.subarray(start, end)));
			} catch {
				return fail(`line ${line} is not valid UTF-8 JSON`);
			}
			start = end + 1;
			if (!isSameRecord(value, page.table, cols, values)) return fail(`line ${line} differs from the ${page.table} row exported`);
			counts[page.table] = (counts[page.table] ?? 0) + 1;
		}
	}
	if (start !== raw.byteLength) return fail(`more records than the ${line} exported`);
	const tablesMatch =
		Object.keys(counts).length === Object.keys(entry.tables).length &&
		Object.entries(counts).every(([t, c]) => entry.tables[t] === c);
	if (line !== entry.rows || !tablesMatch) return fail(`${line} records, manifest says ${entry.rows}`);
	return { ok: true };
}

/** A parsed line is exactly `{table, row}` with the exported columns and values. */
function isSameRecord(value: unknown, table: string, cols: readonly string[], values: readonly unknown[]): boolean {
	if (typeof value !== "object" || value === null) return false;
	const r = value as { table?: unknown; row?: unknown };
	if (r.table !== table || Object.keys(r).length !== 2) return false;
	const row = r.row;
	if (typeof row !== "object" || row === null || Array.isArray(row)) return false;
	const cells = row as Record<string, unknown>;
	if (Object.keys(cells).length !== cols.length) return false;
	for (let i = 0; i < cols.length; i++) {
		if (!Object.hasOwn(cells, cols[i]!) || cells[cols[i]!] !== values[i]) return false;
	}
	return true;
}

/** Marks a read-back mismatch: the Workflow reports it as stage "verify" and never retries it. */
export const VERIFICATION_FAILED = "verification failed";

/**
 * Export chunk `n` starting at `cursor`: read keyset pages until the uncompressed budget is
 * reached (at least one row per chunk), gzip them as one member, put it in R2 with its SHA-256
 * (R2 rejects a corrupted upload), then READ IT BACK from R2 and verify it against the rows
 * exported (checkReadBack) before returning its manifest entry and the next cursor.
 * The content digest is computed once, from the D1 rows. Memory: one chunk's rows and bytes.
 * Idempotent: the same (plan, cursor, n) writes the same rows to the same key, so a retried
 * step overwrites its own object and never duplicates rows.
 */
export async function exportChunk(
	db: D1Database,
	store: SnapshotStore,
	plan: ExportPlan,
	cursor: ExportCursor,
	n: number,
	targetCompressed: number,
): Promise<ChunkExport> {
	const budget = buildRawBudget(targetCompressed, cursor.ratio);
	const parts: Uint8Array[] = [];
	const pages: ExportedPage[] = [];
	const counts: Record<string, number> = {};
	const sums: Record<string, DigestSum> = {};
	let raw = 0;
	let rows = 0;
	let table = cursor.table;
	let after = cursor.after;
	let avgRow = 512;

	while (table < exportedTables.length && raw < budget) {
		const t = exportedTables[table]!;
		const cols = plan.columns[t.name]!;
		const bound = plan.bounds[t.name] ?? null;
		if (t.bounded && bound === null) {
			table++;
			after = null;
			continue;
		}
		const limit = Math.max(1, Math.min(MAX_PAGE_ROWS, Math.ceil((budget - raw) / avgRow) + 1));
		const page = await fetchKeysetPage(db, { table: t.name, key: t.key, columns: cols, bound: t.bounded ? bound : null, after, limit });
		const tableJson = JSON.stringify(t.name);
		const keyJson = cols.map((c) => JSON.stringify(c));
		const sortedIdx = cols.map((_, i) => i).sort((a, b) => (cols[a]! < cols[b]! ? -1 : 1));
		const keyIdx = cols.indexOf(t.key);
		const sum = (sums[t.name] ??= new DigestSum());
		let text = "";
		let taken = 0;
		for (const values of page) {
			const { line, canonical } = buildRecordLine(tableJson, keyJson, sortedIdx, values);
			text += line;
			taken++;
			after = values[keyIdx] as Cell;
			sum.addBytes(recordHashBytes(t.name, canonical));
			if (raw + text.length >= budget) break;
		}
		if (taken > 0) {
			const bytes = encoder.encode(text);
			parts.push(bytes);
			pages.push({ table: t.name, columns: cols, rows: taken === page.length ? page : page.slice(0, taken) });
			raw += bytes.byteLength;
			rows += taken;
			counts[t.name] = (counts[t.name] ?? 0) + taken;
			avgRow = Math.max(64, Math.ceil(bytes.byteLength / taken));
		}
		if (taken === page.length && page.length < limit) {
			// The table is exhausted (a short page): move on.
			table++;
			after = null;
		}
	}

	const next = table < exportedTables.length ? { table, after, ratio: cursor.ratio } : null;
	const digests: Record<string, string> = {};
	for (const [name, sum] of Object.entries(sums)) if (counts[name]) digests[name] = sum.toHex();
	if (rows === 0 && n > 1) return { entry: null, digests, rawBytes: 0, next: null };

	const { bytes: compressed, sha256 } = await sealChunk(parts);
	parts.length = 0;
	const key = chunkKey(plan.snapshotId, n);
	await store.put(key, compressed, { sha256, contentType: "application/gzip", metadata: { rows: String(rows) } });
	const entry: ChunkEntry = { n, key, bytes: compressed.byteLength, sha256, rows, tables: counts };
	const check = await checkReadBack(entry, (await store.get(key))?.bytes, { rawBytes: raw, pages });
	// A mismatch is not transient: what is stored is what it is. Fail the run at once. (No custom
	// error name: the Workflow engine recognises a NonRetryableError by its name and would retry.)
	if (!check.ok) throw new NonRetryableError(`${VERIFICATION_FAILED}: ${check.message}`);
	if (next) next.ratio = compressed.byteLength > 0 ? raw / compressed.byteLength : INITIAL_RATIO;
	return { entry, digests, rawBytes: raw, next };
}
