// Test helper: writes a valid snapshot (chunks, then the manifest with its SHA-256 and signature in
// custom metadata) straight into R2 with the format.ts helpers, from given rows or from the live D1.
// Generic on purpose: retention, verification and restore tests all use it.
import { FORMAT_NAME, FORMAT_VERSION, buildSnapshotId, chunkKey, combineTableDigests, digestRows, manifestKey, serializeManifest, sha256Hex, type ChunkEntry, type Manifest, type Row, type SnapshotRecord } from "../../src/snapshots/format";
import { encodeChunk, gzip, sealMembers } from "../../src/snapshots/codec";
import { env } from "cloudflare:test";
import { writeManifest } from "../../src/snapshots/store";
import { r2SnapshotStore } from "../../src/snapshots/r2-store";

export type TableInput = { rows: Row[]; bound?: number | null };

export type WriteSnapshotOptions = {
	/** Time encoded in the id; the id's random part defaults to a counter. */
	time: Date;
	id?: string;
	tables: Record<string, TableInput>;
	/** Records per chunk (default 50): small, so tests get several chunks. */
	chunkRows?: number;
	/**
	 * Records per part: each chunk is then made of gzip members of that many records, listed in its
	 * entry's `parts` (as the backup writes them). Default: one member, no `parts` (older snapshots).
	 */
	partRows?: number;
	trigger?: "scheduled" | "manual";
};

let counter = 0;

/** Write a complete, valid snapshot into `bucket` and return its manifest. */
export async function writeSnapshot(bucket: R2Bucket, opts: WriteSnapshotOptions): Promise<Manifest> {
	const id = opts.id ?? buildSnapshotId(opts.time, `t${(++counter).toString(36)}${Math.random().toString(36).slice(2, 6)}`);
	const perChunk = opts.chunkRows ?? 50;
	const records: SnapshotRecord[] = [];
	for (const [table, input] of Object.entries(opts.tables)) for (const row of input.rows) records.push({ table, row });

	const chunks: ChunkEntry[] = [];
	for (let i = 0, n = 1; i < records.length; i += perChunk, n++) {
		const part = records.slice(i, i + perChunk);
		const members: Uint8Array[] = [];
		const rows: number[] = [];
		const step = opts.partRows ?? part.length;
		for (let j = 0; j < part.length || (j === 0 && members.length === 0); j += Math.max(1, step)) {
			members.push(encodeChunk(part.slice(j, j + step)));
			rows.push(part.slice(j, j + step).length);
		}
		const sealed = sealMembers(members);
		const bytes = sealed.bytes;
		const sha256 = sealed.sha256;
		const key = chunkKey(id, n);
		await bucket.put(key, bytes, { sha256 });
		const tables: Record<string, number> = {};
		for (const r of part) tables[r.table] = (tables[r.table] ?? 0) + 1;
		const entry: ChunkEntry = { n, key, bytes: bytes.byteLength, sha256, rows: part.length, tables };
		if (opts.partRows) entry.parts = sealed.ranges.map((r, k) => ({ ...r, rows: rows[k]! }));
		chunks.push(entry);
	}

	const tables: Manifest["tables"] = {};
	for (const [table, input] of Object.entries(opts.tables)) {
		tables[table] = { rows: input.rows.length, digest: digestRows(table, input.rows), bound: input.bound ?? null };
	}
	return commitManifest(bucket, { id, time: opts.time, trigger: opts.trigger ?? "scheduled", tables, chunks, rows: records.length });
}

/** The manifest of a test snapshot, signed with the test deployment's key as the backup would. */
async function commitManifest(
	bucket: R2Bucket,
	m: { id: string; time: Date; trigger: "scheduled" | "manual"; tables: Manifest["tables"]; chunks: ChunkEntry[]; rows: number },
): Promise<Manifest> {
	const iso = m.time.toISOString();
	const manifest: Manifest = {
		format: FORMAT_NAME,
		version: FORMAT_VERSION,
		snapshotId: m.id,
		trigger: m.trigger,
		runId: `test-${m.id}`,
		startedAt: iso,
		finishedAt: iso,
		appVersion: "test",
		schemaVersion: "test",
		tables: m.tables,
		rows: m.rows,
		bytes: m.chunks.reduce((s, c) => s + c.bytes, 0),
		chunks: m.chunks,
		contentDigest: combineTableDigests(m.tables),
		compression: "gzip",
		encryption: null,
	};
	await writeManifest(r2SnapshotStore(bucket), manifest, { signingKey: env.BACKUP_SIGNING_KEY });
	return manifest;
}

/** A snapshot with `submissions` rows of a minimal shape (for retention tests: only counts matter). */
export async function writeCountSnapshot(bucket: R2Bucket, time: Date, submissions: number): Promise<Manifest> {
	const rows: Row[] = [];
	for (let i = 1; i <= submissions; i++) rows.push({ seq: i, id: `sub-${i}` });
	return writeSnapshot(bucket, { time, tables: { submissions: { rows, bound: submissions } } });
}

/** Tables with a monotonic `seq` (the snapshot includes rows with seq <= bound). */
const SEQ_TABLES = new Set(["roles", "submissions", "erasures", "audit_log"]);

/**
 * Snapshot the live D1 `tables` as they are now, the way the backup does: rows with
 * `seq <= max(seq)` for seq tables (bound recorded), every row for the others.
 */
export async function writeSnapshotOfDatabase(
	bucket: R2Bucket,
	db: D1Database,
	time: Date,
	tables: string[] = ["roles", "submissions", "counters", "erasures", "erased_submissions", "audit_log"],
	chunkRows = 50,
	partRows?: number,
): Promise<Manifest> {
	const input: Record<string, TableInput> = {};
	for (const table of tables) {
		if (SEQ_TABLES.has(table)) {
			const max = await db.prepare(`SELECT COALESCE(MAX(seq), 0) AS m FROM ${table}`).first<{ m: number }>();
			const { results } = await db.prepare(`SELECT * FROM ${table} WHERE seq <= ? ORDER BY seq`).bind(max!.m).all<Row>();
			input[table] = { rows: results, bound: max!.m };
		} else {
			const { results } = await db.prepare(`SELECT * FROM ${table}`).all<Row>();
			input[table] = { rows: results, bound: null };
		}
	}
	return writeSnapshot(bucket, { time, tables: input, chunkRows, ...(partRows ? { partRows } : {}) });
}

/** Remove every object under snapshots/ (tests share one bucket per file). */
export async function clearSnapshots(bucket: R2Bucket): Promise<void> {
	for (let i = 0; i < 1000; i++) {
		const page = await bucket.list({ prefix: "snapshots/", limit: 1000 });
		if (page.objects.length === 0) return;
		await bucket.delete(page.objects.map((o) => o.key));
	}
}

/** Remove the retention pins' R2 mirror (retention-pins/…). */
export async function clearPinMirror(bucket: R2Bucket): Promise<void> {
	const page = await bucket.list({ prefix: "retention-pins/", limit: 1000 });
	if (page.objects.length > 0) await bucket.delete(page.objects.map((o) => o.key));
}

/**
 * Write a snapshot whose chunks hold the given record lines EXACTLY as given (one line per
 * record, no trailing newline), e.g. numbers no JavaScript value can spell (2^63 − 1) or
 * duplicate keys. Chunks and manifest are otherwise valid and signed.
 */
export async function writeSnapshotLines(
	bucket: R2Bucket,
	opts: { time: Date; lines: string[]; bounds?: Record<string, number | null>; chunkRows?: number },
): Promise<Manifest> {
	const id = buildSnapshotId(opts.time, `r${(++counter).toString(36)}${Math.random().toString(36).slice(2, 6)}`);
	const perChunk = opts.chunkRows ?? 50;
	const tableOf = (line: string) => (JSON.parse(line) as { table: string }).table;
	const chunks: ChunkEntry[] = [];
	const rowsByTable: Record<string, Row[]> = {};
	for (let i = 0, n = 1; i < opts.lines.length; i += perChunk, n++) {
		const part = opts.lines.slice(i, i + perChunk);
		const bytes = gzip(part.map((l) => `${l}\n`).join(""));
		const sha256 = sha256Hex(bytes);
		const key = chunkKey(id, n);
		await bucket.put(key, bytes, { sha256 });
		const tables: Record<string, number> = {};
		for (const line of part) {
			const table = tableOf(line);
			tables[table] = (tables[table] ?? 0) + 1;
			(rowsByTable[table] ??= []).push((JSON.parse(line) as { row: Row }).row);
		}
		chunks.push({ n, key, bytes: bytes.byteLength, sha256, rows: part.length, tables });
	}
	const tables: Manifest["tables"] = {};
	for (const [table, rows] of Object.entries(rowsByTable)) {
		tables[table] = { rows: rows.length, digest: digestRows(table, rows), bound: opts.bounds?.[table] ?? null };
	}
	return commitManifest(bucket, { id, time: opts.time, trigger: "scheduled", tables, chunks, rows: opts.lines.length });
}
