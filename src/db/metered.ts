// A D1Database that adds the `meta` of every statement and batch it runs (rows read, rows written,
// database size) to a UsageMeter (src/platform/usage-meter.ts); otherwise it behaves as the one it
// wraps. Used around every request, cron invocation and Workflow step (src/jobs/metering.ts).
import type { UsageMeter } from "../platform/usage-meter";

const INNER = Symbol("inner statement");
type Wrapped = D1PreparedStatement & { [INNER]: D1PreparedStatement };

function wrapStatement(inner: D1PreparedStatement, meter: UsageMeter): D1PreparedStatement {
	const wrapped = {
		[INNER]: inner,
		bind: (...values: unknown[]) => wrapStatement(inner.bind(...values), meter),
		async run() {
			const r = await inner.run();
			meter.addD1(r.meta);
			return r;
		},
		async all() {
			const r = await inner.all();
			meter.addD1(r.meta);
			return r;
		},
		// D1's own first() runs the whole statement and takes its first row: the same through all(),
		// which also returns the metadata first() drops.
		async first(column?: string) {
			const r = await inner.all<Record<string, unknown>>();
			meter.addD1(r.meta);
			const row = r.results[0];
			if (!row) return null;
			if (column === undefined) return row;
			if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
			return row[column];
		},
		// raw() returns no metadata: its rows go uncounted (one statement in the code base, a read).
		raw: (options?: { columnNames?: boolean }) => inner.raw(options as { columnNames: true }),
	};
	return wrapped as unknown as D1PreparedStatement;
}

function unwrap(statement: D1PreparedStatement): D1PreparedStatement {
	return (statement as Partial<Wrapped>)[INNER] ?? statement;
}

/** A D1Database whose statements and batches add their `meta` to `meter`; otherwise the same. */
export function meterD1(db: D1Database, meter: UsageMeter): D1Database {
	const metered = {
		prepare: (query: string) => wrapStatement(db.prepare(query), meter),
		async batch<T = unknown>(statements: D1PreparedStatement[]) {
			const results = await db.batch<T>(statements.map(unwrap));
			for (const r of results) meter.addD1(r.meta);
			return results;
		},
		// exec() and sessions return no per-statement metadata; the code base uses neither.
		exec: (query: string) => db.exec(query),
		withSession: (...args: Parameters<D1Database["withSession"]>) => db.withSession(...args),
		dump: () => db.dump(),
	};
	return metered as unknown as D1Database;
}

