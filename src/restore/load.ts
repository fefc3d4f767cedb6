// Restore I/O: verify a snapshot in R2, compare it with D1 (dry run), load it part by part (a range
// read of one gzip member of a chunk per step; merge into the live tables, or into staging tables
// then swapped in with ONE batch), undo.
// Each exported step function is one Workflow step: self-contained, idempotent, bounded memory.
import { describePart, partsOf, sha256Hex, type ChunkEntry, type Row, type SnapshotRecord } from "../snapshots/format";
import { gunzip, openPart, parseRecordLines } from "../snapshots/codec";
import {
	addDiffs,
	columnsOfLine,
	filterErasedLines,
	diffRows,
	emptyDiff,
	findManifestProblem,
	groupRecordLines,
	groupRestorable,
	joinLinesForParams,
	pickColumns,
	RESTORE_TABLES,
	scanPartText,
	STAGE_PREFIX,
	UNDO_PREFIX,
	type RejectedRows,
	type RestoreMode,
	type TableDiff,
} from "./plan";
import type { RowCheckContext } from "./rows";
import { questionnaire } from "../questionnaire/definition";
import { readManifest, readPartBytes, type ManifestKeyring, type SnapshotStore } from "../snapshots/store";
import { describeSignature, isTrusted, type SignatureStatus } from "../snapshots/signature";
import { buildAuditStatement } from "../db/audit-log";
import { buildDataLockHeldGuard, buildReleaseDataLockStatement } from "../db/data-locks";
import { buildRecountStatements } from "../db/counters";
import { fetchErasedIdsAmong, fetchErasedSubmissionIds } from "../db/erasures";
import {
	buildCopyRows,
	buildCreateIndex,
	buildCreateTableLike,
	buildDeleteErasedSubmissions,
	buildDropIndex,
	buildDropTable,
	buildInsertRecords,
	buildRenameTable,
	fetchCountAndNewestKeys,
	fetchMaxSeq,
	fetchRowsByKey,
} from "../db/restore-tables";
import {
	addRestoreRows,
	buildChunkLoadedStatement,
	buildClearUndoStatement,
	buildRestoreCompleteStatement,
	buildUndoneStatement,
	clearUndoOfRun,
	fetchRestoreFinishedAt,
	fetchUndoableRun,
} from "../db/restore-runs";
import { fetchColumns, fetchIndexes, tableExists } from "../db/schema";

/** A reason to refuse a snapshot, before anything is written. */
export type Refusal = { ok: false; reason: string };

// ---------------------------------------------------------------------------------------------
// Verification (read-only)

export type VerifiedManifest = {
	ok: true;
	/**
	 * The chunk entries WITHOUT their parts lists (a step result stays small at any size; the
	 * "entries" steps list them, see fetchVerifiedEntries), and how many parts each has.
	 */
	chunks: ChunkEntry[];
	partsPerChunk: number[];
	/** SHA-256 of the manifest read: later steps check they read the very same one. */
	manifestSha256: string;
	rows: number;
	version: number;
	/** Each table's consistency bound (highest seq included), as the manifest records it. */
	bounds: Record<string, number | null>;
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
		chunks: read.manifest.chunks.map(({ parts: _, ...c }) => c),
		partsPerChunk: read.manifest.chunks.map((c) => partsOf(c).length),
		manifestSha256: sha256Hex(read.text),
		rows: read.manifest.rows,
		version: read.manifest.version,
		bounds: Object.fromEntries(Object.entries(read.manifest.tables).map(([t, s]) => [t, typeof s.bound === "number" ? s.bound : null])),
		signature: read.signature,
	};
}

/**
 * The row checks' context for a run: its time, the manifest's bounds, and the questionnaire
 * definitions this code knows by version (answers of other versions get the generic shape check).
 */
export function buildRowCheckContext(now: number, bounds: Record<string, number | null>): RowCheckContext {
	return { now, bounds, definitions: new Map([[questionnaire.version, questionnaire]]) };
}

// ---------------------------------------------------------------------------------------------
// Part by part (one part of a chunk per Workflow step; a chunk without parts is one part)

/**
 * Step "entries <from>-<to>": the manifest's entries of chunks from..to WITH their parts, from the
 * very manifest the run verified (its SHA-256): a manifest replaced since is refused.
 */
export async function fetchVerifiedEntries(
	store: SnapshotStore,
	snapshotId: string,
	manifestSha256: string,
	from: number,
	to: number,
): Promise<{ ok: true; entries: ChunkEntry[] } | Refusal> {
	const read = await readManifest(store, snapshotId);
	if (!read.ok) return { ok: false, reason: read.message };
	if (sha256Hex(read.text) !== manifestSha256) return { ok: false, reason: `the manifest of ${snapshotId} changed since it was verified` };
	return { ok: true, entries: read.manifest.chunks.slice(from - 1, to) };
}

export type VerifiedPart = { ok: true; erasedIds: string[]; rejected: RejectedRows; counts: Record<string, number> };

/**
 * Verify one part (`index` in partsOf(entry)) by a range read: size and SHA-256 against the
 * manifest, gzip, UTF-8, every line a record, its record count, every row of a restored table
 * checked (refused rows listed). The chunk's per-table counts are checked by the caller once its
 * parts are summed (findCountsProblem).
 */
export async function verifyPart(store: SnapshotStore, entry: ChunkEntry, index: number, context: RowCheckContext): Promise<VerifiedPart | Refusal> {
	const opened = openPart(entry, index, await readPartBytes(store, entry, index));
	if (!opened.ok) return { ok: false, reason: opened.message };
	let text: string;
	try {
		text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(opened.raw);
	} catch {
		return { ok: false, reason: `${describePart(entry, index)}: not valid UTF-8` };
	}
	return scanPartText(entry, index, text, context);
}

/**
 * Read a part whose full check already passed in the verify pass: equal size and SHA-256 prove
 * these are the same bytes, so its lines need no re-parsing.
 */
async function readVerifiedPartText(store: SnapshotStore, entry: ChunkEntry, index: number): Promise<{ ok: true; text: string } | Refusal> {
	const part = partsOf(entry)[index];
	const bytes = await readPartBytes(store, entry, index);
	if (!part || !bytes || bytes.byteLength !== part.bytes || sha256Hex(bytes) !== part.sha256) {
		return { ok: false, reason: `${describePart(entry, index)} changed since it was verified` };
	}
	return { ok: true, text: new TextDecoder().decode(gunzip(bytes)) };
}

/** Compare one verified part with the live tables (read-only). */
export async function comparePart(
	db: D1Database,
	store: SnapshotStore,
	entry: ChunkEntry,
	index: number,
	snapshotErased: readonly string[],
	candidates: Record<string, string[]>,
): Promise<ChunkComparison | Refusal> {
	const read = await readVerifiedPartText(store, entry, index);
	if (!read.ok) return read;
	let records: SnapshotRecord[];
	try {
		records = parseRecordLines(read.text, describePart(entry, index));
	} catch (err) {
		return { ok: false, reason: err instanceof Error ? err.message : String(err) };
	}
	return compareRecords(db, records, snapshotErased, candidates);
}

/** Load one verified part (re-read by range: same size and SHA-256 as verified) in ONE batch. */
export async function loadPart(
	db: D1Database,
	store: SnapshotStore,
	entry: ChunkEntry,
	index: number,
	mode: Exclude<RestoreMode, "dry-run">,
	snapshotErased: readonly string[],
	runId: string,
): Promise<ChunkLoad | Refusal> {
	const read = await readVerifiedPartText(store, entry, index);
	if (!read.ok) return read;
	const parts = partsOf(entry).length;
	// The chunk counts as loaded with its last part.
	const loaded = index === parts - 1 ? entry.n : entry.n - 1;
	return loadLines(db, read.text, mode, snapshotErased, runId, loaded, parts > 1 ? `load chunk ${entry.n} part ${index + 1}/${parts}` : `load chunk ${entry.n}`);
}

// ---------------------------------------------------------------------------------------------
// Dry run

export type DryRunBaseline = Record<string, { count: number; candidates: string[] }>;

/** Live row counts and the newest keys of each table (candidates for "would disappear" samples). */
export async function fetchDryRunBaseline(db: D1Database): Promise<DryRunBaseline> {
	const out: DryRunBaseline = {};
	for (const spec of RESTORE_TABLES) {
		const { count, keys } = await fetchCountAndNewestKeys(db, spec.table, spec.key, 200);
		out[spec.table] = { count, candidates: keys };
	}
	return out;
}

export type ChunkComparison = { diffs: Record<string, TableDiff>; found: Record<string, string[]> };

/** Compare records (of one chunk or part) with the live rows of the same keys (read-only). */
async function compareRecords(
	db: D1Database,
	records: readonly SnapshotRecord[],
	snapshotErased: readonly string[],
	candidates: Record<string, string[]>,
): Promise<ChunkComparison> {
	const out: ChunkComparison = { diffs: {}, found: {} };
	for (const [table, rows] of groupRestorable(records)) {
		const spec = RESTORE_TABLES.find((t) => t.table === table)!;
		const keys = rows.map((r) => String(r[spec.key] ?? ""));
		const erased = new Set(snapshotErased);
		if (table === "submissions") for (const id of await fetchErasedIdsAmong(db, keys)) erased.add(id);
		const live = await fetchRowsByKey<Row>(db, spec.table, spec.key, keys);
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
		statements.push(buildDropTable(db, stage, { ifExists: true }));
		statements.push(await buildCreateTableLike(db, spec.table, stage));
	}
	await db.batch(statements);
}

export type ChunkLoad = { written: Record<string, number>; skippedErased: number; rows: number };

/**
 * Load verified NDJSON lines (one part) in ONE batch (atomic): INSERT OR IGNORE of its records,
 * passed to SQLite as JSON arrays of the NDJSON lines. A retried step is a no-op (idempotent). The
 * batch commits only while this run holds the data lock (its holder id is the run id).
 * `loaded` = the chunks now completely loaded (progress).
 */
async function loadLines(
	db: D1Database,
	text: string,
	mode: Exclude<RestoreMode, "dry-run">,
	snapshotErased: readonly string[],
	runId: string,
	loaded: number,
	stage: string,
): Promise<ChunkLoad> {
	const groups = groupRecordLines(text);
	const statements: D1PreparedStatement[] = [buildDataLockHeldGuard(db, runId)];
	const owners: string[] = ["lock_guard"];
	let rows = 0;
	let skippedErased = 0;
	for (const spec of RESTORE_TABLES) {
		let lines = groups.get(spec.table);
		if (!lines?.length) continue;
		rows += lines.length;
		if (spec.table === "submissions") {
			// Never restore an erased submission: ids erased live (read now) or per the snapshot.
			const erased = new Set([...snapshotErased, ...(await fetchErasedSubmissionIds(db))]);
			const filtered = filterErasedLines(lines, erased);
			lines = filtered.kept;
			skippedErased = filtered.skipped;
			if (lines.length === 0) continue;
		}
		const target = mode === "replace" ? `${STAGE_PREFIX}${spec.table}` : spec.table;
		const columns = pickColumns(columnsOfLine(lines[0]!), await fetchColumns(db, target));
		const inserts = buildInsertRecords(db, { target, columns, keepSeqWhenFree: mode === "merge" && spec.seq }, joinLinesForParams(lines));
		for (const insert of inserts) {
			statements.push(insert);
			owners.push(spec.table);
		}
	}
	// An erasure committed between the read above and this batch must still win (merge writes
	// live rows; replace re-applies every erasure in the swap batch).
	if (mode === "merge") {
		statements.push(buildDeleteErasedSubmissions(db, ""));
		owners.push("erased_cleanup");
	}
	statements.push(buildChunkLoadedStatement(db, runId, loaded, stage));
	const results = await db.batch(statements);
	const written: Record<string, number> = {};
	owners.forEach((t, i) => {
		if (t === "lock_guard") return;
		if (t === "erased_cleanup") written.submissions = (written.submissions ?? 0) - (results[i]?.meta.changes ?? 0);
		else written[t] = (written[t] ?? 0) + (results[i]?.meta.changes ?? 0);
	});
	const total = Object.values(written).reduce((a, b) => a + b, 0);
	await addRestoreRows(db, runId, total, skippedErased);
	return { written, skippedErased, rows };
}

// ---------------------------------------------------------------------------------------------
// Finishing: counters are derived data, reconciled with the rows after every write-mode restore

/** Finish a merge: reconcile counters, record the outcome and an audit line, release the lock, in one batch. */
export async function finishMerge(db: D1Database, runId: string, snapshotId: string, report: unknown, now: string): Promise<void> {
	await db.batch([
		buildDataLockHeldGuard(db, runId),
		...buildRecountStatements(db, now),
		buildRestoreCompleteStatement(db, runId, now, report),
		buildAuditStatement(db, now, "restore", { runId, snapshotId, mode: "merge" }),
		buildReleaseDataLockStatement(db, runId),
	]);
}

/** Highest seq per table with a seq, so undo can carry over rows created after the swap. */
async function fetchMaxSeqs(db: D1Database, prefix: string): Promise<Record<string, number>> {
	const out: Record<string, number> = {};
	for (const spec of RESTORE_TABLES) {
		if (!spec.seq) continue;
		out[spec.table] = await fetchMaxSeq(db, prefix + spec.table);
	}
	return out;
}

/**
 * The swap, ONE batch: union the live erasures into staging and drop erased submissions from it;
 * then per table rename live -> restore_undo_<t>, staging -> live, move the explicit indexes;
 * reconcile counters; mark this run as the one that can be undone; audit; release the lock.
 * It commits only while this run holds the data lock, so no backup reads across it.
 */
export async function swapInStaging(
	db: D1Database,
	runId: string,
	snapshotId: string,
	report: unknown,
	now: string,
): Promise<void> {
	// A backup reading across the swap would capture a mix of old and restored rows and, on
	// success, release the undo copy: the lock keeps backups out, and the guard proves it is held.
	const statements: D1PreparedStatement[] = [buildDataLockHeldGuard(db, runId)];
	for (const spec of RESTORE_TABLES.filter((t) => t.keepLiveOnReplace)) {
		statements.push(buildCopyRows(db, spec.table, STAGE_PREFIX + spec.table, await fetchColumns(db, spec.table)));
	}
	statements.push(buildDeleteErasedSubmissions(db, STAGE_PREFIX));
	for (const spec of RESTORE_TABLES) {
		const undo = UNDO_PREFIX + spec.table;
		statements.push(buildDropTable(db, undo, { ifExists: true }));
		statements.push(buildRenameTable(db, spec.table, undo));
		const indexes = await fetchIndexes(db, spec.table);
		for (const ix of indexes) statements.push(buildDropIndex(db, ix));
		statements.push(buildRenameTable(db, STAGE_PREFIX + spec.table, spec.table));
		for (const ix of indexes) statements.push(buildCreateIndex(db, ix));
	}
	const maxSeqs = await fetchMaxSeqs(db, STAGE_PREFIX);
	statements.push(...buildRecountStatements(db, now));
	statements.push(buildClearUndoStatement(db));
	statements.push(buildRestoreCompleteStatement(db, runId, now, { ...(report as object), swapMaxSeq: maxSeqs }, { undoAvailable: true }));
	statements.push(buildAuditStatement(db, now, "restore", { runId, snapshotId, mode: "replace" }));
	statements.push(buildReleaseDataLockStatement(db, runId));
	await db.batch(statements);
}

/**
 * Undo the last replace, ONE batch: bring the kept tables back, carrying over what happened
 * since the swap so that nothing new is lost and nothing erased comes back: rows created after
 * the swap (seq above the swap's maximum) and every erasure; then drop erased submissions,
 * reconcile counters, audit.
 */
export async function undoReplace(db: D1Database, now: string): Promise<{ runId: string } | null> {
	const run = await fetchUndoableRun(db);
	if (!run) return null;
	for (const spec of RESTORE_TABLES) {
		if (!(await tableExists(db, UNDO_PREFIX + spec.table))) {
			await clearUndoOfRun(db, run.id);
			return null;
		}
	}
	const maxSeqs = (JSON.parse(run.report ?? "{}") as { swapMaxSeq?: Record<string, number> }).swapMaxSeq ?? {};
	const statements: D1PreparedStatement[] = [];
	for (const spec of RESTORE_TABLES) {
		const columns = await fetchColumns(db, spec.table);
		if (spec.keepLiveOnReplace) {
			statements.push(buildCopyRows(db, spec.table, UNDO_PREFIX + spec.table, columns));
		} else if (spec.seq) {
			statements.push(buildCopyRows(db, spec.table, UNDO_PREFIX + spec.table, columns, maxSeqs[spec.table] ?? 0));
		}
	}
	statements.push(buildDeleteErasedSubmissions(db, UNDO_PREFIX));
	for (const spec of RESTORE_TABLES) {
		const indexes = await fetchIndexes(db, spec.table);
		statements.push(buildDropTable(db, spec.table, { ifExists: false }));
		statements.push(buildRenameTable(db, UNDO_PREFIX + spec.table, spec.table));
		for (const ix of indexes) statements.push(buildCreateIndex(db, ix));
	}
	statements.push(...buildRecountStatements(db, now));
	statements.push(buildUndoneStatement(db, run.id, now));
	statements.push(buildAuditStatement(db, now, "restore_undo", { runId: run.id }));
	await db.batch(statements);
	return { runId: run.id };
}

/**
 * After a successful backup (which holds the current data), the kept copy is no longer needed:
 * drop the restore_undo_* tables of replaces that finished before that backup started.
 */
export async function dropUndoCopies(db: D1Database, backupStartedAt: string): Promise<number> {
	const run = await fetchUndoableRun(db);
	const finishedAt = run ? await fetchRestoreFinishedAt(db, run.id) : null;
	if (run && finishedAt && finishedAt > backupStartedAt) return 0;
	const statements = RESTORE_TABLES.map((t) => buildDropTable(db, UNDO_PREFIX + t.table, { ifExists: true }));
	statements.push(buildClearUndoStatement(db));
	const results = await db.batch(statements);
	return results.at(-1)?.meta.changes ?? 0;
}

/** Drop staging tables left by a failed replace (harmless otherwise). */
export async function dropStaging(db: D1Database): Promise<void> {
	await db.batch(RESTORE_TABLES.map((t) => buildDropTable(db, STAGE_PREFIX + t.table, { ifExists: true })));
}
