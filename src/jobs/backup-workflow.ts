// BackupWorkflow: one durable run of the daily (or manual) backup. Steps: begin (bounds) ->
// export part 1..P (each checked in its step) interleaved with write chunk 1..N (a few parts
// packed into one object, read back and verified) -> write manifest (commit point) -> finish
// -> garbage collection -> after-backup hooks. Every step is retried with backoff; a
// NonRetryableError fails the run at once. A failed run is recorded and still runs the hooks.
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
import { getConfig } from "../config";
import { markRunFinished, markRunRunning, updateQueuedRunStage, updateRunDetails, updateRunProgress, updateRunStage } from "../db/backup-runs";
import { deleteDataLock, fetchDataLockHeld } from "../db/data-locks";
import { acquireDataLock, LOCK_WAIT, type LockBlocker } from "./data-lock";
import { describeError, logError, logEvent } from "../log";
import { APP_VERSION } from "../version";
import { afterBackupHooks, type BackupOutcome } from "./after-backup";
import type { HookSteps } from "../backup/outcome";
import {
	START_CURSOR,
	VERIFICATION_FAILED,
	exportPart,
	fetchExportPlan,
	isChunkFull,
	writeChunk,
	type ExportCursor,
	type ExportPlan,
	type ExportedPart,
} from "../backup/export";
import {
	EMPTY_DIGEST,
	FORMAT_NAME,
	FORMAT_VERSION,
	addDigests,
	buildSnapshotId,
	combineTableDigests,
	manifestKey,
	serializeManifest,
	snapshotPrefix,
	sha256Hex,
	type ChunkEntry,
	type Manifest,
	type TableSummary,
} from "../snapshots/format";
import { fetchSnapshotsInProgress, removeIncompleteSnapshots } from "../backup/gc";
import { fetchImportsInProgress } from "../offsite/import";
import { fetchObjectSizes, writeManifest } from "../snapshots/store";
import { exportedTables } from "../snapshots/tables";
import { primaryStore } from "../snapshots/r2-store";
import { markSteps } from "./step-marks";
import { catalogueCommitted } from "../catalogue/catalogue";
import { EXPORT_STEP_BUDGET, PLAN_LIMITS } from "../platform/plans";
import { buildContinuationId, type ContinuedOutput } from "../backup/chain";
import { buildChunkPartsStatement, deleteChunkParts, fetchChunkParts } from "../db/chunk-parts";

export type BackupParams = {
	trigger: "scheduled" | "manual";
	/** The cron's scheduledTime or the request time (ms since epoch): names the snapshot. */
	requestedAt: number;
	/** Override of BACKUP_CHUNK_BYTES (target compressed chunk size) for this run. */
	chunkBytes?: number;
	/** The deployment's origin, when a request started the run (for the e-mails' dashboard link). */
	origin?: string;
	/** Override of the plan's steps per instance (tests of chaining). */
	stepsPerInstance?: number;
	/** Set in a chained instance: where the run stands (see src/backup/chain.ts). */
	continuation?: BackupContinuation;
};

/** The state a run hands to its next instance, at a chunk boundary (no part waiting). */
export type BackupContinuation = {
	/** The run's id: its first instance's id, its backup_runs row. */
	runId: string;
	/** This instance's number in the chain (2, 3, …). */
	index: number;
	startedAt: string;
	plan: ExportPlan;
	cursor: ExportCursor;
	/** Number of the next part (step names go on counting across instances). */
	part: number;
	entries: ChunkEntry[];
	/** Per-table content digests of everything exported so far. */
	digests: Record<string, string>;
};

/**
 * Steps an instance keeps for what follows the export (manifest, finish, garbage collection, the
 * hooks and their record, a failure record, the hand-over) beyond one chunk's parts.
 */
const RESERVED_STEPS = 16;

/** Workflow params must stay under 1 MiB: a continuation is refused well before. */
const MAX_CONTINUATION_BYTES = 768 * 1024;

/**
 * Pure: hand the run over to a chained instance before starting the next chunk? When this
 * instance could not take one more chunk (its parts and its write) and still end the run.
 */
export function shouldContinueElsewhere(stepsTaken: number, chunkParts: number, stepsPerInstance: number, reserved = RESERVED_STEPS): boolean {
	return stepsTaken + chunkParts + 1 + reserved > stepsPerInstance;
}

/** Data steps: transient errors (D1/R2 hiccups) are retried 5 times, from 10 s to ~2.5 min apart. */
export const STEP_CONFIG = {
	retries: { limit: 5, delay: "10 seconds", backoff: "exponential" },
	timeout: "10 minutes",
} satisfies WorkflowStepConfig;

const HOOK_CONFIG = {
	retries: { limit: 3, delay: "30 seconds", backoff: "exponential" },
	timeout: "5 minutes",
} satisfies WorkflowStepConfig;

/** Safety net against a runaway cursor: 1,000,000 parts of up to 64 Ki characters is ~60 GiB. */
const MAX_PARTS = 1_000_000;

/** A short random suffix for snapshot ids ([a-z0-9]{8}). */
function randomSuffix(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(8));
	return [...bytes].map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
}

/** Pure: the manifest from the run's plan, chunk entries and per-table digests. */
export function buildManifest(input: {
	plan: ExportPlan;
	runId: string;
	trigger: BackupParams["trigger"];
	startedAt: string;
	finishedAt: string;
	entries: ChunkEntry[];
	digests: Record<string, string>;
}): Manifest {
	const tables: Record<string, TableSummary> = {};
	for (const t of exportedTables) {
		tables[t.name] = {
			rows: input.entries.reduce((s, e) => s + (e.tables[t.name] ?? 0), 0),
			columns: input.plan.columns[t.name],
			digest: input.digests[t.name] ?? EMPTY_DIGEST,
			bound: t.bounded ? (input.plan.bounds[t.name] ?? null) : null,
		};
	}
	return {
		format: FORMAT_NAME,
		version: FORMAT_VERSION,
		snapshotId: input.plan.snapshotId,
		trigger: input.trigger,
		runId: input.runId,
		startedAt: input.startedAt,
		finishedAt: input.finishedAt,
		appVersion: APP_VERSION,
		schemaVersion: input.plan.schemaVersion,
		tables,
		rows: input.entries.reduce((s, e) => s + e.rows, 0),
		bytes: input.entries.reduce((s, e) => s + e.bytes, 0),
		chunks: input.entries,
		contentDigest: combineTableDigests(tables),
		compression: "gzip",
		encryption: null,
	};
}

/**
 * Pure: the first manifest entry whose object is not in R2 with the size that was verified, or
 * undefined. Checked right before the commit: each chunk was read back in its own step, possibly
 * long ago, and a manifest must never be committed over an object that has since gone.
 */
export function findUncommittedChunk(entries: readonly ChunkEntry[], sizes: ReadonlyMap<string, number>): string | undefined {
	for (const e of entries) {
		const size = sizes.get(e.key);
		if (size === undefined) return `chunk ${e.n} (${e.key}) is no longer in R2`;
		if (size !== e.bytes) return `chunk ${e.n} (${e.key}) is ${size} bytes in R2, ${e.bytes} were verified`;
	}
	return undefined;
}

/** Pure: keys stored in the snapshot's folder that are neither a listed chunk nor the manifest. */
export function findStrayObjects(entries: readonly ChunkEntry[], stored: ReadonlyMap<string, number>, manifest: string): string[] {
	const listed = new Set(entries.map((e) => e.key));
	return [...stored.keys()].filter((key) => !listed.has(key) && key !== manifest);
}

/** Pure: the first difference between what was exported and what was read back, if any. */
export function findDigestMismatch(
	exported: Record<string, string>,
	readBack: Record<string, string>,
): string | undefined {
	for (const t of new Set([...Object.keys(exported), ...Object.keys(readBack)])) {
		if ((exported[t] ?? EMPTY_DIGEST) !== (readBack[t] ?? EMPTY_DIGEST)) {
			return `table ${t}: content read back differs from the rows exported`;
		}
	}
	return undefined;
}

/** Pure: the failure of a backup that waited LOCK_WAIT.backup for the data lock in vain. */
export function describeBackupLockTimeout(b: LockBlocker): string {
	const minutes = (LOCK_WAIT.backup.attempts - 1) * Number.parseInt(LOCK_WAIT.backup.every, 10);
	return `${b.kind} ${b.holder} kept the data locked (since ${b.since}) for the ${minutes} minutes this backup waited; no snapshot was taken. Start a backup once it has finished`;
}

export class BackupWorkflow extends WorkflowEntrypoint<Env, BackupParams> {
	override async run(event: Readonly<WorkflowEvent<BackupParams>>, workflowStep: WorkflowStep) {
		const step = markSteps(workflowStep, this.env, "backup", event.instanceId);
		const env = this.env;
		const continuation = event.payload.continuation;
		// A chained instance works for the run that started the chain (src/backup/chain.ts).
		const runId = continuation?.runId ?? event.instanceId;
		const trigger = event.payload.trigger === "scheduled" ? "scheduled" : "manual";
		const requestedAt = new Date(event.payload.requestedAt ?? event.timestamp.getTime());
		// Read inside the try below: a bad setting must fail the run visibly, not silently.
		let target = 0;
		let stepBudget = EXPORT_STEP_BUDGET.free;

		let stage = "begin";
		// The step being run, recorded with a failure: it says what failed (an R2 write, a D1 read…).
		let current = "begin";
		let attempt = 0;
		const track = (ctx: { attempt: number }) => {
			attempt = ctx.attempt;
		};
		let startedAt = requestedAt.toISOString();
		let snapshotId: string | undefined;
		let manifest: Manifest | undefined;
		const entries: ChunkEntry[] = [];
		const totals = { rows: 0, bytes: 0, chunks: 0 };
		let failure: { stage: string; error: string; attempt: number; step: string } | undefined;
		// This instance's step count and limit: what is left goes to the after-backup hooks.
		let stepsTaken = 0;
		let stepsLimit = PLAN_LIMITS.free.stepsPerInstance;

		try {
			target = event.payload.chunkBytes ?? getConfig(env).BACKUP_CHUNK_BYTES;
			if (!continuation) {
				// The data lock (shared) from before the bounds are read until the run is recorded: no
				// merge, replace or undo can change the data while this run reads it. One that holds the
				// lock is waited for (LOCK_WAIT.backup), then the run fails with a notice: never silently.
				stage = "lock";
				for (let attempt = 1; ; attempt++) {
					current = `acquire data lock ${attempt}`;
					const got = await step.do(current, STEP_CONFIG, async (ctx) => {
						track(ctx);
						const r = await acquireDataLock(env, { holder: runId, kind: "backup" }, new Date());
						if (!r.ok) await updateQueuedRunStage(env.DB, runId, `waiting for ${r.blocker.kind} ${r.blocker.holder}`);
						return r;
					});
					if (got.ok) break;
					if (attempt >= LOCK_WAIT.backup.attempts) throw new NonRetryableError(describeBackupLockTimeout(got.blocker));
					await step.sleep(`wait for the data lock ${attempt}`, LOCK_WAIT.backup.every);
				}
			}
			stage = "begin";
			const planName = getConfig(env).CLOUDFLARE_PLAN;
			stepBudget = EXPORT_STEP_BUDGET[planName];
			const stepsPerInstance = event.payload.stepsPerInstance ?? PLAN_LIMITS[planName].stepsPerInstance;
			if (shouldContinueElsewhere(1, stepBudget.chunkParts, stepsPerInstance)) {
				// An instance must be able to write at least one chunk, or the chain never ends.
				throw new NonRetryableError(`${stepsPerInstance} steps per instance cannot hold one chunk of ${stepBudget.chunkParts} parts`);
			}
			// Steps taken by this instance (run() replays deterministically, so does this count).
			stepsTaken = 0;
			stepsLimit = stepsPerInstance;
			let plan: ExportPlan;
			if (continuation) {
				plan = continuation.plan;
				startedAt = continuation.startedAt;
				entries.push(...continuation.entries);
				for (const e of entries) {
					totals.rows += e.rows;
					totals.bytes += e.bytes;
				}
				totals.chunks = entries.length;
			} else {
				stepsTaken++;
				current = "begin";
				const begun = await step.do("begin", STEP_CONFIG, async (ctx) => {
					track(ctx);
					const started = new Date().toISOString();
					const id = buildSnapshotId(requestedAt, randomSuffix());
					// The plan first: its row counts (same batch as the bounds) are the progress's total.
					const p = await fetchExportPlan(env.DB, id);
					await markRunRunning(env.DB, { id: runId, trigger, startedAt: started, snapshotId: id, rowsTotal: p.rowsTotal ?? null });
					return { startedAt: started, plan: p };
				});
				plan = begun.plan;
				startedAt = begun.startedAt;
			}
			snapshotId = plan.snapshotId;

			stage = "export";
			const exported: Record<string, string> = { ...continuation?.digests };
			// Parts wait here (as step results, durable) until they fill a chunk.
			let pending: ExportedPart[] = [];
			let cursor: ExportCursor | null = continuation?.cursor ?? START_CURSOR;
			for (let part = continuation?.part ?? 1; cursor; part++) {
				if (pending.length === 0 && shouldContinueElsewhere(stepsTaken, stepBudget.chunkParts, stepsPerInstance)) {
					const next = buildContinuationId(runId, (continuation?.index ?? 1) + 1);
					const state: BackupContinuation = {
						runId,
						index: (continuation?.index ?? 1) + 1,
						startedAt,
						plan,
						cursor,
						part,
						// The parts lists stay in D1 (backup_chunk_parts): with them the hand-over would
						// outgrow a Workflow's parameters at ~1M rows.
						entries: entries.map(({ parts: _, ...e }) => e),
						digests: exported,
					};
					if (JSON.stringify(state).length > MAX_CONTINUATION_BYTES) {
						throw new NonRetryableError(`too many chunks (${entries.length}) to hand the run over to another instance`);
					}
					current = `continue in ${next}`;
					await step.do(current, STEP_CONFIG, async (ctx) => {
						track(ctx);
						const params: BackupParams = { ...event.payload, continuation: state };
						try {
							await env.BACKUP_WORKFLOW.create({ id: next, params });
						} catch (err) {
							// A retried step finds the instance its first attempt created.
							const exists = await env.BACKUP_WORKFLOW.get(next).then(
								() => true,
								() => false,
							);
							if (!exists) throw err;
						}
					});
					logEvent("backup_continued", { runId, next, chunks: entries.length, rows: totals.rows });
					return { status: "continued", next } satisfies ContinuedOutput;
				}
				if (part > MAX_PARTS) throw new NonRetryableError(`more than ${MAX_PARTS} parts`);
				const from: ExportCursor = cursor;
				stepsTaken++;
				// Rows read so far (written chunks and parts waiting), for the progress shown while it runs.
				const readBefore = totals.rows + pending.reduce((sum, p) => sum + p.rows, 0);
				const written = { ...totals };
				current = `export part ${part}`;
				const res = await step.do(current, STEP_CONFIG, async (ctx) => {
					track(ctx);
					const r = await exportPart(env.DB, plan, from, stepBudget, target);
					// One small UPDATE per step: absolute values, so a retried step is harmless.
					if (r.rows > 0) await updateRunProgress(env.DB, runId, { stage: "export", rows: readBefore + r.rows, bytes: written.bytes, chunks: written.chunks });
					return r;
				});
				for (const [t, d] of Object.entries(res.digests)) exported[t] = addDigests(exported[t] ?? EMPTY_DIGEST, d);
				cursor = res.next;
				// An empty part adds nothing, except to a snapshot that would otherwise have no chunk.
				if (res.rows > 0 || (!cursor && entries.length === 0 && pending.length === 0)) pending.push(res);
				if (!isChunkFull(pending, stepBudget, target, !cursor)) continue;
				const n = entries.length + 1;
				const parts = pending;
				pending = [];
				const before = { ...totals };
				stepsTaken++;
				current = `write chunk ${n}`;
				const entry = await step.do(current, STEP_CONFIG, async (ctx) => {
					track(ctx);
					const e = await writeChunk(primaryStore(env), plan.snapshotId, n, parts);
					if (e.parts) await buildChunkPartsStatement(env.DB, runId, n, e.parts).run();
					await updateRunProgress(env.DB, runId, { stage: "export", rows: before.rows + e.rows, bytes: before.bytes + e.bytes, chunks: n });
					return e;
				});
				entries.push(entry);
				totals.rows += entry.rows;
				totals.bytes += entry.bytes;
				totals.chunks = entries.length;
			}

			// Every part was checked against its lines in its own step, and every chunk read back
			// from R2 (size, SHA-256, gunzip) in its write step, before we get here: the manifest
			// is only ever written over verified chunks.
			stage = "manifest";
			current = "write manifest";
			manifest = await step.do("write manifest", STEP_CONFIG, async (ctx) => {
				track(ctx);
				await updateRunStage(env.DB, runId, "manifest");
				// Only a run that held the lock throughout has read a state that existed.
				if (!(await fetchDataLockHeld(env.DB, runId))) {
					throw new NonRetryableError("the data lock was taken from this run (judged stale): its reads may mix states, the snapshot is not committed");
				}
				const store = primaryStore(env);
				const stored = await fetchObjectSizes(store, snapshotPrefix(plan.snapshotId));
				const missing = findUncommittedChunk(entries, stored);
				// Default name: the engine only skips retries for errors named "NonRetryableError".
				if (missing) throw new NonRetryableError(`cannot commit the snapshot: ${missing}`);
				// Objects of this run's folder that the manifest will not list (left by an export
				// attempt that was retried differently) go first, so that `zcat chunk-*` is the snapshot.
				const strays = findStrayObjects(entries, stored, manifestKey(plan.snapshotId));
				if (strays.length > 0) {
					await store.delete(strays);
					logEvent("backup_strays_removed", { runId, objects: strays.length });
				}
				// Chunks handed over by an earlier instance come without their parts: from D1.
				if (entries.some((e) => !e.parts)) {
					const saved = await fetchChunkParts(env.DB, runId);
					for (const e of entries) if (!e.parts && saved.has(e.n)) e.parts = saved.get(e.n);
				}
				const m = buildManifest({
					plan,
					runId,
					trigger,
					startedAt,
					finishedAt: new Date().toISOString(),
					entries,
					digests: exported,
				});
				const keyring = { signingKey: getConfig(env).BACKUP_SIGNING_KEY };
				const written = await writeManifest(store, m, keyring);
				// The catalogue (status, hourly check, retention, list) learns it without reading it again.
				await catalogueCommitted(env.DB, m, keyring, new Date(), written);
				return m;
			});

			stage = "finish";
			current = "finish";
			await step.do("finish", STEP_CONFIG, async (ctx) => {
				track(ctx);
				await markRunFinished(env.DB, {
					id: runId,
					trigger,
					status: "complete",
					stage: "done",
					startedAt,
					finishedAt: manifest!.finishedAt,
					snapshotId: manifest!.snapshotId,
					rows: manifest!.rows,
					bytes: manifest!.bytes,
					chunks: manifest!.chunks.length,
					error: null,
				});
				await deleteDataLock(env.DB, runId);
				await deleteChunkParts(env.DB, runId);
			});
		} catch (err) {
			// A read-back mismatch happens inside an export step but is reported as stage "verify".
			const failedStage = err instanceof Error && err.message.includes(VERIFICATION_FAILED) ? "verify" : stage;
			// After the commit the snapshot itself is good: say so, so that the failure notice and
			// the snapshot list (which shows it) do not seem to contradict each other.
			const committed = manifest ? `snapshot ${manifest.snapshotId} is complete and verified in R2, but ` : "";
			failure = { stage: failedStage, error: `${committed}${describeError(err)}`.slice(0, 400), attempt, step: current };
			logError("backup_failed", { runId, stage: failedStage, error: failure.error, attempt });
		}

		const details: Record<string, unknown> = {};
		let finishedAt = manifest?.finishedAt ?? startedAt;
		if (failure) {
			const f = failure;
			try {
				finishedAt = await step.do("record failure", STEP_CONFIG, async () => {
					const at = new Date().toISOString();
					await markRunFinished(env.DB, {
						id: runId,
						trigger,
						status: "failed",
						stage: f.stage,
						startedAt,
						finishedAt: at,
						snapshotId: snapshotId ?? null,
						rows: totals.rows,
						bytes: totals.bytes,
						chunks: totals.chunks,
						error: f.error,
						failedStep: f.step,
					});
					await deleteDataLock(env.DB, runId);
					return at;
				});
			} catch (err) {
				logError("backup_record_failed", { runId, error: describeError(err) });
			}
		} else {
			// Garbage collection only after a success: a failing system must not delete anything.
			try {
				details.gc = await step.do("garbage collection", STEP_CONFIG, async () => ({
					removed: await removeIncompleteSnapshots(
						primaryStore(env),
						requestedAt,
						manifest!.snapshotId,
						// Backups still writing, and pushed snapshots an import job is checking.
						new Set([...(await fetchSnapshotsInProgress(env, runId)), ...(await fetchImportsInProgress(primaryStore(env)))]),
					),
				}));
			} catch (err) {
				details.gc = { error: describeError(err) };
				logError("backup_gc_failed", { runId, error: describeError(err) });
			}
			logEvent("backup_complete", {
				runId,
				snapshotId: manifest!.snapshotId,
				rows: manifest!.rows,
				bytes: manifest!.bytes,
				chunks: manifest!.chunks.length,
			});
		}

		const outcome: BackupOutcome = {
			runId,
			trigger,
			status: failure ? "failed" : "complete",
			...(manifest ? { snapshotId: manifest.snapshotId, manifest } : {}),
			...(failure ? { stage: failure.stage, error: failure.error, attempt: failure.attempt, failedStep: failure.step } : {}),
			startedAt,
			finishedAt,
			scheduledTime: requestedAt.toISOString(),
			...(event.payload.origin ? { origin: event.payload.origin } : {}),
		};
		// RESERVED_STEPS covers the lock, manifest, finish, GC, the single-step hooks and their record.
		details.hooks = await this.runHooks(step, outcome, Math.max(1, stepsLimit - stepsTaken - RESERVED_STEPS));
		try {
			await step.do("record hooks", STEP_CONFIG, async () => {
				await updateRunDetails(env.DB, runId, details);
			});
		} catch (err) {
			logError("backup_record_hooks_failed", { runId, error: describeError(err) });
		}

		if (failure) {
			throw new NonRetryableError(`backup failed at stage ${failure.stage}: ${failure.error}`, "BackupFailed");
		}
		return { status: "complete", snapshotId: manifest!.snapshotId, rows: manifest!.rows, chunks: manifest!.chunks.length };
	}

	/** Each hook in its own step; a failing hook is recorded and never stops the others. */
	private async runHooks(step: WorkflowStep, outcome: BackupOutcome, available: number): Promise<Record<string, unknown>> {
		const earlier: Record<string, unknown> = {};
		const results: Record<string, unknown> = {};
		for (const hook of afterBackupHooks) {
			try {
				// A multi-step hook (the off-site copy) runs each unit as its own step, named after it.
				const steps: HookSteps = {
					do: <T>(name: string, fn: () => Promise<T>) =>
						step.do(`after-backup ${hook.name}: ${name}`, HOOK_CONFIG, async () => (await fn()) as Rpc.Serializable<T>) as Promise<T>,
					available,
				};
				const result = hook.multiStep
					? ((await hook.run(this.env, outcome, { ...earlier }, steps)) ?? null)
					: await step.do(`after-backup ${hook.name}`, HOOK_CONFIG, async () => {
							const r = await hook.run(this.env, outcome, { ...earlier });
							return (r ?? null) as Rpc.Serializable<unknown>;
						});
				earlier[hook.name] = result;
				results[hook.name] = { ok: true, result };
			} catch (err) {
				const error = describeError(err);
				earlier[hook.name] = { error };
				results[hook.name] = { ok: false, error };
				logError("after_backup_hook_failed", { runId: outcome.runId, hook: hook.name, error });
			}
		}
		return results;
	}
}
