// D1 queries for dynamic roles: the upsert that counts one use, and the list most used first.

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

/**
 * Roles in use, most used first (ties: oldest first, so the order is stable). A role nobody uses
 * any more (a restore can bring one back with no use) is never listed: its label may be the words
 * of an erased respondent.
 */
export async function fetchRoles(db: D1Database, limit: number): Promise<RoleRow[]> {
	const { results } = await db
		.prepare(
			`SELECT role_key AS key, label, use_count, created_at, last_used_at
			 FROM roles WHERE use_count > 0 ORDER BY use_count DESC, seq ASC LIMIT ?`,
		)
		.bind(limit)
		.all<RoleRow>();
	return results;
}

/** At most this many roles are listed (GET /api/roles) and offered in the form's picker. */
export const ROLE_CHOICES_LIMIT = 100;

/** The roles offered in the form's picker: key and first spelling, most used first. */
export async function fetchRoleChoices(db: D1Database): Promise<{ key: string; label: string }[]> {
	return (await fetchRoles(db, ROLE_CHOICES_LIMIT)).map(({ key, label }) => ({ key, label }));
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
