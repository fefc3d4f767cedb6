// The restore_runs table as the HTTP API and the one-write-at-a-time rule use it: record a
// requested run, read runs back, find the active write-mode run, mark a run failed.
// (The Workflow's progress updates live with the restore engine.)

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
