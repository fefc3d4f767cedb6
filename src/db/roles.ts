// D1 queries for dynamic roles: the upsert that counts one use, the suggestions (roles used by
// enough distinct respondents, or approved), and the administrator's approve / rename / merge.

/** A role as counted: its deduplication key and the spelling to store if the key is new. */
export type RoleUse = { key: string; label: string };

export type RoleRow = {
	key: string;
	label: string;
	use_count: number;
	created_at: string;
	last_used_at: string | null;
};

/**
 * One use of a role, as a statement for the submission batch: a new key is inserted with this
 * spelling; a known key keeps its first spelling and creation time, and only its counter and
 * last use move.
 */
export function buildRoleUseStatement(db: D1Database, role: RoleUse, at: string): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO roles (role_key, label, created_at, use_count, last_used_at) VALUES (?1, ?2, ?3, 1, ?3)
			 ON CONFLICT (role_key) DO UPDATE SET use_count = use_count + 1, last_used_at = excluded.last_used_at`,
		)
		.bind(role.key, role.label, at);
}

/** At most this many roles are listed (GET /api/roles) and offered in the form's picker. */
export const ROLE_CHOICES_LIMIT = 100;

/**
 * SQL of one respondent's identity in a submission `s`, from the answers at the JSON paths bound
 * as parameters ?first, ?first+1… (e.g. '$.cafe', '$.ville'): the values lower-cased (ASCII) and
 * trimmed, joined by a unit separator. Without paths, each submission is its own respondent.
 */
function respondentSql(paths: number, first: number): string {
	if (paths === 0) return "s.id";
	return Array.from({ length: paths }, (_, i) => `lower(trim(COALESCE(json_extract(s.answers, ?${first + i}), '')))`).join(" || char(31) || ");
}

/** Pure: question ids -> the JSON paths respondentSql reads ('$.cafe'). Ids are snake_case (definition.ts). */
export function buildRespondentPaths(questionIds: readonly string[] | undefined): string[] {
	return (questionIds ?? []).map((id) => `$.${id}`);
}

/**
 * The stored roles other respondents may be offered, most used first: every role of its own (not
 * merged into another) that an administrator approved, or that at least `minRespondents` distinct
 * respondents used (its merged roles' submissions included). Erased submissions are gone from
 * `submissions`, so they no longer count. Counting stops at `minRespondents` distinct values, so a
 * popular role costs a few rows, not all of its submissions.
 */
export async function fetchSuggestedRoles(
	db: D1Database,
	opts: { minRespondents: number; respondentPaths: readonly string[]; limit: number },
): Promise<{ key: string; label: string; approved: boolean }[]> {
	const who = respondentSql(opts.respondentPaths.length, 3);
	const { results } = await db
		.prepare(
			`WITH own AS (
			   SELECT r.seq, r.role_key, r.label, r.approved_at,
			          r.use_count + COALESCE((SELECT SUM(a.use_count) FROM roles a WHERE a.merged_into = r.role_key), 0) AS uses
			   FROM roles r WHERE r.merged_into IS NULL
			 )
			 SELECT o.role_key AS key, o.label, o.approved_at IS NOT NULL AS approved
			 FROM own o
			 WHERE o.approved_at IS NOT NULL
			    OR (o.uses >= ?1 AND (
			         SELECT COUNT(*) FROM (
			           SELECT DISTINCT ${who} FROM submissions s
			           WHERE s.role_key IN (SELECT a.role_key FROM roles a WHERE a.role_key = o.role_key OR a.merged_into = o.role_key)
			           LIMIT ?1)
			       ) >= ?1)
			 ORDER BY o.uses DESC, o.seq ASC LIMIT ?2`,
		)
		.bind(opts.minRespondents, opts.limit, ...opts.respondentPaths)
		.all<{ key: string; label: string; approved: number }>();
	return results.map((r) => ({ key: r.key, label: r.label, approved: r.approved === 1 }));
}

/** A role as the administrator sees it: its own uses, and those of the roles merged into it. */
export type AdminRoleRow = {
	seq: number;
	key: string;
	label: string;
	/** Submissions under this key (not counting the roles merged into it). */
	uses: number;
	/** Submissions under this key and the keys merged into it. */
	totalUses: number;
	/** Distinct respondents over the same submissions. */
	respondents: number;
	approvedAt: string | null;
	mergedInto: string | null;
	createdAt: string;
	lastUsedAt: string | null;
};

/** Roles for the dashboard, roles of their own first, most used first; at most `limit`. */
export async function fetchAdminRoles(db: D1Database, opts: { respondentPaths: readonly string[]; limit: number }): Promise<AdminRoleRow[]> {
	const who = respondentSql(opts.respondentPaths.length, 2);
	const { results } = await db
		.prepare(
			`SELECT r.seq, r.role_key AS key, r.label, r.use_count AS uses,
			        r.use_count + COALESCE((SELECT SUM(a.use_count) FROM roles a WHERE a.merged_into = r.role_key), 0) AS totalUses,
			        (SELECT COUNT(DISTINCT ${who}) FROM submissions s
			         WHERE s.role_key IN (SELECT a.role_key FROM roles a WHERE a.role_key = r.role_key OR a.merged_into = r.role_key)) AS respondents,
			        r.approved_at AS approvedAt, r.merged_into AS mergedInto, r.created_at AS createdAt, r.last_used_at AS lastUsedAt
			 FROM roles r
			 ORDER BY r.merged_into IS NOT NULL, totalUses DESC, r.seq ASC LIMIT ?1`,
		)
		.bind(opts.limit, ...opts.respondentPaths)
		.all<AdminRoleRow>();
	return results;
}

/** How many roles are stored (the dashboard says when its list is cut). */
export async function fetchRoleCount(db: D1Database): Promise<number> {
	return (await db.prepare("SELECT COUNT(*) AS n FROM roles").first<{ n: number }>())?.n ?? 0;
}

/** One stored role, or undefined. */
export async function fetchRole(
	db: D1Database,
	key: string,
): Promise<{ seq: number; key: string; label: string; approvedAt: string | null; mergedInto: string | null } | undefined> {
	const row = await db
		.prepare("SELECT seq, role_key AS key, label, approved_at AS approvedAt, merged_into AS mergedInto FROM roles WHERE role_key = ?1")
		.bind(key)
		.first<{ seq: number; key: string; label: string; approvedAt: string | null; mergedInto: string | null }>();
	return row ?? undefined;
}

/** Administrator actions on roles, as written in audit_log.action. */
export type RoleAuditAction = "role_approve" | "role_unapprove" | "role_rename" | "role_merge";

/**
 * The audit line of a role action, last in its batch: it names the roles by their `seq` (looked up
 * by key once the batch's other statements have run), never by their text, which respondents typed.
 */
function buildRoleAuditStatement(db: D1Database, at: string, action: RoleAuditAction, key: string, into?: string): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO audit_log (at, action, detail)
			 SELECT ?1, ?2, json_object('role', (SELECT seq FROM roles WHERE role_key = ?3)${into === undefined ? "" : ", 'into', (SELECT seq FROM roles WHERE role_key = ?4)"})`,
		)
		.bind(at, action, key, ...(into === undefined ? [] : [into]));
}

/** Approve a role (it is then suggested whatever its uses) or withdraw the approval; audit-logged. */
export async function updateRoleApproval(db: D1Database, key: string, approved: boolean, at: string): Promise<void> {
	await db.batch([
		db
			.prepare("UPDATE roles SET approved_at = CASE WHEN ?2 THEN COALESCE(approved_at, ?3) ELSE NULL END WHERE role_key = ?1")
			.bind(key, approved ? 1 : 0, at),
		buildRoleAuditStatement(db, at, approved ? "role_approve" : "role_unapprove", key),
	]);
}

/**
 * Insert a role with no use yet (the new name of a renamed role, or a questionnaire role that
 * becomes a merge target before anyone chose it), as a statement for a batch; a no-op if the key exists.
 */
function buildInsertRole(db: D1Database, role: RoleUse, at: string, approvedAt: string | null): D1PreparedStatement {
	return db
		.prepare("INSERT OR IGNORE INTO roles (role_key, label, created_at, use_count, last_used_at, approved_at) VALUES (?1, ?2, ?3, 0, NULL, ?4)")
		.bind(role.key, role.label, at, approvedAt);
}

/** Point `from` and every role merged into it at `into`, taking its label; `from` loses its approval. */
function buildMergeStatement(db: D1Database, from: string, into: string): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE roles SET merged_into = ?2, approved_at = NULL, label = (SELECT label FROM roles WHERE role_key = ?2)
			 WHERE role_key = ?1 OR merged_into = ?1`,
		)
		.bind(from, into);
}

/**
 * Rename a role. Same key (only case, accents or spacing change): the label of the role and of the
 * roles merged into it changes. New key: a role with the new name is created (keeping the
 * approval) and the old one is merged into it, so that respondents who type the new name count as
 * the same role. The caller checks that no other role has the new key. Audit-logged.
 */
export async function renameRole(db: D1Database, key: string, to: RoleUse, at: string): Promise<void> {
	if (to.key === key) {
		await db.batch([
			db.prepare("UPDATE roles SET label = ?2 WHERE role_key = ?1 OR merged_into = ?1").bind(key, to.label),
			buildRoleAuditStatement(db, at, "role_rename", key),
		]);
		return;
	}
	await db.batch([
		db
			.prepare(
				`INSERT OR IGNORE INTO roles (role_key, label, created_at, use_count, last_used_at, approved_at)
				 SELECT ?1, ?2, ?3, 0, NULL, approved_at FROM roles WHERE role_key = ?4`,
			)
			.bind(to.key, to.label, at, key),
		buildMergeStatement(db, key, to.key),
		buildRoleAuditStatement(db, at, "role_rename", key, to.key),
	]);
}

/**
 * Merge `from` (and the roles already merged into it) into `into`, which must be a role of its
 * own; `create` inserts `into` first (a questionnaire role nobody chose yet). Audit-logged.
 */
export async function mergeRole(db: D1Database, from: string, into: string, at: string, create?: RoleUse): Promise<void> {
	await db.batch([
		...(create ? [buildInsertRole(db, create, at, null)] : []),
		buildMergeStatement(db, from, into),
		buildRoleAuditStatement(db, at, "role_merge", from, into),
	]);
}

/** A roles table and the submissions table whose rows are its uses (live, or a restore's copy). */
export type RoleTables = { roles: string; submissions: string; counters: string };

const quote = (table: string) => {
	if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table.slice(0, 40)}`);
	return `"${table}"`;
};

/**
 * Statements for an erasure batch that take erased respondents' words out of one roles table, as
 * if their submissions had never been made. They must run BEFORE the erased rows are deleted.
 * `?1` is the JSON array of erased submission ids; `sources` are every table that may hold those
 * rows (their spellings are looked up there).
 * - A role with no remaining use is deleted, and so is its `role:<key>` counter.
 * - A role with remaining uses gets their count, first and last use times; and when its label is
 *   a spelling typed by an erased respondent that no remaining respondent typed, the label becomes
 *   the spelling of its oldest remaining use (its key when no remaining row holds a spelling).
 * Labels typed by someone else stay as they are, so a public label never changes needlessly.
 */
export function buildRoleErasureStatements(
	db: D1Database,
	ids: string,
	sources: readonly string[],
	target: RoleTables,
): D1PreparedStatement[] {
	const R = quote(target.roles);
	const S = quote(target.submissions);
	const C = quote(target.counters);
	const erased = sources
		.map((t) => `SELECT role_key, json_extract(answers, '$.role') AS spelling FROM ${quote(t)} WHERE id IN (SELECT value FROM json_each(?1))`)
		.join(" UNION ALL ");
	const remaining = (key: string) => `FROM ${S} s WHERE s.role_key = ${key} AND s.id NOT IN (SELECT value FROM json_each(?1))`;
	const spelled = `json_extract(s.answers, '$.role')`;
	return [
		db
			.prepare(
				`UPDATE ${R} SET
				   use_count = (SELECT COUNT(*) ${remaining(`${R}.role_key`)}),
				   created_at = max(created_at, (SELECT MIN(s.received_at) ${remaining(`${R}.role_key`)})),
				   last_used_at = (SELECT MAX(s.received_at) ${remaining(`${R}.role_key`)}),
				   label = CASE
				     WHEN label IN (SELECT e.spelling FROM (${erased}) e WHERE e.role_key = ${R}.role_key)
				      AND NOT EXISTS (SELECT 1 ${remaining(`${R}.role_key`)} AND ${spelled} = ${R}.label)
				     THEN COALESCE((SELECT ${spelled} ${remaining(`${R}.role_key`)} AND ${spelled} IS NOT NULL ORDER BY s.seq LIMIT 1), role_key)
				     ELSE label END
				 WHERE role_key IN (SELECT role_key FROM (${erased}))
				   AND EXISTS (SELECT 1 ${remaining(`${R}.role_key`)})`,
			)
			.bind(ids),
		db
			.prepare(
				`DELETE FROM ${R} WHERE role_key IN (SELECT role_key FROM (${erased}))
				   AND NOT EXISTS (SELECT 1 ${remaining(`${R}.role_key`)})`,
			)
			.bind(ids),
		db
			.prepare(
				`DELETE FROM ${C} WHERE name IN (SELECT 'role:' || role_key FROM (${erased}))
				   AND NOT EXISTS (SELECT 1 ${remaining(`substr(${C}.name, 6)`)})`,
			)
			.bind(ids),
	];
}
