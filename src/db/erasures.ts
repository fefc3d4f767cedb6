// D1 queries for erasure requests: find a respondent's submissions, then delete them, fix the
// counters and the roles they used, and record the erasure, all in ONE batch (one transaction); and
// the erased ids, which a restore never brings back and the verification drill leaves out.
import { buildAuditStatement } from "./audit-log";
import { buildRoleErasureStatements } from "./roles";

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
 * 'role:<key>', 'day:<YYYY-MM-DD of received_at>') by the rows about to go; take the erased
 * respondents' words out of the roles (buildRoleErasureStatements: a role left without a use is
 * deleted with its 'role:<key>' counter, a label they typed is replaced by a remaining spelling),
 * in the live tables and in every copy a replace keeps; delete the rows; record the erasure, its
 * erased_submissions rows and an audit line.
 * Counts are computed from the rows inside the batch, so a row already gone counts for nothing.
 * A copy (`restore_undo_submissions`, `restore_stage_submissions`) always has its roles and
 * counters tables beside it: a restore creates and drops the tables of one prefix together.
 */
export function buildEraseStatements(db: D1Database, entry: ErasureEntry, copies: readonly string[] = []): D1PreparedStatement[] {
	const ids = JSON.stringify(entry.submissionIds);
	const copyTables = copies.filter((t) => t !== "submissions");
	const sources = ["submissions", ...copyTables];
	// Copies kept or loaded by a replace (see fetchSubmissionTables): their counters are
	// recomputed when they become live, so deleting the rows (and the roles only they used) is enough.
	const copyRoleStatements = copyTables.flatMap((t) => {
		const prefix = t.slice(0, -"submissions".length);
		return buildRoleErasureStatements(db, ids, sources, { roles: `${prefix}roles`, submissions: t, counters: `${prefix}counters` });
	});
	const copyDeletes = copyTables.map((t) => db.prepare(`DELETE FROM "${t}" WHERE id IN (SELECT value FROM json_each(?1))`).bind(ids));
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
		...buildRoleErasureStatements(db, ids, sources, { roles: "roles", submissions: "submissions", counters: "counters" }),
		...copyRoleStatements,
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
		buildAuditStatement(db, entry.requestedAt, "erasure", { erasureId: entry.id, submissions: entry.submissionIds.length }),
	];
}

/** Every erased submission id (erased_submissions). */
export async function fetchErasedSubmissionIds(db: D1Database): Promise<string[]> {
	const { results } = await db.prepare("SELECT submission_id FROM erased_submissions").all<{ submission_id: string }>();
	return results.map((r) => r.submission_id);
}

/** Those of `ids` that are erased, read in slices of 20,000 ids (one JSON parameter each). */
export async function fetchErasedIdsAmong(db: D1Database, ids: readonly string[]): Promise<string[]> {
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
