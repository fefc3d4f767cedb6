// D1 records of the weekly verification: verification_runs, one per run (the latest check of each
// snapshot is in snapshot_checks, see snapshot-checks.ts). Ids, counts and reasons only.

export type CorruptItem = { snapshotId: string; chunk: string | null; reason: string; message: string };

export type VerificationRunRecord = {
	id: string;
	scheduledTime: string;
	status: "running" | "ok" | "failed" | "error";
	startedAt: string;
	finishedAt: string | null;
	snapshotsTotal: number;
	snapshotsChecked: number;
	snapshotsCorrupt: number;
	chunksChecked: number;
	bytesChecked: number;
	drillSnapshotId: string | null;
	drillStatus: "ok" | "mismatch" | "error" | "skipped" | null;
	details: unknown;
	error: string | null;
};

/** Idempotent: a retried first step or a duplicate start keeps the first row. */
export async function insertVerificationRun(db: D1Database, id: string, scheduledTime: Date, startedAt: Date): Promise<void> {
	await db
		.prepare("INSERT OR IGNORE INTO verification_runs (id, scheduled_time, status, started_at) VALUES (?, ?, 'running', ?)")
		.bind(id, scheduledTime.toISOString(), startedAt.toISOString())
		.run();
}

export async function finishVerificationRun(db: D1Database, run: Omit<VerificationRunRecord, "scheduledTime" | "startedAt">): Promise<void> {
	await db
		.prepare(
			`UPDATE verification_runs SET status = ?, finished_at = ?, snapshots_total = ?, snapshots_checked = ?,
			 snapshots_corrupt = ?, chunks_checked = ?, bytes_checked = ?, drill_snapshot_id = ?, drill_status = ?,
			 details = ?, error = ? WHERE id = ?`,
		)
		.bind(
			run.status,
			run.finishedAt,
			run.snapshotsTotal,
			run.snapshotsChecked,
			run.snapshotsCorrupt,
			run.chunksChecked,
			run.bytesChecked,
			run.drillSnapshotId,
			run.drillStatus,
			JSON.stringify(run.details ?? null),
			run.error,
			run.id,
		)
		.run();
}

type RunRow = {
	id: string;
	scheduled_time: string;
	status: VerificationRunRecord["status"];
	started_at: string;
	finished_at: string | null;
	snapshots_total: number;
	snapshots_checked: number;
	snapshots_corrupt: number;
	chunks_checked: number;
	bytes_checked: number;
	drill_snapshot_id: string | null;
	drill_status: VerificationRunRecord["drillStatus"];
	details: string | null;
	error: string | null;
};

function toRecord(r: RunRow): VerificationRunRecord {
	let details: unknown = null;
	try {
		details = r.details ? JSON.parse(r.details) : null;
	} catch {
		details = null;
	}
	return {
		id: r.id,
		scheduledTime: r.scheduled_time,
		status: r.status,
		startedAt: r.started_at,
		finishedAt: r.finished_at,
		snapshotsTotal: r.snapshots_total,
		snapshotsChecked: r.snapshots_checked,
		snapshotsCorrupt: r.snapshots_corrupt,
		chunksChecked: r.chunks_checked,
		bytesChecked: r.bytes_checked,
		drillSnapshotId: r.drill_snapshot_id,
		drillStatus: r.drill_status,
		details,
		error: r.error,
	};
}

export async function fetchVerificationRun(db: D1Database, id: string): Promise<VerificationRunRecord | null> {
	const row = await db.prepare("SELECT * FROM verification_runs WHERE id = ?").bind(id).first<RunRow>();
	return row ? toRecord(row) : null;
}

/**
 * For the status endpoint: the latest verification run (any status), or null when none ran yet.
 * Show: status, finishedAt, snapshotsChecked / snapshotsCorrupt, drillStatus (+ drillSnapshotId),
 * and `details.corrupt` (snapshot + chunk) when not ok.
 */
export async function fetchLatestVerification(db: D1Database): Promise<VerificationRunRecord | null> {
	// Scheduled runs only: an on-demand check of one snapshot is not the weekly verification.
	const row = await db
		.prepare("SELECT * FROM verification_runs WHERE id NOT LIKE 'verify-manual-%' ORDER BY started_at DESC, id DESC LIMIT 1")
		.first<RunRow>();
	return row ? toRecord(row) : null;
}
