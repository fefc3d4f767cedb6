// Cloudflare's published limits per plan (see docs/cloudflare-plans.md for the sources) and the
// sizes of this application's units of work derived from them. Pure: no bindings.
// The design rule (docs/decisions.md): every Workflow step, cron invocation and request stays under
// HALF of the plan's CPU limit, measured as isolate CPU (npm run bench:cpu).

export type PlanName = "free" | "paid";

export type PlanLimits = {
	/** CPU time per Workflow step and per request or cron invocation, in milliseconds. */
	cpuMsPerInvocation: number;
	/** Steps per Workflow instance. */
	stepsPerInstance: number;
	/** D1 queries per Worker invocation (a step counts as one). */
	d1QueriesPerInvocation: number;
	/** D1 rows written per day (Free only; Paid bills them instead). */
	d1RowsWrittenPerDay: number | null;
	/** D1 rows read per day (Free only). */
	d1RowsReadPerDay: number | null;
	/** Cron triggers per account. */
	cronTriggers: number;
};

export const PLAN_LIMITS: Readonly<Record<PlanName, PlanLimits>> = {
	free: {
		cpuMsPerInvocation: 10,
		stepsPerInstance: 1024,
		d1QueriesPerInvocation: 50,
		d1RowsWrittenPerDay: 100_000,
		d1RowsReadPerDay: 5_000_000,
		cronTriggers: 5,
	},
	paid: {
		cpuMsPerInvocation: 30_000,
		stepsPerInstance: 10_000,
		d1QueriesPerInvocation: 1000,
		d1RowsWrittenPerDay: null,
		d1RowsReadPerDay: null,
		cronTriggers: 250,
	},
};

/** How much one backup export step may take on. */
export type ExportStepBudget = {
	/** Uncompressed NDJSON bytes per step (one chunk per step). */
	rawBytes: number;
	/** Records per step. */
	rows: number;
	/**
	 * The run's progress (rows, bytes, chunks in backup_runs) is written every this many chunks:
	 * one D1 write per step would be a tenth of a small step's CPU and of Free's daily writes.
	 */
	progressEvery: number;
};

/**
 * Export step sizes, from bench:cpu on the reference machine (docs/BENCHMARKS.md, "Isolate CPU"):
 * an export step costs a fixed part (step call, one D1 page, R2 put and get, progress update) plus
 * a part proportional to the NDJSON bytes (record lines, record hashes, gzip, gunzip, compare).
 * Free: 5 ms per step (half of 10 ms). Paid: the memory bound (4 MiB uncompressed per chunk).
 */
export const EXPORT_STEP_BUDGET: Readonly<Record<PlanName, ExportStepBudget>> = {
	free: { rawBytes: 64 * 1024, rows: 250, progressEvery: 16 },
	paid: { rawBytes: 4 * 1024 * 1024, rows: 20_000, progressEvery: 1 },
};

export function parsePlanName(value: string | undefined): PlanName {
	return value === "paid" ? "paid" : "free";
}
