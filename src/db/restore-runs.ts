// The restore_runs table, as the restore workflow writes it: progress while verifying, comparing
// and loading; the outcome; and which replace can still be undone (its replaced data kept in
// restore_undo_* tables, see restore-tables.ts). Ids, counts and reasons only.

/** Progress counters a stage change may also set. */
export type RestoreProgress = { chunksTotal?: number; rowsTotal?: number; chunksVerified?: number };

const PROGRESS_COLUMNS = { chunksTotal: "chunks_total", rowsTotal: "rows_total", chunksVerified: "chunks_verified" } as const;

/** Set the run's status and stage (and the progress counters given). Absolute values: a retried step is harmless. */
export async function updateRestoreStage(
	db: D1Database,
	runId: string,
	status: string,
	stage: string,
	progress: RestoreProgress = {},
): Promise<void> {
	const sets = ["status = ?2", "stage = ?3"];
	const params: unknown[] = [runId, status, stage];
	for (const [field, column] of Object.entries(PROGRESS_COLUMNS)) {
		const value = progress[field as keyof RestoreProgress];
		if (value === undefined) continue;
		params.push(value);
		sets.push(`${column} = ?${params.length}`);
	}
	await db.prepare(`UPDATE restore_runs SET ${sets.join(", ")} WHERE id = ?1`).bind(...params).run();
}

/** Chunk `n` is loaded: for the chunk's own batch, so progress moves with the rows. */
export function buildChunkLoadedStatement(db: D1Database, runId: string, n: number, stage: string): D1PreparedStatement {
	return db
		.prepare(`UPDATE restore_runs SET chunks_loaded = max(chunks_loaded, ?2), status = 'running', stage = ?3 WHERE id = ?1`)
		.bind(runId, n, stage);
}

/** Add the rows a chunk wrote and the erased rows it skipped. */
export async function addRestoreRows(db: D1Database, runId: string, written: number, skippedErased: number): Promise<void> {
	await db
		.prepare(`UPDATE restore_runs SET rows_written = rows_written + ?2, rows_skipped_erased = rows_skipped_erased + ?3 WHERE id = ?1`)
		.bind(runId, written, skippedErased)
		.run();
}

/** The run completed with its report; `undoAvailable` marks a replace whose replaced data is kept. */
export function buildRestoreCompleteStatement(
	db: D1Database,
	runId: string,
	now: string,
	report: unknown,
	opts: { undoAvailable: boolean } = { undoAvailable: false },
): D1PreparedStatement {
	const sql = opts.undoAvailable
		? `UPDATE restore_runs SET status = 'complete', stage = 'done', finished_at = ?2, report = ?3, undo_available = 1 WHERE id = ?1`
		: `UPDATE restore_runs SET status = 'complete', stage = 'done', finished_at = ?2, report = ?3 WHERE id = ?1`;
	return db.prepare(sql).bind(runId, now, JSON.stringify(report));
}

/** The run stopped: refused (bad snapshot, a verdict) or failed (retries exhausted); report when given (ids only). */
export function buildRestoreStoppedStatement(
	db: D1Database,
	runId: string,
	outcome: "refused" | "failed",
	now: string,
	error: string,
	report?: unknown,
): D1PreparedStatement {
	return db
		.prepare(`UPDATE restore_runs SET status = ?2, stage = 'stopped', finished_at = ?3, error = ?4, report = COALESCE(?5, report) WHERE id = ?1`)
		.bind(runId, outcome, now, error, report === undefined ? null : JSON.stringify(report));
}

/** No run can be undone any more (a new replace took over, or the kept copies were dropped). */
export function buildClearUndoStatement(db: D1Database): D1PreparedStatement {
	return db.prepare(`UPDATE restore_runs SET undo_available = 0 WHERE undo_available = 1`);
}

/** This run cannot be undone (its kept copies are gone). */
export async function clearUndoOfRun(db: D1Database, runId: string): Promise<void> {
	await db.prepare(`UPDATE restore_runs SET undo_available = 0 WHERE id = ?1`).bind(runId).run();
}

/** This run was undone at `now`. */
export function buildUndoneStatement(db: D1Database, runId: string, now: string): D1PreparedStatement {
	return db.prepare(`UPDATE restore_runs SET undo_available = 0, undone_at = ?2 WHERE id = ?1`).bind(runId, now);
}

/** The run whose replaced data is still kept, if any (its report holds the swap's max seqs). */
export async function fetchUndoableRun(db: D1Database): Promise<{ id: string; report: string | null } | null> {
	return db
		.prepare(`SELECT id, report FROM restore_runs WHERE undo_available = 1 ORDER BY requested_at DESC LIMIT 1`)
		.first<{ id: string; report: string | null }>();
}

/** When the run finished (null while it runs, or when there is no such run). */
export async function fetchRestoreFinishedAt(db: D1Database, runId: string): Promise<string | null> {
	const row = await db.prepare(`SELECT finished_at FROM restore_runs WHERE id = ?1`).bind(runId).first<{ finished_at: string | null }>();
	return row?.finished_at ?? null;
}

/**
 * First statement of the swap batch: fails it (NOT NULL constraint, so the whole batch rolls
 * back and the step is retried) when a backup is running at the commit.
 * D1 has no RAISE outside triggers; an INSERT of a NULL into a NOT NULL column is the portable
 * way to abort a batch on a condition.
 */
export function buildBackupIdleGuard(db: D1Database): D1PreparedStatement {
	return db.prepare(
		`INSERT INTO restore_runs (id, snapshot_id, mode, status, requested_at)
		 SELECT 'swap-guard', NULL, 'guard', 'guard', 'guard' WHERE EXISTS (SELECT 1 FROM backup_runs WHERE status = 'running')`,
	);
}

// ---------------------------------------------------------------------------------------------
// As the HTTP API and the one-write-at-a-time rule use it: record a requested run, read runs back,
// find the active write-mode run, mark a run failed.

/** One row of restore_runs, as stored. */
export type RestoreRunRow = {
	id: string;
	snapshot_id: string;
	mode: string;
	status: string;
	stage: string | null;
	requested_at: string;
	finished_at: string | null;
	chunks_total: number;
	chunks_verified: number;
	chunks_loaded: number;
	rows_total: number;
	rows_written: number;
	rows_skipped_erased: number;
	undo_available: number;
	undone_at: string | null;
	report: string | null;
	error: string | null;
};

/** The restore run with this id, or null. */
export async function fetchRestoreRun(db: D1Database, id: string): Promise<RestoreRunRow | null> {
	return db.prepare(`SELECT * FROM restore_runs WHERE id = ?1`).bind(id).first<RestoreRunRow>();
}

/** The most recent restore runs, newest first. */
export async function fetchRecentRestoreRuns(db: D1Database, limit: number): Promise<RestoreRunRow[]> {
	const { results } = await db.prepare(`SELECT * FROM restore_runs ORDER BY requested_at DESC LIMIT ?1`).bind(limit).all<RestoreRunRow>();
	return results;
}

/** A merge or replace (not a dry run) that is queued or running, if any. */
export async function fetchActiveWriteRun(db: D1Database): Promise<{ id: string; requested_at: string } | null> {
	return db
		.prepare(`SELECT id, requested_at FROM restore_runs WHERE mode <> 'dry-run' AND status IN ('queued', 'running') LIMIT 1`)
		.first<{ id: string; requested_at: string }>();
}

/** The id of a replace whose undo copy is still kept, if any. */
export async function fetchUndoableRunId(db: D1Database): Promise<string | null> {
	const row = await db.prepare(`SELECT id FROM restore_runs WHERE undo_available = 1 LIMIT 1`).first<{ id: string }>();
	return row?.id ?? null;
}

export type NewRestoreRun = { id: string; snapshotId: string; mode: string; requestedAt: string; chunksTotal: number; rowsTotal: number };

/**
 * Record a queued run. A write-mode run is recorded only while no other write-mode run is queued
 * or running — one statement, so two requests racing past an earlier check cannot both be
 * recorded (two replaces would share, and wreck, the same staging tables). A dry run always is.
 * Returns false when the run was not recorded.
 */
export async function insertRestoreRunIfFree(db: D1Database, run: NewRestoreRun): Promise<boolean> {
	const inserted = await db
		.prepare(
			`INSERT INTO restore_runs (id, snapshot_id, mode, status, stage, requested_at, chunks_total, rows_total)
			 SELECT ?1, ?2, ?3, 'queued', 'queued', ?4, ?5, ?6
			 WHERE ?3 = 'dry-run' OR NOT EXISTS (
			   SELECT 1 FROM restore_runs WHERE mode <> 'dry-run' AND status IN ('queued', 'running'))`,
		)
		.bind(run.id, run.snapshotId, run.mode, run.requestedAt, run.chunksTotal, run.rowsTotal)
		.run();
	return inserted.meta.changes === 1;
}

/** Mark a run failed and stopped; `finishedAt` is left as it is when not given. */
export async function markRestoreRunFailed(db: D1Database, id: string, error: string, finishedAt?: string): Promise<void> {
	await db
		.prepare(`UPDATE restore_runs SET status = 'failed', stage = 'stopped', finished_at = coalesce(?3, finished_at), error = ?2 WHERE id = ?1`)
		.bind(id, error, finishedAt ?? null)
		.run();
}

/** The report of the newest completed dry run of `snapshotId` (null: none), for the write budget. */
export async function fetchLatestDryRunReport(db: D1Database, snapshotId: string): Promise<string | null> {
	const row = await db
		.prepare(
			`SELECT report FROM restore_runs WHERE snapshot_id = ? AND mode = 'dry-run' AND status = 'complete' AND report IS NOT NULL
			 ORDER BY requested_at DESC LIMIT 1`,
		)
		.bind(snapshotId)
		.first<{ report: string }>();
	return row?.report ?? null;
}

/** The newest replace that finished (or can still be undone): what an undo would concern. */
export async function fetchLatestFinishedReplace(db: D1Database): Promise<RestoreRunRow | null> {
	return db
		.prepare(`SELECT * FROM restore_runs WHERE mode = 'replace' AND (status = 'complete' OR undo_available = 1) ORDER BY requested_at DESC LIMIT 1`)
		.first<RestoreRunRow>();
}
