// Export side of the backup: the consistency bound taken at the start of a run, and one chunk
// exported per call (keyset pages from D1 -> NDJSON -> one gzip member -> R2 with its SHA-256).
// Each call holds one chunk's bytes at a most; only small metadata is returned to the Workflow.
import { NonRetryableError } from "cloudflare:workflows";
import { gzipSync } from "node:zlib";
import {
	GZIP_LEVEL,
	chunkKey,
	sha256Hex,
	type Cell,
	type ChunkEntry,
} from "./format";
import { exportedTables, quoteIdent } from "./tables";

/** Hard ceiling on one chunk's uncompressed size: bounds memory whatever the compression ratio. */
export const MAX_RAW_CHUNK_BYTES = 8 * 1024 * 1024;
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
	const statements = exportedTables.flatMap((t) => [
		db.prepare(`PRAGMA table_info(${quoteIdent(t.name)})`),
		db.prepare(
			t.bounded
				? `SELECT max(${quoteIdent(t.key)}) AS bound FROM ${quoteIdent(t.name)}`
				: "SELECT NULL AS bound",
		),
	]);
	const results = await db.batch<Record<string, unknown>>(statements);
	const bounds: ExportPlan["bounds"] = {};
	const columns: ExportPlan["columns"] = {};
	exportedTables.forEach((t, i) => {
		const cols = results[2 * i]!.results.map((r) => String(r.name));
		if (cols.length === 0) throw new NonRetryableError(`table ${t.name} does not exist`);
		if (!cols.includes(t.key)) throw new NonRetryableError(`table ${t.name} has no column ${t.key}`);
		columns[t.name] = cols;
		const bound = results[2 * i + 1]!.results[0]?.bound;
		bounds[t.name] = typeof bound === "number" ? bound : null;
	});
	return { snapshotId, bounds, columns, schemaVersion: await fetchSchemaVersion(db) };
}

/** Name of the last applied migration ("unknown" when the migrations table is absent). */
export async function fetchSchemaVersion(db: D1Database): Promise<string> {
	try {
		const row = await db.prepare("SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1").first<{ name: string }>();
		return row?.name ?? "none";
	} catch {
		return "unknown";
	}
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

const MOD = 1n << 256n;
const encoder = new TextEncoder();

/**
 * Export chunk `n` starting at `cursor`: read keyset pages until the uncompressed budget is
 * reached (at least one row per chunk), gzip them as one member, put it in R2 with its SHA-256
 * (R2 rejects a corrupted upload), and return its manifest entry and the next cursor.
 * Idempotent: the same (plan, cursor, n) writes the same rows to the same key, so a retried
 * step overwrites its own object and never duplicates rows.
 */
export async function exportChunk(
	db: D1Database,
	bucket: R2Bucket,
	plan: ExportPlan,
	cursor: ExportCursor,
	n: number,
	targetCompressed: number,
): Promise<ChunkExport> {
	const budget = buildRawBudget(targetCompressed, cursor.ratio);
	const parts: Uint8Array[] = [];
	const counts: Record<string, number> = {};
	const sums: Record<string, bigint> = {};
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
		const page = await fetchPage(db, t.name, t.key, cols, t.bounded ? bound : null, after, limit);
		const tableJson = JSON.stringify(t.name);
		const keyJson = cols.map((c) => JSON.stringify(c));
		const sortedIdx = cols.map((_, i) => i).sort((a, b) => (cols[a]! < cols[b]! ? -1 : 1));
		const keyIdx = cols.indexOf(t.key);
		let text = "";
		let taken = 0;
		for (const values of page) {
			const { line, canonical } = buildRecordLine(tableJson, keyJson, sortedIdx, values);
			text += line;
			taken++;
			after = values[keyIdx] as Cell;
			sums[t.name] = ((sums[t.name] ?? 0n) + BigInt(`0x${sha256Hex(`${t.name}\n${canonical}`)}`)) % MOD;
			if (raw + text.length >= budget) break;
		}
		if (taken > 0) {
			const bytes = encoder.encode(text);
			parts.push(bytes);
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
	for (const [name, sum] of Object.entries(sums)) digests[name] = sum.toString(16).padStart(64, "0");
	if (rows === 0 && n > 1) return { entry: null, digests, rawBytes: 0, next: null };

	const compressed = gzipChunk(parts, raw);
	parts.length = 0;
	const sha256 = sha256Hex(compressed);
	const key = chunkKey(plan.snapshotId, n);
	await bucket.put(key, compressed, {
		sha256,
		httpMetadata: { contentType: "application/gzip" },
		customMetadata: { rows: String(rows) },
	});
	if (next) next.ratio = compressed.byteLength > 0 ? raw / compressed.byteLength : INITIAL_RATIO;
	return {
		entry: { n, key, bytes: compressed.byteLength, sha256, rows, tables: counts },
		digests,
		rawBytes: raw,
		next,
	};
}

/** One gzip member of the concatenated parts. */
function gzipChunk(parts: Uint8Array[], total: number): Uint8Array {
	const all = new Uint8Array(total);
	let at = 0;
	for (const p of parts) {
		all.set(p, at);
		at += p.byteLength;
	}
	const out = gzipSync(all, { level: GZIP_LEVEL });
	return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** One keyset page of a table, as arrays in column order. */
async function fetchPage(
	db: D1Database,
	table: string,
	key: string,
	cols: string[],
	bound: number | null,
	after: Cell | null,
	limit: number,
): Promise<unknown[][]> {
	const k = quoteIdent(key);
	const where: string[] = [];
	const params: unknown[] = [];
	if (after !== null) {
		where.push(`${k} > ?`);
		params.push(after);
	}
	if (bound !== null) {
		where.push(`${k} <= ?`);
		params.push(bound);
	}
	const sql =
		`SELECT ${cols.map(quoteIdent).join(", ")} FROM ${quoteIdent(table)}` +
		(where.length ? ` WHERE ${where.join(" AND ")}` : "") +
		` ORDER BY ${k} LIMIT ?`;
	params.push(limit);
	return db.prepare(sql).bind(...params).raw();
}
