// Restore I/O: verify a snapshot in R2, compare it with D1 (dry run), load it chunk by chunk
// (merge into the live tables, or into staging tables then swapped in with ONE batch), undo.
// Each exported step function is one Workflow step: self-contained, idempotent, bounded memory.
import { sha256Hex, type ChunkEntry, type Row, type SnapshotRecord } from "../snapshots/format";
import { checkChunk, gunzip } from "../snapshots/codec";
import {
	addDiffs,
	buildInsertSql,
	columnsOfLine,
	filterErasedLines,
	diffRows,
	emptyDiff,
	erasedIdsInRecords,
	findManifestProblem,
	groupRecordLines,
	groupRestorable,
	joinLinesForParams,
	pickColumns,
	quoteIdent,
	RESTORE_TABLES,
	STAGE_PREFIX,
	UNDO_PREFIX,
	type RestoreMode,
	type RestoreTable,
	type TableDiff,
} from "./plan";
import { readManifest, readObjectBytes, type ManifestKeyring, type SnapshotStore } from "../snapshots/store";
import { describeSignature, isTrusted, type SignatureStatus } from "../snapshots/signature";

/** A reason to refuse a snapshot, before anything is written. */
export type Refusal = { ok: false; reason: string };

// ---------------------------------------------------------------------------------------------
// Verification (read-only)

export type VerifiedManifest = {
	ok: true;
	chunks: ChunkEntry[];
	rows: number;
	version: number;
	/** The manifest's signature status (anything but valid/no-key was let through by an override). */
	signature: SignatureStatus;
};

/**
 * Manifest present, its SHA-256 equal to the stored one, readable, complete, and authenticated by
 * this deployment's signing key — unless `allowUnsigned` is the administrator's explicit override.
 */
export async function verifyManifest(
	store: SnapshotStore,
	snapshotId: string,
	trust: ManifestKeyring & { allowUnsigned?: boolean } = {},
): Promise<VerifiedManifest | Refusal> {
	const read = await readManifest(store, snapshotId, trust);
	if (!read.ok) return { ok: false, reason: read.message };
	if (!isTrusted(read.signature) && !trust.allowUnsigned) {
		return {
			ok: false,
			reason: `manifest of ${snapshotId} is not authenticated (${read.signature}): ${describeSignature(read.signature)}; to restore it anyway, repeat the request with allowUnsigned: true (it is logged)`,
		};
	}
	if (!read.sha256Recorded) {
		return { ok: false, reason: `manifest of ${snapshotId} carries no SHA-256 to check it against` };
	}
	const problem = findManifestProblem(read.manifest);
	if (problem) return { ok: false, reason: problem };
	return {
		ok: true,
		chunks: read.manifest.chunks,
		rows: read.manifest.rows,
		version: read.manifest.version,
		signature: read.signature,
	};
}

/** Read one chunk and check it against its manifest entry; throws nothing for bad data. */
export async function readCheckedChunk(
	store: SnapshotStore,
	entry: ChunkEntry,
): Promise<{ ok: true; records: SnapshotRecord[] } | Refusal> {
	const check = await checkChunk(entry, await readObjectBytes(store, entry.key));
	return check.ok ? check : { ok: false, reason: check.message };
}

/** Verify one chunk; returns the submission ids the snapshot says are erased (to skip later). */
export async function verifyChunk(store: SnapshotStore, entry: ChunkEntry): Promise<{ ok: true; erasedIds: string[] } | Refusal> {
	const r = await readCheckedChunk(store, entry);
	return r.ok ? { ok: true, erasedIds: erasedIdsInRecords(r.records) } : r;
}

// ---------------------------------------------------------------------------------------------
// Schema helpers

export async function fetchColumns(db: D1Database, table: string): Promise<string[]> {
	const { results } = await db.prepare(`PRAGMA table_info(${quoteIdent(table)})`).all<{ name: string }>();
	return results.map((r) => r.name);
}

type IndexDef = { name: string; sql: string };

/** Explicit indexes of a table (not the automatic ones behind UNIQUE/PRIMARY KEY). */
export async function fetchIndexes(db: D1Database, table: string): Promise<IndexDef[]> {
	const { results } = await db
		.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL`)
		.bind(table)
		.all<IndexDef>();
	return results;
}

async function fetchTableSql(db: D1Database, table: string): Promise<string> {
	const row = await db
		.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1`)
		.bind(table)
		.first<{ sql: string }>();
	if (!row) throw new Error(`table ${table} does not exist`);
	return row.sql;
}

/** `CREATE TABLE x (...)` -> `CREATE TABLE "newName" (...)`: same columns and constraints. */
export function renameCreateTable(sql: string, newName: string): string {
	const m = /^CREATE TABLE\s+(?:"[^"]+"|\w+)\s*\(/i.exec(sql);
	if (!m) throw new Error("unexpected CREATE TABLE statement");
	return `CREATE TABLE ${quoteIdent(newName)} (${sql.slice(m[0].length)}`;
}

async function tableExists(db: D1Database, name: string): Promise<boolean> {
	const row = await db.prepare(`SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?1`).bind(name).first();
	return row !== null;
}

// ---------------------------------------------------------------------------------------------
// Dry run

export type DryRunBaseline = Record<string, { count: number; candidates: string[] }>;

/** Live row counts and the newest keys of each table (candidates for "would disappear" samples). */
export async function fetchDryRunBaseline(db: D1Database): Promise<DryRunBaseline> {
	const out: DryRunBaseline = {};
	for (const spec of RESTORE_TABLES) {
		const t = quoteIdent(spec.table);
		const k = quoteIdent(spec.key);
		const [count, keys] = await db.batch<Record<string, unknown>>([
			db.prepare(`SELECT COUNT(*) AS n FROM ${t}`),
			db.prepare(`SELECT ${k} AS k FROM ${t} ORDER BY rowid DESC LIMIT 200`),
		]);
		out[spec.table] = {
			count: Number(count!.results[0]?.n ?? 0),
			candidates: keys!.results.map((r) => String(r.k)),
		};
	}
	return out;
}

async function fetchLiveErased(db: D1Database, ids: readonly string[]): Promise<string[]> {
	const out: string[] = [];
	for (let i = 0; i < ids.length; i += 20_000) {
		const { results } = await db
			.prepare(`SELECT submission_id AS id FROM erased_submissions WHERE submission_id IN (SELECT value FROM json_each(?1))`)
			.bind(JSON.stringify(ids.slice(i, i + 20_000)))
			.all<{ id: string }>();
		for (const r of results) out.push(r.id);
	}
	return out;
}

async function fetchLiveByKey(db: D1Database, spec: RestoreTable, keys: readonly string[]): Promise<Map<string, Row>> {
	const map = new Map<string, Row>();
	for (let i = 0; i < keys.length; i += 5_000) {
		const { results } = await db
			.prepare(
				`SELECT * FROM ${quoteIdent(spec.table)} WHERE ${quoteIdent(spec.key)} IN (SELECT value FROM json_each(?1))`,
			)
			.bind(JSON.stringify(keys.slice(i, i + 5_000)))
			.all<Row>();
		for (const r of results) map.set(String(r[spec.key]), r);
	}
	return map;
}

export type ChunkComparison = { diffs: Record<string, TableDiff>; found: Record<string, string[]> };

/** Compare one verified chunk with the live tables (read-only). */
export async function compareChunk(
	db: D1Database,
	store: SnapshotStore,
	entry: ChunkEntry,
	snapshotErased: readonly string[],
	candidates: Record<string, string[]>,
): Promise<ChunkComparison | Refusal> {
	const read = await readCheckedChunk(store, entry);
	if (!read.ok) return read;
	const out: ChunkComparison = { diffs: {}, found: {} };
	for (const [table, rows] of groupRestorable(read.records)) {
		const spec = RESTORE_TABLES.find((t) => t.table === table)!;
		const keys = rows.map((r) => String(r[spec.key] ?? ""));
		const erased = new Set(snapshotErased);
		if (table === "submissions") for (const id of await fetchLiveErased(db, keys)) erased.add(id);
		const live = await fetchLiveByKey(db, spec, keys);
		out.diffs[table] = addDiffs(emptyDiff(), diffRows(spec, rows, live, erased));
		const keySet = new Set(keys);
		out.found[table] = (candidates[table] ?? []).filter((k) => keySet.has(k));
	}
	return out;
}

// ---------------------------------------------------------------------------------------------
// Loading (merge: live tables; replace: staging tables)

/** Drop leftovers of an earlier interrupted replace, then create empty staging tables. */
export async function prepareStaging(db: D1Database): Promise<void> {
	const statements: D1PreparedStatement[] = [];
	for (const spec of RESTORE_TABLES) {
		const stage = `${STAGE_PREFIX}${spec.table}`;
		statements.push(db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(stage)}`));
		statements.push(db.prepare(renameCreateTable(await fetchTableSql(db, spec.table), stage)));
	}
	await db.batch(statements);
}

export type ChunkLoad = { written: Record<string, number>; skippedErased: number; rows: number };

/**
 * Read a chunk whose full check (checkChunk: gzip, every record) already passed in the verify
 * pass: equal size and SHA-256 prove these are the same bytes, so its lines need no re-parsing.
 */
async function readVerifiedLines(store: SnapshotStore, entry: ChunkEntry): Promise<{ ok: true; text: string } | Refusal> {
	const bytes = await readObjectBytes(store, entry.key);
	if (!bytes || bytes.byteLength !== entry.bytes || sha256Hex(bytes) !== entry.sha256) {
		return { ok: false, reason: `chunk ${entry.n} (${entry.key}) changed since it was verified` };
	}
	return { ok: true, text: new TextDecoder().decode(gunzip(bytes)) };
}

/**
 * Load one chunk in ONE batch (atomic): INSERT OR IGNORE of its records, passed to SQLite as
 * JSON arrays of the NDJSON lines. A retried step is a no-op (idempotent).
 */
export async function loadChunk(
	db: D1Database,
	store: SnapshotStore,
	entry: ChunkEntry,
	mode: Exclude<RestoreMode, "dry-run">,
	snapshotErased: readonly string[],
	runId: string,
): Promise<ChunkLoad | Refusal> {
	const read = await readVerifiedLines(store, entry);
	if (!read.ok) return read;
	const groups = groupRecordLines(read.text);
	const statements: D1PreparedStatement[] = [];
	const owners: string[] = [];
	let rows = 0;
	let skippedErased = 0;
	for (const spec of RESTORE_TABLES) {
		let lines = groups.get(spec.table);
		if (!lines?.length) continue;
		rows += lines.length;
		if (spec.table === "submissions") {
			// Never restore an erased submission: ids erased live (read now) or per the snapshot.
			const { results } = await db.prepare(`SELECT submission_id AS id FROM erased_submissions`).all<{ id: string }>();
			const erased = new Set([...snapshotErased, ...results.map((r) => r.id)]);
			const filtered = filterErasedLines(lines, erased);
			lines = filtered.kept;
			skippedErased = filtered.skipped;
			if (lines.length === 0) continue;
		}
		const target = mode === "replace" ? `${STAGE_PREFIX}${spec.table}` : spec.table;
		const columns = pickColumns(columnsOfLine(lines[0]!), await fetchColumns(db, target));
		const sql = buildInsertSql({ target, columns, keepSeqWhenFree: mode === "merge" && spec.seq });
		for (const json of joinLinesForParams(lines)) {
			statements.push(db.prepare(sql).bind(json));
			owners.push(spec.table);
		}
	}
	// An erasure committed between the read above and this batch must still win (merge writes
	// live rows; replace re-applies every erasure in the swap batch).
	if (mode === "merge") {
		statements.push(db.prepare(`DELETE FROM submissions WHERE id IN (SELECT submission_id FROM erased_submissions)`));
		owners.push("erased_cleanup");
	}
	statements.push(
		db
			.prepare(`UPDATE restore_runs SET chunks_loaded = max(chunks_loaded, ?2), status = 'running', stage = ?3 WHERE id = ?1`)
			.bind(runId, entry.n, `load chunk ${entry.n}`),
	);
	const results = await db.batch(statements);
	const written: Record<string, number> = {};
	owners.forEach((t, i) => {
		if (t === "erased_cleanup") written.submissions = (written.submissions ?? 0) - (results[i]?.meta.changes ?? 0);
		else written[t] = (written[t] ?? 0) + (results[i]?.meta.changes ?? 0);
	});
	const total = Object.values(written).reduce((a, b) => a + b, 0);
	await db
		.prepare(`UPDATE restore_runs SET rows_written = rows_written + ?2, rows_skipped_erased = rows_skipped_erased + ?3 WHERE id = ?1`)
		.bind(runId, total, skippedErased)
		.run();
	return { written, skippedErased, rows };
}

// ---------------------------------------------------------------------------------------------
// Counters: derived data, reconciled with the rows after every write-mode restore

/**
 * Statements that make counters and roles.use_count equal what the rows say: 'total',
 * 'role:<role_key>', 'day:<first 10 chars of received_at>'. Only wrong or missing values are
 * touched (so a consistent database is left byte-for-byte as it was); counters whose rows are
 * all gone are set to 0, never deleted.
 */
export function buildRecountStatements(db: D1Database, now: string): D1PreparedStatement[] {
	const upsert = `ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
	                WHERE counters.value <> excluded.value`;
	return [
		db.prepare(`INSERT INTO counters (name, value, updated_at) SELECT 'total', COUNT(*), ?1 FROM submissions WHERE 1 ${upsert}`).bind(now),
		db
			.prepare(
				`INSERT INTO counters (name, value, updated_at)
				 SELECT 'role:' || role_key, COUNT(*), ?1 FROM submissions WHERE 1 GROUP BY role_key ${upsert}`,
			)
			.bind(now),
		db
			.prepare(
				`INSERT INTO counters (name, value, updated_at)
				 SELECT 'day:' || substr(received_at, 1, 10), COUNT(*), ?1 FROM submissions WHERE 1
				 GROUP BY substr(received_at, 1, 10) ${upsert}`,
			)
			.bind(now),
		db
			.prepare(
				`UPDATE counters SET value = 0, updated_at = ?1 WHERE value <> 0 AND (
				   (name LIKE 'role:%' AND substr(name, 6) NOT IN (SELECT role_key FROM submissions)) OR
				   (name LIKE 'day:%' AND substr(name, 5) NOT IN (SELECT substr(received_at, 1, 10) FROM submissions)))`,
			)
			.bind(now),
		db.prepare(
			`UPDATE roles SET use_count = (SELECT COUNT(*) FROM submissions s WHERE s.role_key = roles.role_key)
			 WHERE use_count <> (SELECT COUNT(*) FROM submissions s WHERE s.role_key = roles.role_key)`,
		),
	];
}

function auditStatement(db: D1Database, at: string, action: string, detail: Record<string, unknown>): D1PreparedStatement {
	return db.prepare(`INSERT INTO audit_log (at, action, detail) VALUES (?1, ?2, ?3)`).bind(at, action, JSON.stringify(detail));
}

/** Finish a merge: reconcile counters, record the outcome and an audit line, in one batch. */
export async function finishMerge(db: D1Database, runId: string, snapshotId: string, report: unknown, now: string): Promise<void> {
	await db.batch([
		...buildRecountStatements(db, now),
		db
			.prepare(`UPDATE restore_runs SET status = 'complete', stage = 'done', finished_at = ?2, report = ?3 WHERE id = ?1`)
			.bind(runId, now, JSON.stringify(report)),
		auditStatement(db, now, "restore", { runId, snapshotId, mode: "merge" }),
	]);
}

/** Highest seq per table with a seq, so undo can carry over rows created after the swap. */
async function fetchMaxSeqs(db: D1Database, prefix: string): Promise<Record<string, number>> {
	const out: Record<string, number> = {};
	for (const spec of RESTORE_TABLES) {
		if (!spec.seq) continue;
		const row = await db.prepare(`SELECT COALESCE(MAX(seq), 0) AS m FROM ${quoteIdent(prefix + spec.table)}`).first<{ m: number }>();
		out[spec.table] = row?.m ?? 0;
	}
	return out;
}

/** Copy rows from one table to another with the same schema, keeping seq when it is free. */
function copyRowsSql(from: string, to: string, columns: readonly string[], where = ""): string {
	const cols = columns.map(quoteIdent).join(", ");
	const values = columns
		.map((c) =>
			c === "seq" ? `CASE WHEN EXISTS (SELECT 1 FROM ${quoteIdent(to)} x WHERE x."seq" = f."seq") THEN NULL ELSE f."seq" END` : `f.${quoteIdent(c)}`,
		)
		.join(", ");
	return `INSERT OR IGNORE INTO ${quoteIdent(to)} (${cols}) SELECT ${values} FROM ${quoteIdent(from)} f ${where}`;
}

/**
 * The swap, ONE batch: union the live erasures into staging and drop erased submissions from it;
 * then per table rename live -> restore_undo_<t>, staging -> live, move the explicit indexes;
 * reconcile counters; mark this run as the one that can be undone; audit.
 */
export async function swapInStaging(
	db: D1Database,
	runId: string,
	snapshotId: string,
	report: unknown,
	now: string,
): Promise<Refusal | undefined> {
	// A backup running now read (some of) the tables about to be renamed: swapping under it would
	// give a snapshot mixing old and restored rows, and let its success release the undo copy.
	const running = await db.prepare(`SELECT id FROM backup_runs WHERE status = 'running' LIMIT 1`).first<{ id: string }>();
	if (running) {
		return { ok: false, reason: `backup ${running.id} is running; nothing was changed, run the restore again once it has finished` };
	}
	const statements: D1PreparedStatement[] = [buildBackupIdleGuard(db)];
	for (const spec of RESTORE_TABLES.filter((t) => t.keepLiveOnReplace)) {
		statements.push(db.prepare(copyRowsSql(spec.table, STAGE_PREFIX + spec.table, await fetchColumns(db, spec.table))));
	}
	statements.push(
		db.prepare(
			`DELETE FROM ${STAGE_PREFIX}submissions WHERE id IN (SELECT submission_id FROM ${STAGE_PREFIX}erased_submissions)`,
		),
	);
	for (const spec of RESTORE_TABLES) {
		const undo = quoteIdent(UNDO_PREFIX + spec.table);
		statements.push(db.prepare(`DROP TABLE IF EXISTS ${undo}`));
		statements.push(db.prepare(`ALTER TABLE ${quoteIdent(spec.table)} RENAME TO ${undo}`));
		const indexes = await fetchIndexes(db, spec.table);
		for (const ix of indexes) statements.push(db.prepare(`DROP INDEX ${quoteIdent(ix.name)}`));
		statements.push(db.prepare(`ALTER TABLE ${quoteIdent(STAGE_PREFIX + spec.table)} RENAME TO ${quoteIdent(spec.table)}`));
		for (const ix of indexes) statements.push(db.prepare(ix.sql));
	}
	const maxSeqs = await fetchMaxSeqs(db, STAGE_PREFIX);
	statements.push(...buildRecountStatements(db, now));
	statements.push(db.prepare(`UPDATE restore_runs SET undo_available = 0 WHERE undo_available = 1`));
	statements.push(
		db
			.prepare(
				`UPDATE restore_runs SET status = 'complete', stage = 'done', finished_at = ?2, report = ?3, undo_available = 1 WHERE id = ?1`,
			)
			.bind(runId, now, JSON.stringify({ ...(report as object), swapMaxSeq: maxSeqs })),
	);
	statements.push(auditStatement(db, now, "restore", { runId, snapshotId, mode: "replace" }));
	await db.batch(statements);
	return undefined;
}

/**
 * First statement of the swap batch: fails it (NOT NULL constraint, so the whole batch rolls
 * back and the step is retried) when a backup started between the check above and the commit.
 * D1 has no RAISE outside triggers; an INSERT of a NULL into a NOT NULL column is the portable
 * way to abort a batch on a condition.
 */
function buildBackupIdleGuard(db: D1Database): D1PreparedStatement {
	return db.prepare(
		`INSERT INTO restore_runs (id, snapshot_id, mode, status, requested_at)
		 SELECT 'swap-guard', NULL, 'guard', 'guard', 'guard' WHERE EXISTS (SELECT 1 FROM backup_runs WHERE status = 'running')`,
	);
}

/** The run whose replaced data is still kept, if any. */
export async function findUndoableRun(db: D1Database): Promise<{ id: string; report: string | null } | null> {
	return db
		.prepare(`SELECT id, report FROM restore_runs WHERE undo_available = 1 ORDER BY requested_at DESC LIMIT 1`)
		.first<{ id: string; report: string | null }>();
}

/**
 * Undo the last replace, ONE batch: bring the kept tables back, carrying over what happened
 * since the swap so that nothing new is lost and nothing erased comes back: rows created after
 * the swap (seq above the swap's maximum) and every erasure; then drop erased submissions,
 * reconcile counters, audit.
 */
export async function undoReplace(db: D1Database, now: string): Promise<{ runId: string } | null> {
	const run = await findUndoableRun(db);
	if (!run) return null;
	for (const spec of RESTORE_TABLES) {
		if (!(await tableExists(db, UNDO_PREFIX + spec.table))) {
			await db.prepare(`UPDATE restore_runs SET undo_available = 0 WHERE id = ?1`).bind(run.id).run();
			return null;
		}
	}
	const maxSeqs = (JSON.parse(run.report ?? "{}") as { swapMaxSeq?: Record<string, number> }).swapMaxSeq ?? {};
	const statements: D1PreparedStatement[] = [];
	for (const spec of RESTORE_TABLES) {
		const columns = await fetchColumns(db, spec.table);
		if (spec.keepLiveOnReplace) {
			statements.push(db.prepare(copyRowsSql(spec.table, UNDO_PREFIX + spec.table, columns)));
		} else if (spec.seq) {
			statements.push(db.prepare(copyRowsSql(spec.table, UNDO_PREFIX + spec.table, columns, `WHERE f."seq" > ?1`)).bind(maxSeqs[spec.table] ?? 0));
		}
	}
	statements.push(
		db.prepare(`DELETE FROM ${UNDO_PREFIX}submissions WHERE id IN (SELECT submission_id FROM ${UNDO_PREFIX}erased_submissions)`),
	);
	for (const spec of RESTORE_TABLES) {
		const indexes = await fetchIndexes(db, spec.table);
		statements.push(db.prepare(`DROP TABLE ${quoteIdent(spec.table)}`));
		statements.push(db.prepare(`ALTER TABLE ${quoteIdent(UNDO_PREFIX + spec.table)} RENAME TO ${quoteIdent(spec.table)}`));
		for (const ix of indexes) statements.push(db.prepare(ix.sql));
	}
	statements.push(...buildRecountStatements(db, now));
	statements.push(db.prepare(`UPDATE restore_runs SET undo_available = 0, undone_at = ?2 WHERE id = ?1`).bind(run.id, now));
	statements.push(auditStatement(db, now, "restore_undo", { runId: run.id }));
	await db.batch(statements);
	return { runId: run.id };
}

/**
 * After a successful backup (which holds the current data), the kept copy is no longer needed:
 * drop the restore_undo_* tables of replaces that finished before that backup started.
 */
export async function dropUndoCopies(db: D1Database, backupStartedAt: string): Promise<number> {
	const run = await findUndoableRun(db);
	const finished = run
		? await db.prepare(`SELECT finished_at FROM restore_runs WHERE id = ?1`).bind(run.id).first<{ finished_at: string | null }>()
		: null;
	if (run && finished?.finished_at && finished.finished_at > backupStartedAt) return 0;
	const statements = RESTORE_TABLES.map((t) => db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(UNDO_PREFIX + t.table)}`));
	statements.push(db.prepare(`UPDATE restore_runs SET undo_available = 0 WHERE undo_available = 1`));
	const results = await db.batch(statements);
	return results.at(-1)?.meta.changes ?? 0;
}

/** Drop staging tables left by a failed replace (harmless otherwise). */
export async function dropStaging(db: D1Database): Promise<void> {
	await db.batch(RESTORE_TABLES.map((t) => db.prepare(`DROP TABLE IF EXISTS ${quoteIdent(STAGE_PREFIX + t.table)}`)));
}
