// D1 queries for erasure requests: find a respondent's submissions, then delete them, fix the
// counters and role use counts and record the erasure, all in ONE batch (one transaction).

/**
 * Tables holding submissions: the live one, plus the copies a replace keeps (restore_undo_*, which
 * an undo brings back) or is loading (restore_stage_*, which its swap brings in). An erasure must
 * find and delete a respondent's rows in all of them, or an undo would bring them back.
 */
export async function fetchSubmissionTables(db: D1Database): Promise<string[]> {
	const { results } = await db
		.prepare(
			`SELECT name FROM sqlite_master WHERE type = 'table'
			 AND name IN ('submissions', 'restore_undo_submissions', 'restore_stage_submissions') ORDER BY name`,
		)
		.all<{ name: string }>();
	return results.map((r) => r.name);
}

/** Ids of submissions whose answers' e-mail equals `normalisedEmail` (trimmed, lower-case). */
export async function findSubmissionIdsByEmail(
	db: D1Database,
	normalisedEmail: string,
	tables: readonly string[] = ["submissions"],
): Promise<string[]> {
	// SQLite lower() folds ASCII letters only; addresses are overwhelmingly ASCII (docs/erasure.md).
	const ids = new Set<string>();
	for (const t of tables) {
		const { results } = await db
			.prepare(`SELECT id FROM "${t}" WHERE lower(trim(json_extract(answers, '$.email'))) = ?1 ORDER BY seq`)
			.bind(normalisedEmail)
			.all<{ id: string }>();
		for (const r of results) ids.add(r.id);
	}
	return [...ids];
}

export async function submissionExists(db: D1Database, id: string, tables: readonly string[] = ["submissions"]): Promise<boolean> {
	for (const t of tables) {
		if ((await db.prepare(`SELECT 1 AS x FROM "${t}" WHERE id = ?1`).bind(id).first()) !== null) return true;
	}
	return false;
}

export type ErasureEntry = {
	id: string;
	requestedAt: string;
	submissionIds: string[];
	emailHash: string | null;
	emailSalt: string | null;
};

/**
 * Statements that erase `entry.submissionIds`, in order: decrement the counters ('total',
 * 'role:<key>', 'day:<YYYY-MM-DD of received_at>') and roles.use_count by the rows about to go,
 * delete the rows, record the erasure, its erased_submissions rows and an audit line.
 * Counts are computed from the rows inside the batch, so a row already gone counts for nothing.
 */
export function buildEraseStatements(db: D1Database, entry: ErasureEntry, copies: readonly string[] = []): D1PreparedStatement[] {
	const ids = JSON.stringify(entry.submissionIds);
	// Copies kept or loaded by a replace (see fetchSubmissionTables): their counters are
	// recomputed when they become live, so deleting the rows is enough.
	const copyDeletes = copies
		.filter((t) => t !== "submissions")
		.map((t) => db.prepare(`DELETE FROM "${t}" WHERE id IN (SELECT value FROM json_each(?1))`).bind(ids));
	const gone = `SELECT s.role_key, s.received_at FROM submissions s WHERE s.id IN (SELECT value FROM json_each(?1))`;
	return [
		db
			.prepare(
				`UPDATE counters SET
				   value = value - (SELECT COUNT(*) FROM (${gone}) g
				     WHERE counters.name = 'total' OR counters.name = 'role:' || g.role_key
				        OR counters.name = 'day:' || substr(g.received_at, 1, 10)),
				   updated_at = ?2
				 WHERE name = 'total'
				    OR name IN (SELECT 'role:' || role_key FROM (${gone}))
				    OR name IN (SELECT 'day:' || substr(received_at, 1, 10) FROM (${gone}))`,
			)
			.bind(ids, entry.requestedAt),
		db
			.prepare(
				`UPDATE roles SET use_count = use_count - (SELECT COUNT(*) FROM (${gone}) g WHERE g.role_key = roles.role_key)
				 WHERE role_key IN (SELECT role_key FROM (${gone}))`,
			)
			.bind(ids),
		db.prepare(`DELETE FROM submissions WHERE id IN (SELECT value FROM json_each(?1))`).bind(ids),
		...copyDeletes,
		db
			.prepare(
				`INSERT INTO erasures (id, requested_at, submission_ids, email_hash, email_salt) VALUES (?1, ?2, ?3, ?4, ?5)`,
			)
			.bind(entry.id, entry.requestedAt, ids, entry.emailHash, entry.emailSalt),
		db
			.prepare(
				`INSERT OR IGNORE INTO erased_submissions (submission_id, erasure_id, erased_at)
				 SELECT value, ?2, ?3 FROM json_each(?1)`,
			)
			.bind(ids, entry.id, entry.requestedAt),
		db
			.prepare(`INSERT INTO audit_log (at, action, detail) VALUES (?1, 'erasure', ?2)`)
			.bind(entry.requestedAt, JSON.stringify({ erasureId: entry.id, submissions: entry.submissionIds.length })),
	];
}

/**
 * Submissions erased on request, grouped by the time of the erasure (retention's data-loss
 * detector: a drop explained by erasures is not a loss). One row per erasure moment: small.
 */
export async function fetchErasureTimes(db: D1Database): Promise<Array<{ at: string; submissions: number }>> {
	const { results } = await db
		.prepare("SELECT erased_at AS at, COUNT(*) AS submissions FROM erased_submissions GROUP BY erased_at ORDER BY erased_at")
		.all<{ at: string; submissions: number }>();
	return results;
}
