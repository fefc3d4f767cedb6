// The backup_runs table: one row per backup run (scheduled or manual), whatever its outcome.
// The row id is the Workflow instance id. Status: queued -> running -> complete | failed.

export type RunStatus = "queued" | "running" | "complete" | "failed";
export type RunTrigger = "scheduled" | "manual";

export type BackupRun = {
	id: string;
	trigger: RunTrigger;
	status: RunStatus;
	stage: string | null;
	startedAt: string;
	finishedAt: string | null;
	snapshotId: string | null;
	rows: number;
	bytes: number;
	chunks: number;
	error: string | null;
	details: string | null;
	/** Rows the run expects to export (counted at its start); null before that, or for older runs. */
	rowsTotal: number | null;
	/** The Workflow step that failed (e.g. "write chunk 3"); null unless the run failed in a step. */
	failedStep: string | null;
};

type RunRow = {
	id: string;
	trigger: string;
	status: string;
	stage: string | null;
	started_at: string;
	finished_at: string | null;
	snapshot_id: string | null;
	rows: number;
	bytes: number;
	chunks: number;
	error: string | null;
	details: string | null;
	rows_total?: number | null;
	failed_step?: string | null;
};

function toRun(r: RunRow): BackupRun {
	return {
		id: r.id,
		trigger: r.trigger === "scheduled" ? "scheduled" : "manual",
		status: (["queued", "running", "complete", "failed"] as const).find((s) => s === r.status) ?? "failed",
		stage: r.stage,
		startedAt: r.started_at,
		finishedAt: r.finished_at,
		snapshotId: r.snapshot_id,
		rows: r.rows,
		bytes: r.bytes,
		chunks: r.chunks,
		error: r.error,
		details: r.details,
		rowsTotal: r.rows_total ?? null,
		failedStep: r.failed_step ?? null,
	};
}

export async function fetchRun(db: D1Database, id: string): Promise<BackupRun | null> {
	const row = await db.prepare("SELECT * FROM backup_runs WHERE id = ?").bind(id).first<RunRow>();
	return row ? toRun(row) : null;
}

/** The queued or running runs, oldest first. */
export async function fetchActiveRuns(db: D1Database): Promise<BackupRun[]> {
	const { results } = await db
		.prepare("SELECT * FROM backup_runs WHERE status IN ('queued', 'running') ORDER BY started_at")
		.all<RunRow>();
	return results.map(toRun);
}

/** The most recent runs, newest first. */
export async function fetchRecentRuns(db: D1Database, limit: number): Promise<BackupRun[]> {
	const { results } = await db
		.prepare("SELECT * FROM backup_runs ORDER BY started_at DESC, id DESC LIMIT ?")
		.bind(limit)
		.all<RunRow>();
	return results.map(toRun);
}

/**
 * Insert a queued run only if no other run is queued or running — one statement, so two
 * concurrent triggers cannot both win. Returns false when another run is active.
 */
export async function insertRunIfIdle(db: D1Database, id: string, trigger: RunTrigger, at: string): Promise<boolean> {
	const res = await db
		.prepare(
			`INSERT INTO backup_runs (id, trigger, status, stage, started_at)
			 SELECT ?1, ?2, 'queued', 'queued', ?3
			 WHERE NOT EXISTS (SELECT 1 FROM backup_runs WHERE status IN ('queued', 'running'))`,
		)
		.bind(id, trigger, at)
		.run();
	return res.meta.changes === 1;
}

/** Insert a queued run unless a run with this id exists (a duplicate cron delivery). */
export async function insertRunOnce(db: D1Database, id: string, trigger: RunTrigger, at: string): Promise<boolean> {
	const res = await db
		.prepare(
			"INSERT OR IGNORE INTO backup_runs (id, trigger, status, stage, started_at) VALUES (?1, ?2, 'queued', 'queued', ?3)",
		)
		.bind(id, trigger, at)
		.run();
	return res.meta.changes === 1;
}

/**
 * Mark a run running (creating its row if the trigger could not), with its snapshot id and the
 * rows it expects to export (null when unknown).
 */
export async function markRunRunning(
	db: D1Database,
	run: { id: string; trigger: RunTrigger; startedAt: string; snapshotId: string; rowsTotal?: number | null },
): Promise<void> {
	await db
		.prepare(
			`INSERT INTO backup_runs (id, trigger, status, stage, started_at, snapshot_id, rows_total)
			 VALUES (?1, ?2, 'running', 'begin', ?3, ?4, ?5)
			 ON CONFLICT (id) DO UPDATE SET status = 'running', stage = 'begin', started_at = ?3,
			   snapshot_id = ?4, rows_total = ?5, error = NULL, failed_step = NULL`,
		)
		.bind(run.id, run.trigger, run.startedAt, run.snapshotId, run.rowsTotal ?? null)
		.run();
}

/** The stage of a running run (e.g. "manifest"); one small UPDATE, absolute, so retries are harmless. */
export async function updateRunStage(db: D1Database, id: string, stage: string): Promise<void> {
	await db.prepare("UPDATE backup_runs SET stage = ?2 WHERE id = ?1 AND status = 'running'").bind(id, stage).run();
}

/**
 * The newest complete run that started before `before` (its snapshot was read back and matched
 * when it was written): "your previous good backup" in a failure's explanation.
 */
export async function fetchPreviousCompleteRun(db: D1Database, before: string): Promise<BackupRun | null> {
	const row = await db
		.prepare(
			`SELECT * FROM backup_runs WHERE status = 'complete' AND snapshot_id IS NOT NULL AND started_at < ?1
			 ORDER BY started_at DESC, id DESC LIMIT 1`,
		)
		.bind(before)
		.first<RunRow>();
	return row ? toRun(row) : null;
}

/** Progress while exporting/verifying (absolute values, so a retried step is harmless). */
export async function updateRunProgress(
	db: D1Database,
	id: string,
	p: { stage: string; rows: number; bytes: number; chunks: number },
): Promise<void> {
	await db
		.prepare("UPDATE backup_runs SET stage = ?2, rows = ?3, bytes = ?4, chunks = ?5 WHERE id = ?1 AND status = 'running'")
		.bind(id, p.stage, p.rows, p.bytes, p.chunks)
		.run();
}

/** Final state of a run (complete or failed); upsert so a run is recorded whatever happened before. */
export async function markRunFinished(
	db: D1Database,
	run: {
		id: string;
		trigger: RunTrigger;
		status: "complete" | "failed";
		stage: string;
		startedAt: string;
		finishedAt: string;
		snapshotId: string | null;
		rows: number;
		bytes: number;
		chunks: number;
		error: string | null;
		/** The step that failed, when known (kept as it was when omitted). */
		failedStep?: string | null;
	},
): Promise<void> {
	await db
		.prepare(
			`INSERT INTO backup_runs (id, trigger, status, stage, started_at, finished_at, snapshot_id, rows, bytes, chunks, error, failed_step)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
			 ON CONFLICT (id) DO UPDATE SET status = ?3, stage = ?4, finished_at = ?6, snapshot_id = ?7,
			   rows = ?8, bytes = ?9, chunks = ?10, error = ?11, failed_step = coalesce(?12, failed_step)`,
		)
		.bind(
			run.id,
			run.trigger,
			run.status,
			run.stage,
			run.startedAt,
			run.finishedAt,
			run.snapshotId,
			run.rows,
			run.bytes,
			run.chunks,
			run.error,
			run.failedStep ?? null,
		)
		.run();
}

/** Record the after-backup hooks' results (JSON) on the run. */
export async function updateRunDetails(db: D1Database, id: string, details: unknown): Promise<void> {
	await db.prepare("UPDATE backup_runs SET details = ?2 WHERE id = ?1").bind(id, JSON.stringify(details)).run();
}

/** The stage of a run still queued (e.g. waiting for the data lock); absolute, so retries are harmless. */
export async function updateQueuedRunStage(db: D1Database, id: string, stage: string): Promise<void> {
	await db.prepare("UPDATE backup_runs SET stage = ?2 WHERE id = ?1 AND status = 'queued'").bind(id, stage).run();
}
