// VerifyWorkflow: the weekly verification (Monday 03:00 UTC). Re-reads the retained snapshots
// chunk by chunk, runs the restore drill on the newest, records the outcome and reports it.
// A Workflow, not a cron handler: re-reading every snapshot can outlast one invocation.
import { NonRetryableError } from "cloudflare:workflows";
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from "cloudflare:workers";
import { getConfig } from "../config";
import { describeError, logError, logEvent } from "../log";
import { sendEvent, type DeliveryReport } from "../notify/events";
import { findExportedTable } from "../snapshots/tables";
import { EMPTY_SIDE, buildDrillRule, compareDrillTable, mergeSides, type DrillSide, type DrillTableResult } from "../verify/plan";
import { checkChunkBatch, digestLivePage, planVerification, type DrillSnapshotTable, type VerifyPlan, type VerifyTarget } from "../verify/steps";
import { primaryStore } from "../snapshots/r2-store";
import { finishVerificationRun, insertVerificationRun, type CorruptItem } from "../db/verification-runs";
import { recordSnapshotCheck } from "../db/snapshot-checks";
import { markSteps } from "./step-marks";

export type VerifyParams = {
	/** The cron's scheduledTime (ms since epoch): the run's "now". */
	scheduledTime: number;
	/**
	 * On-demand check of one snapshot (dashboard/CLI "verify"): only that snapshot's chunks are
	 * re-read, no restore drill, no weekly report; corruption still alerts at once.
	 */
	snapshotId?: string;
};

export type DrillOutcome = {
	status: "ok" | "mismatch" | "error" | "skipped";
	snapshotId: string | null;
	/** Records decoded from the snapshot. */
	rows: number;
	tables: DrillTableResult[];
	error: string | null;
};

export type VerifySummary = {
	runId: string;
	status: "ok" | "failed" | "error";
	snapshotsTotal: number;
	snapshotsChecked: number;
	snapshotsCorrupt: number;
	chunksChecked: number;
	bytesChecked: number;
	corrupt: CorruptItem[];
	drill: DrillOutcome;
	/** Immediate verification_failed alerts sent (one per corrupt snapshot, one for a drill mismatch). */
	alerts: Array<{ snapshotId: string; chunk: string | null; delivered: boolean }>;
	error: string | null;
};

/** Reads are retried (R2/D1 hiccups) 5 times, 10 s to ~2.5 min apart. */
const STEP_CONFIG = {
	retries: { limit: 5, delay: "10 seconds", backoff: "exponential" },
	timeout: "10 minutes",
} satisfies WorkflowStepConfig;

/** sendEvent never throws; one retry covers a crash of the step itself. */
const ALERT_CONFIG = { retries: { limit: 1, delay: "30 seconds", backoff: "constant" }, timeout: "5 minutes" } satisfies WorkflowStepConfig;

/** Safety net: 100,000 live pages of 20,000 rows is 2 billion rows. */
const MAX_LIVE_STEPS = 100_000;

/** Weekly, Monday 03:00 UTC (after the 02:00 backup): started by that delivery of the hourly trigger (jobs/cron.ts). */
export const VERIFY_CRON = "0 3 * * 1";

/** Pure: `verify-YYYY-MM-DD` from the cron's scheduled time (one run per day, whatever the deliveries). */
export function buildVerifyRunId(scheduledTime: number): string {
	return `verify-${new Date(scheduledTime).toISOString().slice(0, 10)}`;
}

/** Pure: after every chunk was fine, the sum of the chunks must give the manifest's tables back. */
export function compareWithManifest(target: Pick<VerifyTarget, "id" | "expected">, sums: Record<string, DrillSide>): CorruptItem[] {
	const problems: CorruptItem[] = [];
	for (const t of new Set([...Object.keys(target.expected), ...Object.keys(sums)])) {
		const want = target.expected[t] ?? { rows: 0, digest: EMPTY_SIDE.digest };
		const got = sums[t] ?? EMPTY_SIDE;
		if (want.rows !== got.rows || want.digest !== got.digest) {
			problems.push({
				snapshotId: target.id,
				chunk: null,
				reason: "content_digest",
				message: `table ${t}: the chunks give ${got.rows} rows and another digest than the manifest (${want.rows} rows)`,
			});
		}
	}
	return problems;
}

/** Pure: the one-line reason of a verification_failed alert. */
export function buildCorruptReason(problems: CorruptItem[]): string {
	const first = problems[0]!;
	const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : "";
	return `${first.reason}: ${first.message}${more}`.slice(0, 500);
}

export class VerifyWorkflow extends WorkflowEntrypoint<Env, VerifyParams> {
	override async run(event: WorkflowEvent<VerifyParams>, workflowStep: WorkflowStep): Promise<VerifySummary> {
		const step = markSteps(workflowStep, this.env, "verify", event.instanceId);
		const runId = event.instanceId;
		const now = new Date(event.payload.scheduledTime);
		const env = this.env;
		try {
			return await this.verify(runId, now, step, event.payload.snapshotId);
		} catch (err) {
			const error = describeError(err);
			logError("verify_error", { runId, error });
			const summary: VerifySummary = {
				runId,
				status: "error",
				snapshotsTotal: 0,
				snapshotsChecked: 0,
				snapshotsCorrupt: 0,
				chunksChecked: 0,
				bytesChecked: 0,
				corrupt: [],
				drill: { status: "error", snapshotId: null, rows: 0, tables: [], error },
				alerts: [],
				error,
			};
			await step.do("record error", STEP_CONFIG, async () => {
				await insertVerificationRun(env.DB, runId, now, now);
				await finishVerificationRun(env.DB, { ...toRecordFields(summary, now), status: "error" });
			});
			if (!event.payload.snapshotId) await step.do("report error", ALERT_CONFIG, () => sendWeeklyReport(env, summary, null, now));
			return summary;
		}
	}

	private async verify(runId: string, now: Date, step: WorkflowStep, only?: string): Promise<VerifySummary> {
		const env = this.env;
		const plan: VerifyPlan = await step.do("plan", STEP_CONFIG, async () => {
			await insertVerificationRun(env.DB, runId, now, now);
			const full = await planVerification(primaryStore(env), env.DB, only ? 0 : getConfig(env).VERIFY_SAMPLE, {
				signingKey: getConfig(env).BACKUP_SIGNING_KEY,
			});
			if (!only) return full;
			const targets = full.targets.filter((t) => t.id === only);
			const unreadable = full.unreadable.filter((u) => u.snapshotId === only);
			if (targets.length === 0 && unreadable.length === 0) throw new NonRetryableError(`snapshot ${only} has no manifest`);
			// No drill for a single on-demand check: "newest" is left unset.
			return { ...full, newest: null, targets, unreadable };
		});
		logEvent("verify_planned", { runId, snapshots: plan.snapshotsTotal, sampled: plan.targets.length, unreadable: plan.unreadable.length });

		const corrupt: CorruptItem[] = [];
		const alerts: VerifySummary["alerts"] = [];
		let chunksChecked = 0;
		let bytesChecked = 0;
		let corruptSnapshots = 0;
		let drillSide: Record<string, DrillSnapshotTable> | null = null;
		let drillBlocked: string | null = null;

		const flag = async (snapshotId: string, problems: CorruptItem[]) => {
			await step.do(`record ${snapshotId}`, STEP_CONFIG, () =>
				recordSnapshotCheck(env.DB, { snapshotId, runId, checkedAt: now, problems }),
			);
			if (problems.length === 0) return;
			corruptSnapshots++;
			corrupt.push(...problems);
			const report: DeliveryReport = await step.do(`alert ${snapshotId}`, ALERT_CONFIG, () =>
				sendEvent(env, { type: "verification_failed", runId, snapshotId, chunk: problems[0]!.chunk, reason: buildCorruptReason(problems) }, now),
			);
			alerts.push({ snapshotId, chunk: problems[0]!.chunk, delivered: report.delivered });
			logError("verify_corrupt", { runId, snapshotId, chunk: problems[0]!.chunk, reason: problems[0]!.reason, problems: problems.length });
		};

		for (const u of plan.unreadable) await flag(u.snapshotId, [u]);

		for (const target of plan.targets) {
			const isNewest = target.id === plan.newest;
			const problems: CorruptItem[] = [];
			const sums: Record<string, DrillSide> = {};
			const drill: Record<string, DrillSnapshotTable> = {};
			for (const [from, to] of target.batches) {
				const r = await step.do(`check ${target.id} ${from}-${to}`, STEP_CONFIG, () =>
					checkChunkBatch(primaryStore(env), env.DB, target, from, to, isNewest),
				);
				chunksChecked += r.chunks;
				bytesChecked += r.bytes;
				problems.push(...r.problems);
				for (const [t, s] of Object.entries(r.tables)) sums[t] = mergeSides(sums[t] ?? EMPTY_SIDE, s);
				for (const [t, s] of Object.entries(r.drill ?? {})) {
					const acc = drill[t] ?? { ...EMPTY_SIDE, erased: 0, columns: null };
					drill[t] = { ...mergeSides(acc, s), erased: acc.erased + s.erased, columns: acc.columns ?? s.columns };
				}
			}
			if (problems.length === 0) problems.push(...compareWithManifest(target, sums));
			await flag(target.id, problems);
			if (isNewest) {
				if (problems.length === 0) drillSide = drill;
				else drillBlocked = `the newest snapshot is corrupt: ${buildCorruptReason(problems)}`;
			}
		}

		// The restore drill: the newest snapshot, decoded completely above, against the live D1.
		const newest = plan.targets.find((t) => t.id === plan.newest);
		let drill: DrillOutcome;
		if (!newest) {
			drill = { status: "skipped", snapshotId: null, rows: 0, tables: [], error: only ? "no restore drill in an on-demand check" : plan.newest ? "newest snapshot unreadable" : "no snapshot yet" };
		} else if (!drillSide) {
			drill = { status: "error", snapshotId: newest.id, rows: 0, tables: [], error: drillBlocked };
		} else {
			const tables: DrillTableResult[] = [];
			let rows = 0;
			for (const table of Object.keys(newest.expected).sort()) {
				const snap = drillSide[table] ?? { ...EMPTY_SIDE, erased: 0, columns: null };
				rows += newest.expected[table]!.rows;
				const bound = newest.bounds[table] ?? null;
				let rule = buildDrillRule(table, bound);
				if (rule.compare && !findExportedTable(table)?.bounded) rule = { compare: false, why: "not a bounded table in this version" };
				if (!rule.compare || bound === null) {
					tables.push(compareDrillTable({ table, rule, snapshot: snap, live: null, erased: 0 }));
					continue;
				}
				let live = EMPTY_SIDE;
				let after = 0;
				for (let i = 0; i < MAX_LIVE_STEPS; i++) {
					const input = { table, after, bound, columns: snap.columns, ignore: rule.ignoreColumns };
					const page = await step.do(`live ${table} after ${after}`, STEP_CONFIG, () => digestLivePage(env.DB, input));
					live = mergeSides(live, page.side);
					if (page.done) break;
					after = page.last;
				}
				tables.push(compareDrillTable({ table, rule, snapshot: snap, live, erased: snap.erased }));
			}
			const bad = tables.filter((t) => !t.ok);
			drill = {
				status: bad.length === 0 ? "ok" : "mismatch",
				snapshotId: newest.id,
				rows,
				tables,
				error: bad.length === 0 ? null : bad.map((t) => `${t.table}: ${t.note}`).join("; "),
			};
			if (bad.length > 0) {
				const report: DeliveryReport = await step.do("alert drill", ALERT_CONFIG, () =>
					sendEvent(env, { type: "verification_failed", runId, snapshotId: newest.id, chunk: null, reason: `restore drill: ${drill.error}`.slice(0, 500) }, now),
				);
				alerts.push({ snapshotId: newest.id, chunk: null, delivered: report.delivered });
				logError("verify_drill_mismatch", { runId, snapshotId: newest.id, tables: bad.map((t) => t.table).join(",") });
			}
		}

		const summary: VerifySummary = {
			runId,
			status: corrupt.length > 0 || drill.status === "mismatch" || drill.status === "error" ? "failed" : "ok",
			snapshotsTotal: plan.snapshotsTotal,
			snapshotsChecked: plan.targets.length,
			snapshotsCorrupt: corruptSnapshots,
			chunksChecked,
			bytesChecked,
			corrupt,
			drill,
			alerts,
			error: null,
		};
		await step.do("finish", STEP_CONFIG, () => finishVerificationRun(env.DB, toRecordFields(summary, now)));
		if (!only) await step.do("report", ALERT_CONFIG, () => sendWeeklyReport(env, summary, plan, now));
		logEvent("verify_done", {
			runId,
			status: summary.status,
			checked: summary.snapshotsChecked,
			corrupt: summary.snapshotsCorrupt,
			chunks: chunksChecked,
			bytes: bytesChecked,
			drill: drill.status,
		});
		return summary;
	}
}

function toRecordFields(summary: VerifySummary, now: Date) {
	return {
		id: summary.runId,
		status: summary.status,
		// The run's time is its scheduled time ("now" is never the wall clock in job logic).
		finishedAt: now.toISOString(),
		snapshotsTotal: summary.snapshotsTotal,
		snapshotsChecked: summary.snapshotsChecked,
		snapshotsCorrupt: summary.snapshotsCorrupt,
		chunksChecked: summary.chunksChecked,
		bytesChecked: summary.bytesChecked,
		drillSnapshotId: summary.drill.snapshotId,
		drillStatus: summary.drill.status,
		details: { corrupt: summary.corrupt.map(({ snapshotId, chunk, reason }) => ({ snapshotId, chunk, reason })), drill: summary.drill.tables },
		error: summary.error ?? summary.drill.error,
	};
}

async function sendWeeklyReport(env: Env, summary: VerifySummary, plan: VerifyPlan | null, now: Date): Promise<DeliveryReport> {
	return sendEvent(
		env,
		{
			type: "weekly_report",
			runId: summary.runId,
			snapshotsChecked: summary.snapshotsChecked,
			snapshotsOk: summary.snapshotsChecked - new Set(summary.corrupt.filter((c) => plan?.targets.some((t) => t.id === c.snapshotId)).map((c) => c.snapshotId)).size,
			corrupt: summary.corrupt.map(({ snapshotId, chunk, reason }) => ({ snapshotId, chunk, reason })),
			drill:
				summary.drill.status === "skipped"
					? null
					: {
							ok: summary.drill.status === "ok",
							snapshotId: summary.drill.snapshotId,
							rows: summary.drill.rows,
							durationMs: null,
							error: summary.drill.error,
						},
			counts: { snapshots: plan?.snapshotsTotal ?? 0, totalBytes: plan?.totalBytes ?? 0, submissions: plan?.newestSubmissions ?? null },
		},
		now,
	);
}

/**
 * The weekly cron: one VerifyWorkflow instance per scheduled day, so a duplicate delivery only
 * finds the existing instance and logs it.
 */
export async function startScheduledVerification(env: Env, scheduledTime: number): Promise<{ id: string; duplicate: boolean }> {
	const id = buildVerifyRunId(scheduledTime);
	const exists = async () => {
		try {
			await env.VERIFY_WORKFLOW.get(id);
			return true;
		} catch {
			return false;
		}
	};
	// Create first: asking for a missing instance is the rare case (one per week), a duplicate
	// delivery is the one that must stay cheap and harmless.
	try {
		await env.VERIFY_WORKFLOW.create({ id, params: { scheduledTime } satisfies VerifyParams });
	} catch (err) {
		if (await exists()) {
			logEvent("verify_cron_duplicate", { runId: id });
			return { id, duplicate: true };
		}
		throw err;
	}
	logEvent("verify_started", { runId: id });
	return { id, duplicate: false };
}
