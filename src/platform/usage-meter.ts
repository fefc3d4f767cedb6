// Usage accounting of one invocation (a request, a cron invocation, a Workflow step): the D1 rows
// its statements read and wrote (from each result's `meta`), and the R2 operations it issued.
// Kept in memory and flushed ONCE at the end of the invocation (src/jobs/metering.ts), so that the
// accounting costs one D1 statement, never one per query. The D1 wrapper that feeds it is
// src/db/metered.ts; the R2 adapter counts its own operations (src/snapshots/r2-store.ts).

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

/** Workflows whose usage is counted; only the first three have a steps figure in the budget. */
export type MeteredWorkflow = "backup" | "verify" | "restore" | "export" | "import";

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

/** The UTC day (YYYY-MM-DD) of an instant: D1's daily limits reset at 00:00 UTC. */
export function usageDay(at: Date): string {
	return at.toISOString().slice(0, 10);
}
