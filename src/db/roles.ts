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

/** Roles, most used first (ties: oldest first, so the order is stable). */
export async function fetchRoles(db: D1Database, limit: number): Promise<RoleRow[]> {
	const { results } = await db
		.prepare(
			`SELECT role_key AS key, label, use_count, created_at, last_used_at
			 FROM roles ORDER BY use_count DESC, seq ASC LIMIT ?`,
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
