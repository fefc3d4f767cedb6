// The snapshot_checks table: the latest verification of each snapshot (ok or corrupt, with the
// chunks and reasons). Read to choose the next sample and by retention (corrupt = not verified).
import type { CorruptItem } from "./verification-runs";

/** Upsert the latest check of one snapshot. */
export async function recordSnapshotCheck(
	db: D1Database,
	check: { snapshotId: string; runId: string; checkedAt: Date; problems: CorruptItem[] },
): Promise<void> {
	await db
		.prepare(
			`INSERT INTO snapshot_checks (snapshot_id, run_id, checked_at, status, problems) VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (snapshot_id) DO UPDATE SET run_id = excluded.run_id, checked_at = excluded.checked_at,
			 status = excluded.status, problems = excluded.problems`,
		)
		.bind(
			check.snapshotId,
			check.runId,
			check.checkedAt.toISOString(),
			check.problems.length > 0 ? "corrupt" : "ok",
			check.problems.length > 0 ? JSON.stringify(check.problems.map((p) => ({ chunk: p.chunk, reason: p.reason }))) : null,
		)
		.run();
}

/** snapshot id -> ISO time of its latest check. */
export async function fetchLastChecks(db: D1Database): Promise<Map<string, string>> {
	const { results } = await db.prepare("SELECT snapshot_id, checked_at FROM snapshot_checks").all<{ snapshot_id: string; checked_at: string }>();
	return new Map(results.map((r) => [r.snapshot_id, r.checked_at]));
}

/** Ids of the snapshots whose latest check found them corrupt. */
export async function fetchCorruptSnapshotIds(db: D1Database): Promise<string[]> {
	const { results } = await db
		.prepare("SELECT snapshot_id FROM snapshot_checks WHERE status = 'corrupt'")
		.all<{ snapshot_id: string }>();
	return results.map((r) => r.snapshot_id);
}
