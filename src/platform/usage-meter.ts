// Usage accounting of one invocation (a request, a cron invocation, a Workflow step): the D1 rows
// its statements read and wrote (from each result's `meta`), and the R2 operations it issued.
// Kept in memory and flushed ONCE at the end of the invocation (src/jobs/metering.ts), so that the
// accounting costs one D1 statement, never one per query. No bindings are held here beyond the
// D1Database it wraps.

/** What one invocation adds (sums) or raises (maxima) in the day's platform_usage row. */
export type UsageDelta = {
	d1RowsRead: number;
	d1RowsWritten: number;
	r2ClassA: number;
	r2ClassB: number;
	/** Maxima: the day keeps the largest value seen. */
	d1SizeBytes: number;
	backupSteps: number;
	verifySteps: number;
	restoreSteps: number;
};

export type MeteredWorkflow = "backup" | "verify" | "restore";

/** R2 bills Class A (writes, listings) and Class B (reads); deletions are free. */
export type R2OperationClass = "A" | "B";

type D1MetaLike = { rows_read?: number; rows_written?: number; size_after?: number } | undefined;

export class UsageMeter {
	private d1RowsRead = 0;
	private d1RowsWritten = 0;
	private d1SizeBytes = 0;
	private r2ClassA = 0;
	private r2ClassB = 0;
	private readonly stepNames = new Set<string>();
	private stepsRecorded = 0;

	/** `workflow`: the Workflow whose steps this meter counts (none for requests and crons). */
	constructor(readonly workflow?: MeteredWorkflow) {}

	addD1(meta: D1MetaLike): void {
		if (!meta) return;
		this.d1RowsRead += meta.rows_read ?? 0;
		this.d1RowsWritten += meta.rows_written ?? 0;
		if ((meta.size_after ?? 0) > this.d1SizeBytes) this.d1SizeBytes = meta.size_after ?? 0;
	}

	addR2(kind: R2OperationClass, n = 1): void {
		if (kind === "A") this.r2ClassA += n;
		else this.r2ClassB += n;
	}

	/** A step of this instance's run(), by name: a replayed step counts once (the count is the instance's). */
	countStep(name: string): void {
		this.stepNames.add(name);
	}

	/**
	 * What was counted since the last take, and reset; null when there is nothing to record (so a
	 * quiet invocation writes nothing). Synchronous: concurrent callers never count twice.
	 */
	take(): UsageDelta | null {
		const steps = this.stepNames.size;
		const stepsChanged = steps > this.stepsRecorded;
		const empty =
			this.d1RowsRead === 0 && this.d1RowsWritten === 0 && this.r2ClassA === 0 && this.r2ClassB === 0 && !stepsChanged;
		if (empty) return null;
		const delta: UsageDelta = {
			d1RowsRead: this.d1RowsRead,
			d1RowsWritten: this.d1RowsWritten,
			r2ClassA: this.r2ClassA,
			r2ClassB: this.r2ClassB,
			d1SizeBytes: this.d1SizeBytes,
			backupSteps: this.workflow === "backup" ? steps : 0,
			verifySteps: this.workflow === "verify" ? steps : 0,
			restoreSteps: this.workflow === "restore" ? steps : 0,
		};
		this.d1RowsRead = this.d1RowsWritten = this.d1SizeBytes = this.r2ClassA = this.r2ClassB = 0;
		this.stepsRecorded = steps;
		return delta;
	}
}

/** The key under which a metered env carries its meter (read by the R2 adapter). */
export const USAGE_METER: unique symbol = Symbol.for("cafes.usage-meter");

/** The meter an env carries, if it is a metered env. */
export function usageMeterOf(env: object): UsageMeter | undefined {
	return (env as { [USAGE_METER]?: UsageMeter })[USAGE_METER];
}

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

/** `env` with its D1 binding metered and the meter attached (for the R2 adapter). */
export function meteredEnv<E extends { DB: D1Database }>(env: E, meter: UsageMeter): E {
	return { ...env, DB: meterD1(env.DB, meter), [USAGE_METER]: meter };
}

/** The UTC day (YYYY-MM-DD) of an instant: D1's daily limits reset at 00:00 UTC. */
export function usageDay(at: Date): string {
	return at.toISOString().slice(0, 10);
}
