// VerifyWorkflow: the weekly verification (Monday 03:00 UTC). Re-reads the retained snapshots
// chunk by chunk, runs the restore drill on the newest, records the outcome and reports it.
// A Workflow, not a cron handler: re-reading every snapshot can outlast one invocation.
import { NonRetryableError } from "cloudflare:workflows";
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from "cloudflare:workers";
import { getConfig } from "../config";
import { describeError, logError, logEvent } from "../log";
import { sendEvent, type DeliveryReport } from "../notify/events";
import { findExportedTable } from "../snapshots/tables";
import {
	EMPTY_SIDE,
	buildDrillRule,
	buildReadSelection,
	buildVerifySample,
	compareDrillTable,
	describeCoverage,
	mergeSides,
	type DrillSide,
	type DrillTableResult,
	type ReadSelection,
	type SnapshotRead,
} from "../verify/plan";
import {
	checkPart,
	checkSnapshotMetadata,
	digestLivePage,
	fetchChunkEntries,
	type DrillSnapshotTable,
	type VerifyTarget,
} from "../verify/steps";
import { primaryStore } from "../snapshots/r2-store";
import { listSnapshotFolders } from "../snapshots/store";
import { partsOf } from "../snapshots/format";
import { checkChunkCounts } from "../snapshots/codec";
import { finishVerificationRun, insertVerificationRun, type CorruptItem } from "../db/verification-runs";
import { fetchLastChecks, recordSnapshotCheck } from "../db/snapshot-checks";
import { fetchVerifyCursor, saveVerifyCursor } from "../db/verify-cursor";
import { PLAN_LIMITS, VERIFY_PARTS_PER_RUN } from "../platform/plans";
import { buildContinuationId, type ContinuedOutput } from "../backup/chain";
import { markSteps } from "./step-marks";
import { buildEntryBlock } from "./entry-blocks";

export type VerifyParams = {
	/** The cron's scheduledTime (ms since epoch): the run's "now". */
	scheduledTime: number;
	/**
	 * On-demand check of one snapshot (dashboard/CLI "verify"): only that snapshot's chunks are
	 * re-read, no restore drill, no weekly report; corruption still alerts at once.
	 */
	snapshotId?: string;
	/** Override of the plan's parts read per run (tests of the rotating sample). */
	partBudget?: number;
	/** Override of the plan's steps per instance (tests of chaining). */
	stepsPerInstance?: number;
	/** Set in a chained instance: the run it works for (its first instance's id) and where it stands. */
	runId?: string;
	continuation?: VerifyState;
};

/** How much of the retained snapshots' chunks a run read, and in how many weeks all are read. */
export type VerifyCoverage = {
	chunksTotal: number;
	chunksRead: number;
	partsTotal: number;
	partsRead: number;
	/** Weekly runs that read every chunk once at this budget (1: everything was read). */
	cycleRuns: number;
	/** The sentence for the administrator ("12 % des morceaux relus cette semaine ; tous relus en 8 semaines"). */
	fr: string;
	en: string;
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
	/** What share of the chunks was read (metadata is checked for every snapshot, every run). */
	coverage: VerifyCoverage | null;
	/** Workflow instances the run took (chained past the plan's steps per instance). */
	instances: number;
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
	override async run(event: WorkflowEvent<VerifyParams>, workflowStep: WorkflowStep): Promise<VerifySummary | ContinuedOutput> {
		const step = markSteps(workflowStep, this.env, "verify", event.instanceId);
		// A chained instance works for the run that started the chain (its record, its id).
		const runId = event.payload.runId ?? event.instanceId;
		const now = new Date(event.payload.scheduledTime);
		const env = this.env;
		try {
			return await this.verify(runId, now, step, event);
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
				coverage: null,
				instances: event.payload.continuation?.index ?? 1,
				error,
			};
			await step.do("record error", STEP_CONFIG, async () => {
				if (!event.payload.continuation) await insertVerificationRun(env.DB, runId, now, now);
				await finishVerificationRun(env.DB, { ...toRecordFields(summary, now), status: "error" });
			});
			if (!event.payload.snapshotId) await step.do("report error", ALERT_CONFIG, () => sendWeeklyReport(env, summary, null, now));
			return summary;
		}
	}

	private async verify(runId: string, now: Date, step: WorkflowStep, event: WorkflowEvent<VerifyParams>): Promise<VerifySummary | ContinuedOutput> {
		const env = this.env;
		const only = event.payload.snapshotId;
		const config = getConfig(env);
		const stepsPerInstance = event.payload.stepsPerInstance ?? PLAN_LIMITS[config.CLOUDFLARE_PLAN].stepsPerInstance;
		let stepsTaken = 0;
		// Work done by this instance: it hands over only after some, so a chain always advances.
		let doneHere = 0;
		const run = <T extends Rpc.Serializable<T>>(name: string, cfg: WorkflowStepConfig, fn: () => Promise<T>): Promise<T> => {
			stepsTaken++;
			return step.do(name, cfg, fn);
		};

		let state: VerifyState;
		if (event.payload.continuation) {
			state = event.payload.continuation;
		} else {
			state = await this.planRun(runId, now, run, event.payload);
			logEvent("verify_planned", { runId, snapshots: state.snapshotsTotal, sampled: state.reads.length, coverage: state.coverage.chunksRead });
		}

		const flag = async (snapshotId: string, problems: CorruptItem[]) => {
			await run(`record ${snapshotId}`, STEP_CONFIG, () => recordSnapshotCheck(env.DB, { snapshotId, runId, checkedAt: now, problems }));
			if (problems.length === 0) return;
			state.corruptSnapshots++;
			state.corrupt.push(...problems);
			const report: DeliveryReport = await run(`alert ${snapshotId}`, ALERT_CONFIG, () =>
				sendEvent(env, { type: "verification_failed", runId, snapshotId, chunk: problems[0]!.chunk, reason: buildCorruptReason(problems) }, now),
			);
			state.alerts.push({ snapshotId, chunk: problems[0]!.chunk, delivered: report.delivered });
			logError("verify_corrupt", { runId, snapshotId, chunk: problems[0]!.chunk, reason: problems[0]!.reason, problems: problems.length });
		};

		// Snapshots whose chunks are not read this run: their metadata was checked, record it.
		if (!state.recordedUnread) {
			for (const u of state.unread) await flag(u.id, u.problems);
			state.recordedUnread = true;
		}

		const reserve = state.reserveSteps;
		for (; state.position.read < state.reads.length; state.position = { read: state.position.read + 1, chunk: 0 }) {
			const read = state.reads[state.position.read]!;
			const target = state.targets[read.id]!;
			const isNewest = read.id === state.newest;
			// Chunks of this snapshot still to read, from the position on.
			const chunks: number[] = [];
			for (const [from, to] of read.ranges) for (let n = from; n <= to; n++) if (n > state.position.chunk) chunks.push(n);
			for (let k = 0; k < chunks.length; ) {
				// A block of consecutive chunks whose entries (with their parts) one step lists.
				const block = buildEntryBlock(chunks, k, target.partsPerChunk);
				const from = chunks[k]!;
				const to = chunks[k + block - 1]!;
				const listed = await run(`entries ${read.id} ${from}-${to}`, STEP_CONFIG, () => fetchChunkEntries(primaryStore(env), read.id, from, to));
				if (!listed.ok) {
					state.acc.problems.push(listed.problem);
					break;
				}
				for (const entry of listed.entries) {
					const parts = partsOf(entry).length;
					if (doneHere > 0 && stepsTaken + parts + reserve > stepsPerInstance) {
						return this.handOver(runId, state, event.payload, run);
					}
					doneHere++;
					const counts: Record<string, number> = {};
					let failed = false;
					for (let i = 0; i < parts; i++) {
						const r = await run(`check ${read.id} ${entry.n}.${i + 1}`, STEP_CONFIG, () =>
							checkPart(primaryStore(env), env.DB, target, entry, i, isNewest),
						);
						state.bytesChecked += r.bytes;
						if (r.problem) {
							state.acc.problems.push(r.problem);
							failed = true;
							continue;
						}
						for (const [t, side] of Object.entries(r.tables)) {
							state.acc.sums[t] = mergeSides(state.acc.sums[t] ?? EMPTY_SIDE, side);
							counts[t] = (counts[t] ?? 0) + side.rows;
						}
						for (const [t, side] of Object.entries(r.drill ?? {})) {
							const acc = state.acc.drill[t] ?? { ...EMPTY_SIDE, erased: 0, columns: null };
							state.acc.drill[t] = { ...mergeSides(acc, side), erased: acc.erased + side.erased, columns: acc.columns ?? side.columns };
						}
					}
					state.chunksChecked++;
					if (!failed) {
						const c = checkChunkCounts(entry, counts);
						if (!c.ok) state.acc.problems.push({ snapshotId: read.id, chunk: entry.key, reason: c.reason, message: c.message });
					}
					state.position = { read: state.position.read, chunk: entry.n };
				}
				k += block;
			}
			// A chunk the listing found missing or of the wrong size is found again by its read: once.
			const problems: CorruptItem[] = [];
			for (const p of [...(state.metaProblems[read.id] ?? []), ...state.acc.problems]) {
				if (!problems.some((q) => q.chunk === p.chunk && q.reason === p.reason)) problems.push(p);
			}
			// Only a snapshot read whole can be summed against its manifest's per-table digests.
			if (problems.length === 0 && read.whole) problems.push(...compareWithManifest({ id: read.id, expected: target.expected }, state.acc.sums));
			await flag(read.id, problems);
			if (isNewest) {
				if (problems.length === 0) state.drillSide = state.acc.drill;
				else state.drillBlocked = `the newest snapshot is corrupt: ${buildCorruptReason(problems)}`;
			}
			state.acc = emptyAccumulator();
		}

		if (!only && !state.cursorSaved) {
			await run("save sample cursor", STEP_CONFIG, () => saveVerifyCursor(env.DB, state.coverage.cursor, now));
			state.cursorSaved = true;
		}

		// The restore drill: the newest snapshot, decoded completely above, against the live D1.
		const newest = state.newest ? state.targets[state.newest] : undefined;
		let drill: DrillOutcome;
		if (!newest) {
			drill = { status: "skipped", snapshotId: null, rows: 0, tables: [], error: only ? "no restore drill in an on-demand check" : state.newestUnreadable ? "newest snapshot unreadable" : "no snapshot yet" };
		} else if (!state.drillSide) {
			drill = { status: "error", snapshotId: newest.id, rows: 0, tables: [], error: state.drillBlocked };
		} else {
			const drillSide = state.drillSide;
			// Resumable: tables already compared, and the table whose live pages are being read.
			const tables = (state.drillDone ??= []);
			const rows = Object.values(newest.expected).reduce((a, t) => a + t.rows, 0);
			for (const table of Object.keys(newest.expected).sort()) {
				if (tables.some((t) => t.table === table)) continue;
				const snap = drillSide[table] ?? { ...EMPTY_SIDE, erased: 0, columns: null };
				const bound = newest.bounds[table] ?? null;
				let rule = buildDrillRule(table, bound);
				if (rule.compare && !findExportedTable(table)?.bounded) rule = { compare: false, why: "not a bounded table in this version" };
				if (!rule.compare || bound === null) {
					tables.push(compareDrillTable({ table, rule, snapshot: snap, live: null, erased: 0 }));
					continue;
				}
				const at = state.drillLive?.table === table ? state.drillLive : { table, after: 0, side: EMPTY_SIDE };
				let live = at.side;
				let after = at.after;
				for (let i = 0; i < MAX_LIVE_STEPS; i++) {
					if (doneHere > 0 && stepsTaken + END_STEPS > stepsPerInstance) {
						state.drillLive = { table, after, side: live };
						return this.handOver(runId, state, event.payload, run);
					}
					doneHere++;
					const input = { table, after, bound, columns: snap.columns, ignore: rule.ignoreColumns };
					const page = await run(`live ${table} after ${after}`, STEP_CONFIG, () => digestLivePage(env.DB, input));
					live = mergeSides(live, page.side);
					if (page.done) break;
					after = page.last;
				}
				state.drillLive = null;
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
				const report: DeliveryReport = await run("alert drill", ALERT_CONFIG, () =>
					sendEvent(env, { type: "verification_failed", runId, snapshotId: newest.id, chunk: null, reason: `restore drill: ${drill.error}`.slice(0, 500) }, now),
				);
				state.alerts.push({ snapshotId: newest.id, chunk: null, delivered: report.delivered });
				logError("verify_drill_mismatch", { runId, snapshotId: newest.id, tables: bad.map((t) => t.table).join(",") });
			}
		}

		const corrupt = state.corrupt;
		const summary: VerifySummary = {
			runId,
			status: corrupt.length > 0 || drill.status === "mismatch" || drill.status === "error" ? "failed" : "ok",
			snapshotsTotal: state.snapshotsTotal,
			snapshotsChecked: state.reads.length,
			snapshotsCorrupt: state.corruptSnapshots,
			chunksChecked: state.chunksChecked,
			bytesChecked: state.bytesChecked,
			corrupt,
			drill,
			alerts: state.alerts,
			coverage: toCoverage(state.coverage),
			instances: state.index,
			error: null,
		};
		await run("finish", STEP_CONFIG, () => finishVerificationRun(env.DB, toRecordFields(summary, now)));
		if (!only) {
			const counts = { snapshots: state.snapshotsTotal, totalBytes: state.totalBytes, submissions: state.newestSubmissions };
			const readIds = state.reads.map((r) => r.id);
			await run("report", ALERT_CONFIG, () => sendWeeklyReport(env, summary, { counts, readIds }, now));
		}
		logEvent("verify_done", {
			runId,
			status: summary.status,
			checked: summary.snapshotsChecked,
			corrupt: summary.snapshotsCorrupt,
			chunks: summary.chunksChecked,
			bytes: summary.bytesChecked,
			drill: drill.status,
		});
		return summary;
	}

	/** Plan (first instance only): list, check every snapshot's metadata, choose what to read. */
	private async planRun(
		runId: string,
		now: Date,
		run: <T extends Rpc.Serializable<T>>(name: string, cfg: WorkflowStepConfig, fn: () => Promise<T>) => Promise<T>,
		payload: VerifyParams,
	): Promise<VerifyState> {
		const env = this.env;
		const config = getConfig(env);
		const only = payload.snapshotId;
		const listed = await run("plan", STEP_CONFIG, async () => {
			await insertVerificationRun(env.DB, runId, now, now);
			const ids = (await listSnapshotFolders(primaryStore(env))).reverse();
			return { ids, cursor: await fetchVerifyCursor(env.DB), lastChecks: [...(await fetchLastChecks(env.DB)).entries()] };
		});
		const keyring = { signingKey: config.BACKUP_SIGNING_KEY };
		const targets: Record<string, VerifyTarget> = {};
		const metaProblems: Record<string, CorruptItem[]> = {};
		const trusted: string[] = [];
		let newestUnreadable = false;
		for (const id of listed.ids) {
			if (only && id !== only) continue;
			const meta = await run(`manifest ${id}`, STEP_CONFIG, () => checkSnapshotMetadata(primaryStore(env), id, keyring));
			if (!meta) continue;
			if (meta.problems.length > 0) metaProblems[id] = meta.problems;
			if (meta.target) {
				targets[id] = meta.target;
				trusted.push(id);
			} else if (trusted.length === 0) newestUnreadable = true;
		}
		if (only && !targets[only] && !metaProblems[only]) throw new NonRetryableError(`snapshot ${only} has no manifest`);
		const sampled = only ? trusted : buildVerifySample(trusted, new Map(listed.lastChecks), config.VERIFY_SAMPLE);
		const budget = payload.partBudget ?? VERIFY_PARTS_PER_RUN[config.CLOUDFLARE_PLAN];
		const shapes = sampled.map((id) => ({ id, partsPerChunk: targets[id]!.partsPerChunk }));
		const selection = only ? buildReadSelection(shapes, null, Number.MAX_SAFE_INTEGER) : buildReadSelection(shapes, listed.cursor, budget);
		const readIds = new Set(selection.reads.map((r) => r.id));
		// No drill for a single on-demand check: "newest" is left unset.
		const newest = only ? null : (trusted[0] ?? null);
		const newestTarget = newest ? targets[newest] : undefined;
		return {
			index: 1,
			snapshotsTotal: trusted.length,
			totalBytes: trusted.reduce((sum, id) => sum + targets[id]!.bytes, 0),
			newest,
			newestUnreadable,
			newestSubmissions: newestTarget?.submissions ?? null,
			targets: Object.fromEntries([...readIds].map((id) => [id, targets[id]!])),
			metaProblems,
			unread: Object.keys(metaProblems)
				.filter((id) => !readIds.has(id))
				.map((id) => ({ id, problems: metaProblems[id]! }))
				.concat(trusted.filter((id) => !readIds.has(id) && !metaProblems[id]).map((id) => ({ id, problems: [] }))),
			recordedUnread: false,
			reads: selection.reads,
			coverage: { ...selection, reads: undefined } as VerifyState["coverage"],
			position: { read: 0, chunk: 0 },
			acc: emptyAccumulator(),
			drillSide: null,
			drillBlocked: null,
			corrupt: [],
			alerts: [],
			chunksChecked: 0,
			bytesChecked: 0,
			corruptSnapshots: 0,
			cursorSaved: false,
			// Kept after a chunk: its snapshot's record and alert, the end of the run (the drill's live
			// pages hand over by themselves).
			reserveSteps: 2 + END_STEPS,
		};
	}

	/** Go on in a chained instance `<runId>-partN` (src/backup/chain.ts), at a chunk boundary. */
	private async handOver(
		runId: string,
		state: VerifyState,
		payload: VerifyParams,
		run: <T extends Rpc.Serializable<T>>(name: string, cfg: WorkflowStepConfig, fn: () => Promise<T>) => Promise<T>,
	): Promise<ContinuedOutput> {
		const next = buildContinuationId(runId, state.index + 1);
		const continuation: VerifyState = { ...state, index: state.index + 1 };
		if (JSON.stringify(continuation).length > MAX_CONTINUATION_BYTES) throw new NonRetryableError("the verification's state is too large to hand over to another instance");
		const env = this.env;
		await run(`continue in ${next}`, STEP_CONFIG, async () => {
			try {
				await env.VERIFY_WORKFLOW.create({ id: next, params: { ...payload, runId, continuation } satisfies VerifyParams });
			} catch (err) {
				// A retried step finds the instance its first attempt created.
				const exists = await env.VERIFY_WORKFLOW.get(next).then(
					() => true,
					() => false,
				);
				if (!exists) throw err;
			}
		});
		logEvent("verify_continued", { runId, next, chunks: state.chunksChecked });
		return { status: "continued", next };
	}
}

/** Workflow params must stay under 1 MiB: a hand-over is refused well before. */
const MAX_CONTINUATION_BYTES = 768 * 1024;

/** Per snapshot being read: what its parts have given so far. */
type Accumulator = { problems: CorruptItem[]; sums: Record<string, DrillSide>; drill: Record<string, DrillSnapshotTable> };
function emptyAccumulator(): Accumulator {
	return { problems: [], sums: {}, drill: {} };
}

/** Everything a run has planned and found so far: carried to a chained instance as it is. */
export type VerifyState = {
	/** This instance's number in the chain (1, 2, …). */
	index: number;
	snapshotsTotal: number;
	totalBytes: number;
	newest: string | null;
	newestUnreadable: boolean;
	newestSubmissions: number | null;
	/** The snapshots read this run, by id. */
	targets: Record<string, VerifyTarget>;
	/** Problems found in the metadata (manifest, signature, objects and sizes), by snapshot. */
	metaProblems: Record<string, CorruptItem[]>;
	/** Snapshots checked by their metadata only this run. */
	unread: Array<{ id: string; problems: CorruptItem[] }>;
	recordedUnread: boolean;
	reads: SnapshotRead[];
	coverage: Omit<ReadSelection, "reads">;
	/** Next chunk to read: reads[read], chunks after `chunk`. */
	position: { read: number; chunk: number };
	acc: Accumulator;
	drillSide: Record<string, DrillSnapshotTable> | null;
	drillBlocked: string | null;
	corrupt: CorruptItem[];
	alerts: VerifySummary["alerts"];
	chunksChecked: number;
	bytesChecked: number;
	corruptSnapshots: number;
	cursorSaved: boolean;
	reserveSteps: number;
	/** The drill's tables compared so far, and the live side of the table being read. */
	drillDone?: DrillTableResult[];
	drillLive?: { table: string; after: number; side: DrillSide } | null;
};

/** Steps kept, at any hand-over point, for the end of a run (cursor, alert, finish, report, hand-over). */
const END_STEPS = 8;

function toCoverage(c: Omit<ReadSelection, "reads">): VerifyCoverage {
	const text = describeCoverage(c);
	return { chunksTotal: c.chunksTotal, chunksRead: c.chunksRead, partsTotal: c.partsTotal, partsRead: c.partsRead, cycleRuns: c.cycleRuns, fr: text.fr, en: text.en };
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
		details: {
			corrupt: summary.corrupt.map(({ snapshotId, chunk, reason }) => ({ snapshotId, chunk, reason })),
			drill: summary.drill.tables,
			...(summary.coverage ? { coverage: summary.coverage } : {}),
		},
		error: summary.error ?? summary.drill.error,
	};
}

/** What the weekly report says of the retained snapshots besides the summary. */
type ReportContext = { counts: { snapshots: number; totalBytes: number; submissions: number | null }; readIds: string[] };

async function sendWeeklyReport(env: Env, summary: VerifySummary, plan: ReportContext | null, now: Date): Promise<DeliveryReport> {
	return sendEvent(
		env,
		{
			type: "weekly_report",
			runId: summary.runId,
			snapshotsChecked: summary.snapshotsChecked,
			snapshotsOk: summary.snapshotsChecked - new Set(summary.corrupt.filter((c) => plan?.readIds.includes(c.snapshotId)).map((c) => c.snapshotId)).size,
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
			counts: plan?.counts ?? { snapshots: 0, totalBytes: 0, submissions: null },
			coverage: summary.coverage ? { fr: summary.coverage.fr, en: summary.coverage.en } : null,
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
