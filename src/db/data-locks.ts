// The data_locks table: who is changing the questionnaire's data right now. Taking the lock is ONE
// conditional INSERT (atomic in D1, like the restore run's NOT EXISTS guard), so two writers that
// exclude each other can never both hold it. Who excludes whom, and stale locks, are decided in
// src/jobs/data-lock.ts; docs/decisions.md ("The data lock") says why.

export type LockMode = "shared" | "exclusive";

export type DataLockRow = { holder: string; kind: string; mode: LockMode; acquiredAt: string };

/**
 * Take the lock for `holder` unless another holder conflicts with `mode` (any exclusive holder;
 * any holder at all when `mode` is exclusive). A holder that already holds it keeps it (a retried
 * Workflow step). Returns whether `holder` holds the lock afterwards.
 */
export async function insertDataLock(db: D1Database, lock: DataLockRow): Promise<boolean> {
	const [, held] = await db.batch<{ held: number }>([
		db
			.prepare(
				`INSERT INTO data_locks (holder, kind, mode, acquired_at)
				 SELECT ?1, ?2, ?3, ?4
				 WHERE NOT EXISTS (SELECT 1 FROM data_locks WHERE holder <> ?1 AND (mode = 'exclusive' OR ?3 = 'exclusive'))
				 ON CONFLICT (holder) DO NOTHING`,
			)
			.bind(lock.holder, lock.kind, lock.mode, lock.acquiredAt),
		db.prepare(`SELECT 1 AS held FROM data_locks WHERE holder = ?1`).bind(lock.holder),
	]);
	return (held?.results.length ?? 0) > 0;
}

/** Every lock held now, oldest first. */
export async function fetchDataLocks(db: D1Database): Promise<DataLockRow[]> {
	const { results } = await db
		.prepare(`SELECT holder, kind, mode, acquired_at FROM data_locks ORDER BY acquired_at, holder`)
		.all<{ holder: string; kind: string; mode: string; acquired_at: string }>();
	return results.map((r) => ({ holder: r.holder, kind: r.kind, mode: r.mode === "shared" ? "shared" : "exclusive", acquiredAt: r.acquired_at }));
}

/** Does `holder` hold the lock? */
export async function fetchDataLockHeld(db: D1Database, holder: string): Promise<boolean> {
	return (await db.prepare(`SELECT 1 AS held FROM data_locks WHERE holder = ?1`).bind(holder).first()) !== null;
}

/** Release: for the batch that finishes the holder's work, so that both land or neither. */
export function buildReleaseDataLockStatement(db: D1Database, holder: string): D1PreparedStatement {
	return db.prepare(`DELETE FROM data_locks WHERE holder = ?1`).bind(holder);
}

export async function deleteDataLock(db: D1Database, holder: string): Promise<void> {
	await buildReleaseDataLockStatement(db, holder).run();
}

/**
 * Remove a stale lock, only if it is still the very lock that was judged stale (same holder and
 * acquisition time). Returns whether it was removed.
 */
export async function deleteStaleDataLock(db: D1Database, lock: Pick<DataLockRow, "holder" | "acquiredAt">): Promise<boolean> {
	const res = await db.prepare(`DELETE FROM data_locks WHERE holder = ?1 AND acquired_at = ?2`).bind(lock.holder, lock.acquiredAt).run();
	return res.meta.changes === 1;
}

/**
 * First statement of a batch that may only commit while `holder` holds the lock: fails the whole
 * batch (NOT NULL constraint; D1 has no RAISE outside triggers) when the lock is not held, e.g.
 * after it was recovered as stale. The batch is then retried by its Workflow step, and fails.
 */
export function buildDataLockHeldGuard(db: D1Database, holder: string): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO data_locks (holder, kind, mode, acquired_at)
			 SELECT NULL, 'guard', 'exclusive', 'guard' WHERE NOT EXISTS (SELECT 1 FROM data_locks WHERE holder = ?1)`,
		)
		.bind(holder);
}
