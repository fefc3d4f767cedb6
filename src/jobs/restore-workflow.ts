// RestoreWorkflow: every restore (dry run, merge, replace) runs here, one durable step per part of a
// chunk (a range read; a chunk written without parts is one part),
// so a large restore survives restarts and resumes where it stopped. Progress is in restore_runs.
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { getConfig } from "../config";
import { describeError, logError, logEvent } from "../log";
import { partsOf, type ChunkEntry } from "../snapshots/format";
import { buildEntryBlock } from "./entry-blocks";
import {
	type DryRunBaseline,
	type Refusal,
	type VerifiedManifest,
	buildRowCheckContext,
	comparePart,
	dropStaging,
	fetchDryRunBaseline,
	fetchVerifiedEntries,
	finishMerge,
	loadPart,
	prepareStaging,
	swapInStaging,
	verifyManifest,
	verifyPart,
} from "../restore/load";
import {
	addDiffs,
	addRejected,
	describeRejected,
	emptyDiff,
	finishDiff,
	findCountsProblem,
	RESTORE_TABLES,
	type RejectedRows,
	type RestoreMode,
	type TableDiff,
} from "../restore/plan";
import { primaryStore } from "../snapshots/r2-store";
import { buildReleaseDataLockStatement } from "../db/data-locks";
import { acquireDataLock, LOCK_WAIT, type LockBlocker } from "./data-lock";
import { buildAuditStatement } from "../db/audit-log";
import { buildRecountStatements } from "../db/counters";
import { buildRestoreCompleteStatement, buildRestoreStoppedStatement, updateRestoreStage, type RestoreProgress } from "../db/restore-runs";
import { fetchDryRunBudget } from "../restore/budget";
import { markSteps } from "./step-marks";
import { fetchOldestReceivedAt } from "../db/submissions";
import { PLAN_LIMITS } from "../platform/plans";
import { buildContinuationId, type ContinuedOutput } from "../backup/chain";

export type RestoreParams = {
	runId: string;
	snapshotId: string;
	mode: RestoreMode;
	/** The administrator's explicit override for a manifest this deployment cannot authenticate. */
	allowUnsigned?: boolean;
	/** Override of the plan's steps per instance (tests of chaining). */
	stepsPerInstance?: number;
	/** Set in a chained instance: the first instance's time (rows are checked against it). */
	runTime?: string;
	/** Set in a chained instance: where the run stands (see src/backup/chain.ts). */
	continuation?: RestoreContinuation;
};

/** Bad data is a verdict, not a transient error: steps return it instead of throwing (no retries). */
class Refused extends Error {
	constructor(
		message: string,
		/** Kept on the run beside the reason (e.g. the refused rows). */
		readonly report?: Record<string, unknown>,
	) {
		super(message);
	}
}

// Reads and D1 writes can fail transiently: retry a few times, then fail the run (recorded).
const STEP = { retries: { limit: 3, delay: "2 seconds", backoff: "exponential" }, timeout: "10 minutes" } as const;

/** Where a restore stands when it hands over to a chained instance (at a chunk boundary). */
export type RestoreContinuation = {
	/** This instance's number in the chain (2, 3, …). */
	index: number;
	manifest: VerifiedManifest;
	pass: "verify" | "compare" | "load";
	/** Index in the manifest's chunks of the next chunk of that pass. */
	chunk: number;
	erased: string[];
	rejected: RejectedRows;
	/** Dry run: the baseline and what the chunks compared so far gave. */
	baseline: DryRunBaseline | null;
	diffs: Record<string, TableDiff>;
	found: Record<string, string[]>;
	/** Write modes: the data lock is held by the run; staging prepared; what was written. */
	locked: boolean;
	written: Record<string, number>;
	skippedErased: number;
};

/**
 * Steps an instance keeps for what follows a chunk: the data lock's waits (acquire + sleep per
 * attempt), staging, baseline, report or swap, the outcome record and the hand-over itself.
 */
const RESERVED_STEPS = 2 * LOCK_WAIT.restore.attempts + 16;

/** Workflow params must stay under 1 MiB: a hand-over is refused well before. */
const MAX_CONTINUATION_BYTES = 768 * 1024;

export class RestoreWorkflow extends WorkflowEntrypoint<Env, RestoreParams> {
	override async run(event: Readonly<WorkflowEvent<RestoreParams>>, workflowStep: WorkflowStep): Promise<unknown> {
		const step = markSteps(workflowStep, this.env, "restore", event.instanceId);
		const { runId, snapshotId, mode, allowUnsigned = false } = event.payload;
		const db = this.env.DB;
		const store = primaryStore(this.env);
		const env = this.env;
		const stepsPerInstance = event.payload.stepsPerInstance ?? PLAN_LIMITS[getConfig(env).CLOUDFLARE_PLAN].stepsPerInstance;
		let stepsTaken = 0;
		// Each step logs its duration (no data, only names and counts): where a restore spends time.
		const doStep = <T extends Rpc.Serializable<T>>(name: string, fn: () => Promise<T>): Promise<T> => {
			stepsTaken++;
			return step.do(name, STEP, async () => {
				const t0 = Date.now();
				const out = await fn();
				logEvent("restore_step", { runId, step: name, ms: Date.now() - t0 });
				return out;
			});
		};
		const setStage = (status: string, stage: string, progress: RestoreProgress = {}) =>
			updateRestoreStage(db, runId, status, stage, progress);
		const from = event.payload.continuation;
		// Rows are checked against the run's time: the first instance's creation, the same on every
		// replay and in every chained instance.
		const runTime = (event.payload.runTime ? Date.parse(event.payload.runTime) : NaN) || event.timestamp.getTime();
		// Set once this run has taken the data lock: only then may its failure path write (recount,
		// drop staging); a run refused before that leaves the data exactly as it found it.
		let locked = from?.locked ?? false;
		try {
			// 1. Verify everything before any write: the manifest, then every chunk.
			const manifest: VerifiedManifest | Refusal =
				from?.manifest ??
				(await doStep("verify manifest", async () => {
					const m = await verifyManifest(store, snapshotId, { signingKey: getConfig(this.env).BACKUP_SIGNING_KEY, allowUnsigned });
					await setStage("running", "verify manifest", m.ok ? { chunksTotal: m.chunks.length, rowsTotal: m.rows } : {});
					return m;
				}));
			if (!manifest.ok) throw new Refused(manifest.reason);
			// The entries with their parts, a block of chunks per step, from the very manifest verified.
			const chunks: ChunkEntry[] = [];
			const numbers = manifest.chunks.map((c) => c.n);
			// A chained instance lists only what its remaining passes read.
			const firstNeeded = from && from.pass !== "verify" ? from.chunk : 0;
			for (let k = firstNeeded; k < numbers.length; ) {
				const n = buildEntryBlock(numbers, k, manifest.partsPerChunk);
				const first = numbers[k]!;
				const last = numbers[k + n - 1]!;
				const listed = await doStep(`entries ${first}-${last}`, () => fetchVerifiedEntries(store, snapshotId, manifest.manifestSha256, first, last));
				if (!listed.ok) throw new Refused(listed.reason);
				listed.entries.forEach((e, j) => (chunks[k + j] = e));
				k += n;
			}
			const state: RestoreContinuation = from ?? {
				index: 1,
				manifest,
				pass: "verify",
				chunk: 0,
				erased: [],
				rejected: { total: 0, rows: [] },
				baseline: null,
				diffs: Object.fromEntries(RESTORE_TABLES.map((t) => [t.table, emptyDiff()])),
				found: Object.fromEntries(RESTORE_TABLES.map((t) => [t.table, []])),
				locked: false,
				written: {},
				skippedErased: 0,
			};
			/**
			 * Hand the run over before chunk `i` when this instance cannot take it and still end; only
			 * after it has done a chunk itself, so that a chain always advances.
			 */
			let doneHere = 0;
			const mustHandOver = (i: number) => {
				if (doneHere > 0 && stepsTaken + manifest.partsPerChunk[i]! + RESERVED_STEPS > stepsPerInstance) return true;
				doneHere++;
				return false;
			};
			const handOver = async (pass: RestoreContinuation["pass"], i: number) => {
				const next = buildContinuationId(runId, state.index + 1);
				const continuation: RestoreContinuation = { ...state, index: state.index + 1, pass, chunk: i, locked };
				if (JSON.stringify(continuation).length > MAX_CONTINUATION_BYTES) throw new Error("the restore's state is too large to hand over to another instance");
				await doStep(`continue in ${next}`, async () => {
					try {
						const params: RestoreParams = { ...event.payload, runTime: new Date(runTime).toISOString(), continuation };
						await env.RESTORE_WORKFLOW.create({ id: next, params });
					} catch (err) {
						// A retried step finds the instance its first attempt created.
						const exists = await env.RESTORE_WORKFLOW.get(next).then(
							() => true,
							() => false,
						);
						if (!exists) throw err;
					}
				});
				logEvent("restore_continued", { runId, next, pass, chunk: i });
				return { status: "continued", next } satisfies ContinuedOutput;
			};

			const passStart = (pass: RestoreContinuation["pass"]) => (state.pass === pass ? state.chunk : 0);
			if (state.pass === "verify") {
				const erased = new Set<string>(state.erased);
				for (let c = passStart("verify"); c < chunks.length; c++) {
					const entry = chunks[c]!;
					if (mustHandOver(c)) {
						state.erased = [...erased];
						return await handOver("verify", c);
					}
					const parts = partsOf(entry).length;
					const counts: Record<string, number> = {};
					for (let i = 0; i < parts; i++) {
						const v = await doStep(partStep("verify", entry, i), async () => {
							const r = await verifyPart(store, entry, i, buildRowCheckContext(runTime, manifest.bounds));
							const done = r.ok && i === parts - 1 ? entry.n : entry.n - 1;
							await setStage("running", `verify chunk ${entry.n}/${chunks.length}${parts > 1 ? ` part ${i + 1}/${parts}` : ""}`, { chunksVerified: done });
							return r;
						});
						if (!v.ok) throw new Refused(v.reason);
						for (const id of v.erasedIds) erased.add(id);
						state.rejected = addRejected(state.rejected, v.rejected);
						for (const [t, n] of Object.entries(v.counts)) counts[t] = (counts[t] ?? 0) + n;
					}
					const problem = findCountsProblem(entry, counts);
					if (problem) throw new Refused(problem);
				}
				state.erased = [...erased];
				state.pass = mode === "dry-run" ? "compare" : "load";
				state.chunk = 0;
			}
			const snapshotErased = state.erased;
			const rejected = state.rejected;
			// A write restore never loads a row that failed its checks: the whole snapshot is refused.
			if (rejected.total > 0 && mode !== "dry-run") throw new Refused(describeRejected(rejected), { rejected });

			// 2. Dry run: compare, write only the report.
			if (mode === "dry-run") {
				const baseline = state.baseline ?? (await doStep("dry-run baseline", () => fetchDryRunBaseline(db)));
				state.baseline = baseline;
				const candidates = Object.fromEntries(Object.entries(baseline).map(([t, b]) => [t, b.candidates]));
				for (let c = passStart("compare"); c < chunks.length; c++) {
					const entry = chunks[c]!;
					if (mustHandOver(c)) return await handOver("compare", c);
					const parts = partsOf(entry).length;
					for (let i = 0; i < parts; i++) {
						const r = await doStep(partStep("compare", entry, i), async () => {
							const out = await comparePart(db, store, entry, i, snapshotErased, candidates);
							await setStage("running", `compare chunk ${entry.n}/${chunks.length}${parts > 1 ? ` part ${i + 1}/${parts}` : ""}`);
							return out;
						});
						if ("ok" in r) throw new Refused(r.reason);
						for (const [t, d] of Object.entries(r.diffs)) state.diffs[t] = addDiffs(state.diffs[t]!, d);
						for (const [t, ids] of Object.entries(r.found)) state.found[t] = [...new Set([...(state.found[t] ?? []), ...ids])];
					}
				}
				const tables = Object.fromEntries(
					RESTORE_TABLES.map((spec) => {
						const b = baseline[spec.table]!;
						const found = new Set(state.found[spec.table] ?? []);
						const unmatched = b.candidates.filter((k) => !found.has(k));
						return [spec.table, finishDiff(spec, state.diffs[spec.table]!, b.count, unmatched)];
					}),
				);
				// The answers a replace would remove are the newest live ones no chunk held: when all of
				// them are among the candidates, the oldest one's time is exact (the preview's sentence).
				const foundSubmissions = new Set(state.found.submissions ?? []);
				const removed = baseline.submissions!.candidates.filter((k) => !foundSubmissions.has(k));
				const removable = tables.submissions!.disappear > 0 && removed.length === tables.submissions!.disappear ? removed : [];
				const report: Record<string, unknown> = rejected.total > 0 ? { tables, rejected } : { tables };
				await doStep("dry-run report", async () => {
					const now = new Date().toISOString();
					// The rows a merge and a replace would write, against today's D1 write budget.
					const budget = await fetchDryRunBudget(db, getConfig(this.env).CLOUDFLARE_PLAN, tables, chunks.length, new Date(now));
					const oldest = await fetchOldestReceivedAt(db, removable);
					if (oldest) report.oldestRemovedAt = oldest;
					await db.batch([
						buildRestoreCompleteStatement(db, runId, now, { ...report, budget }),
						buildAuditStatement(db, now, "restore", { runId, snapshotId, mode }),
					]);
				});
				return { status: "complete", ...report };
			}

			// 3. Merge or replace: take the data lock (exclusive), waiting for a backup or an erasure
			// to finish; then load part by part (replace into staging tables). Every write batch
			// checks that the lock is still held; the last one releases it.
			if (!locked) {
				for (let attempt = 1; ; attempt++) {
					const got = await doStep(`acquire data lock ${attempt}`, async () => {
						const r = await acquireDataLock(this.env, { holder: runId, kind: mode }, new Date());
						await setStage("running", r.ok ? "data lock taken" : `waiting for ${r.blocker.kind} ${r.blocker.holder}`);
						return r;
					});
					if (got.ok) {
						locked = true;
						break;
					}
					if (attempt >= LOCK_WAIT.restore.attempts) throw new Refused(describeLockTimeout(got.blocker));
					stepsTaken++;
					await step.sleep(`wait for the data lock ${attempt}`, LOCK_WAIT.restore.every);
				}
				if (mode === "replace") await doStep("prepare staging", () => prepareStaging(db));
			}
			for (let c = passStart("load"); c < chunks.length; c++) {
				const entry = chunks[c]!;
				if (mustHandOver(c)) return await handOver("load", c);
				const parts = partsOf(entry).length;
				for (let i = 0; i < parts; i++) {
					const r = await doStep(partStep("load", entry, i), () => loadPart(db, store, entry, i, mode, snapshotErased, runId));
					if ("ok" in r) throw new Refused(r.reason);
					for (const [t, n] of Object.entries(r.written)) state.written[t] = (state.written[t] ?? 0) + n;
					state.skippedErased += r.skippedErased;
				}
			}
			const report = { written: state.written, skippedErased: state.skippedErased };
			await doStep(mode === "replace" ? "swap" : "finish merge", async () => {
				const now = new Date().toISOString();
				if (mode === "replace") await swapInStaging(db, runId, snapshotId, report, now);
				else await finishMerge(db, runId, snapshotId, report, now);
			});
			logEvent("restore_complete", { runId, mode, chunks: chunks.length, skippedErased: state.skippedErased, instances: state.index });
			return { status: "complete", ...report };
		} catch (err) {
			// Refusals (bad snapshot) and failures (retries exhausted) are recorded, never silent.
			const refused = err instanceof Refused;
			const reason = refused ? err.message : describeError(err);
			await doStep("record outcome", async () => {
				const now = new Date().toISOString();
				if (mode === "replace" && locked) await dropStaging(db);
				await db.batch([
					// A merge stopped after loading some chunks has written rows: counters must
					// still equal the rows (they are only reconciled at the end otherwise).
					...(mode === "merge" && locked ? buildRecountStatements(db, now) : []),
					buildRestoreStoppedStatement(db, runId, refused ? "refused" : "failed", now, reason, refused ? err.report : undefined),
					buildAuditStatement(db, now, "restore", { runId, snapshotId, mode, outcome: refused ? "refused" : "failed" }),
					buildReleaseDataLockStatement(db, runId),
				]);
			});
			(refused ? logEvent : logError)("restore_stopped", { runId, mode, outcome: refused ? "refused" : "failed" });
			return { status: refused ? "refused" : "failed", reason };
		}

	}
}

/** Pure: a part's step name: "<pass> chunk <n>", with " part <i>" when the chunk has several. */
function partStep(pass: string, entry: ChunkEntry, index: number): string {
	return partsOf(entry).length > 1 ? `${pass} chunk ${entry.n} part ${index + 1}` : `${pass} chunk ${entry.n}`;
}

/** Pure: the refusal of a restore that waited LOCK_WAIT.restore for the data lock in vain. */
export function describeLockTimeout(b: LockBlocker): string {
	const minutes = (LOCK_WAIT.restore.attempts - 1) * Number.parseInt(LOCK_WAIT.restore.every, 10);
	return `${b.kind} ${b.holder} kept the data locked (since ${b.since}) for the ${minutes} minutes this restore waited; nothing was written, run the restore again once it has finished`;
}
