// D1 counters kept beside the rows they count: 'total', 'role:<role_key>', 'day:<YYYY-MM-DD>'.
// They only ever move in the same batch as the rows (see src/db/submissions.ts), or are recounted
// from the rows after a restore, so they always equal the aggregates over `submissions`.

/** Pure: the counters one accepted submission increments (the day is the UTC date received). */
export function buildSubmissionCounterNames(receivedAt: string, roleKey: string | undefined): string[] {
	const names = ["total", `day:${receivedAt.slice(0, 10)}`];
	if (roleKey !== undefined) names.push(`role:${roleKey}`);
	return names;
}

/** One statement adding `by` to each named counter (created at `by` when missing). */
export function buildCounterIncrement(
	db: D1Database,
	names: string[],
	at: string,
	by = 1,
): D1PreparedStatement {
	const rows = names.map((_, i) => `(?${i + 3}, ?1, ?2)`).join(", ");
	return db
		.prepare(
			`INSERT INTO counters (name, value, updated_at) VALUES ${rows}
			 ON CONFLICT (name) DO UPDATE SET value = value + excluded.value, updated_at = excluded.updated_at`,
		)
		.bind(by, at, ...names);
}

/** Counters whose name starts with `prefix` (all of them for ""), as name -> value. */
export async function fetchCounters(db: D1Database, prefix = ""): Promise<Record<string, number>> {
	const { results } = await db
		.prepare("SELECT name, value FROM counters WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name")
		.bind(prefix)
		.all<{ name: string; value: number }>();
	return Object.fromEntries(results.map((r) => [r.name, r.value]));
}

/**
 * Statements that make counters and roles.use_count equal what the rows say: 'total',
 * 'role:<role_key>', 'day:<first 10 chars of received_at>'. Only wrong or missing values are
 * touched (so a consistent database is left byte-for-byte as it was); counters whose rows are
 * all gone are set to 0, never deleted. Run after every write-mode restore.
 */
export function buildRecountStatements(db: D1Database, now: string): D1PreparedStatement[] {
	const upsert = `ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
	                WHERE counters.value <> excluded.value`;
	return [
		db.prepare(`INSERT INTO counters (name, value, updated_at) SELECT 'total', COUNT(*), ?1 FROM submissions WHERE 1 ${upsert}`).bind(now),
		db
			.prepare(
				`INSERT INTO counters (name, value, updated_at)
				 SELECT 'role:' || role_key, COUNT(*), ?1 FROM submissions WHERE 1 GROUP BY role_key ${upsert}`,
			)
			.bind(now),
		db
			.prepare(
				`INSERT INTO counters (name, value, updated_at)
				 SELECT 'day:' || substr(received_at, 1, 10), COUNT(*), ?1 FROM submissions WHERE 1
				 GROUP BY substr(received_at, 1, 10) ${upsert}`,
			)
			.bind(now),
		db
			.prepare(
				`UPDATE counters SET value = 0, updated_at = ?1 WHERE value <> 0 AND (
				   (name LIKE 'role:%' AND substr(name, 6) NOT IN (SELECT role_key FROM submissions)) OR
				   (name LIKE 'day:%' AND substr(name, 5) NOT IN (SELECT substr(received_at, 1, 10) FROM submissions)))`,
			)
			.bind(now),
		db.prepare(
			`UPDATE roles SET use_count = (SELECT COUNT(*) FROM submissions s WHERE s.role_key = roles.role_key)
			 WHERE use_count <> (SELECT COUNT(*) FROM submissions s WHERE s.role_key = roles.role_key)`,
		),
	];
}
