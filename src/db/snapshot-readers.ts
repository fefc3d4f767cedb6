// Runs that may be reading snapshots right now, as D1 records them: restores queued or running
// (restore_runs) and verifications running (verification_runs). Retention never deletes what
// they read. Whether their Workflow instance is still alive is the caller's business.

export type RunningRestore = { id: string; snapshotId: string; requestedAt: string };
export type RunningVerification = { id: string; startedAt: string };

/** One batch, two reads. */
export async function fetchRunningReaders(
	db: D1Database,
): Promise<{ restores: RunningRestore[]; verifications: RunningVerification[] }> {
	const [restores, verifications] = await db.batch([
		db.prepare(
			"SELECT id, snapshot_id AS snapshotId, requested_at AS requestedAt FROM restore_runs WHERE status IN ('queued', 'running') ORDER BY requested_at",
		),
		db.prepare("SELECT id, started_at AS startedAt FROM verification_runs WHERE status = 'running' ORDER BY started_at"),
	]);
	return {
		restores: (restores?.results ?? []) as RunningRestore[],
		verifications: (verifications?.results ?? []) as RunningVerification[],
	};
}
