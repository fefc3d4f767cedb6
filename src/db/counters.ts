// D1 counters kept beside the rows they count: 'total', 'role:<role_key>', 'day:<YYYY-MM-DD>'.
// They only ever move in the same batch as the rows (see src/db/submissions.ts), so they always
// equal the aggregates over `submissions`.

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
