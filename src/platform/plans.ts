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

/** How the backup's export is cut into Workflow steps. */
export type ExportStepBudget = {
	/** One part (one step): at most this many characters of NDJSON, plus the row that crosses. */
	partChars: number;
	/** One part: at most this many records. */
	partRows: number;
	/** One chunk (one object, one "write chunk" step): parts are packed until this much NDJSON. */
	chunkRawBytes: number;
	/** One chunk: at most this many parts. */
	chunkParts: number;
};

/**
 * Export step sizes, from bench:cpu on the reference machine (docs/BENCHMARKS.md, "Isolate CPU").
 * A part step costs a fixed ~2 ms (the step call, one D1 page, its JSON) plus ~14 µs per record
 * of ~600 bytes (record lines, record hashes, gzip level 1, gunzip and compare); a chunk step
 * costs ~1 ms plus the read-back of its bytes. Free: 5 ms per step (half of Free's 10 ms).
 * Paid: bigger parts (each still under the 1 MiB step result limit: 3 bytes per character at
 * worst) and 4 MiB chunks, the memory bound of one read-back.
 */
export const EXPORT_STEP_BUDGET: Readonly<Record<PlanName, ExportStepBudget>> = {
	free: { partChars: 64 * 1024, partRows: 250, chunkRawBytes: 1024 * 1024, chunkParts: 32 },
	paid: { partChars: 256 * 1024, partRows: 2000, chunkRawBytes: 4 * 1024 * 1024, chunkParts: 64 },
};

export function parsePlanName(value: string | undefined): PlanName {
	return value === "paid" ? "paid" : "free";
}

/**
 * Submissions per step of the CSV export job (src/jobs/export-workflow.ts): one D1 page, its CSV
 * lines, one R2 object. Sized from bench:cpu (docs/BENCHMARKS.md, "CSV export job"): a step costs
 * about 1 ms fixed plus a few µs per row, so that Free's steps stay under 5 ms. Paid: bigger steps,
 * fewer objects.
 */
export const CSV_EXPORT_PAGE_ROWS: Readonly<Record<PlanName, number>> = {
	free: 150,
	paid: 5000,
};

/**
 * Bytes of one piece of an export file (one R2 object, one download request: `?piece=k`). Pages
 * are appended to the current piece (read back and rewritten) until it would pass this size:
 * with 1 MiB pieces that cost each page step ~1.2 ms more at p50 (bench:cpu), hence 512 KiB on
 * Free. A piece is returned by its request as it is stored, so its size costs that request next
 * to nothing; the whole file in one request costs ~0.4 ms per piece. Paid: bigger pieces.
 */
export const EXPORT_PIECE_BYTES: Readonly<Record<PlanName, number>> = {
	free: 512 * 1024,
	paid: 16 * 1024 * 1024,
};

/**
 * The weekly verification's budget: parts read per run (one part per step; bench:cpu measures a
 * part step at ~2–4 ms on the reference machine, docs/BENCHMARKS.md). Free: ten chained instances
 * of 1,024 steps, about ten million records; beyond that, the older snapshots are read as a
 * rotating sample and the run reports its coverage (src/verify/plan.ts, buildReadSelection).
 */
export const VERIFY_PARTS_PER_RUN: Readonly<Record<PlanName, number>> = {
	free: 10 * PLAN_LIMITS.free.stepsPerInstance,
	paid: 10 * PLAN_LIMITS.paid.stepsPerInstance,
};
