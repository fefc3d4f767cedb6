// ImportWorkflow: the check and commit of a snapshot pushed by `npm run admin -- push`
// (src/offsite/import.ts; docs/decisions.md, "The import is a job"). Step "plan" lists the pushed
// chunks (present, size, SHA-256); steps "entries a-b" give a few chunks' manifest entries; each
// step "check n.p" reads and inspects ONE part; the per-table counts and digests are summed between
// steps (small results) and compared with the manifest; step "commit" writes the manifest last,
// signed, and records the catalogue entry and the audit line. A refusal commits nothing and is
// written in the import's status (imports/<id>/status.json) for GET /api/admin/imports/{id}.
import { NonRetryableError } from "cloudflare:workflows";
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { catalogueCommitted } from "../catalogue/catalogue";
import { getConfig } from "../config";
import { insertAuditEntry } from "../db/audit-log";
import { describeError, logError, logEvent } from "../log";
import {
	addTableSums,
	checkImportedChunkCounts,
	checkImportedPart,
	commitImportedManifest,
	compareImportSums,
	fetchImportEntries,
	ImportError,
	planImportCheck,
	putPendingManifest,
	putImportStatus,
	type ImportStatus,
	type TableSum,
} from "../offsite/import";
import { PLAN_LIMITS } from "../platform/plans";
import { primaryStore } from "../snapshots/r2-store";
import { buildEntryBlock } from "./entry-blocks";
import { markSteps } from "./step-marks";

/** Where the check stands between steps (and what a chained instance starts from). */
export type ImportState = {
	/** This instance's number in the chain (1, 2, …). */
	index: number;
	partsPerChunk: number[];
	expected: Record<string, TableSum>;
	/** Chunks 1..chunksDone are checked. */
	chunksDone: number;
	partsDone: number;
	partsTotal: number;
	sums: Record<string, TableSum>;
};

export type ImportParams = {
	snapshotId: string;
	/** SHA-256 of the pushed manifest: the job checks exactly what the PUT checked. */
	manifestSha256: string;
	startedAt: string;
	/** The first instance's id (the status names it). */
	instance: string;
	/** Override (tests): steps per instance. */
	stepsPerInstance?: number;
	continuation?: ImportState;
};

/** R2 and D1 hiccups are retried; every step is idempotent (reads, or the same write). */
const STEP = { retries: { limit: 3, delay: "5 seconds", backoff: "exponential" }, timeout: "5 minutes" } as const;
/** Steps kept for the entries listing, the commit, the failure record and the hand-over. */
const RESERVED_STEPS = 5;

/** A refusal of the pushed data (not a platform hiccup): recorded as the import's error, not retried. */
class Refusal extends Error {}

/** `fn`'s result, or the refusal it threw (a step returns it: a refusal is not retried). */
async function refusalOf<T>(fn: () => Promise<T>): Promise<T | { refused: string }> {
	try {
		return await fn();
	} catch (err) {
		if (err instanceof ImportError) return { refused: err.message };
		throw err;
	}
}

export class ImportWorkflow extends WorkflowEntrypoint<Env, ImportParams> {
	override async run(event: Readonly<WorkflowEvent<ImportParams>>, workflowStep: WorkflowStep): Promise<unknown> {
		const step = markSteps(workflowStep, this.env, "import", event.instanceId);
		const env = this.env;
		const { snapshotId, manifestSha256, startedAt } = event.payload;
		const store = primaryStore(env);
		const statusOf = (s: Pick<ImportState, "partsDone" | "partsTotal"> | undefined, status: ImportStatus["status"], extra: Partial<ImportStatus> = {}): ImportStatus => ({
			snapshotId,
			status,
			progress: { parts: { done: s?.partsDone ?? 0, total: s?.partsTotal ?? 0 } },
			error: null,
			instance: event.instanceId,
			startedAt,
			finishedAt: status === "done" || status === "failed" ? new Date().toISOString() : null,
			rows: null,
			chunks: null,
			contentDigest: null,
			...extra,
		});
		let state: ImportState | undefined = event.payload.continuation;
		try {
			const stepsPerInstance = event.payload.stepsPerInstance ?? PLAN_LIMITS[getConfig(env).CLOUDFLARE_PLAN].stepsPerInstance;
			if (stepsPerInstance < RESERVED_STEPS + 2) throw new NonRetryableError(`${stepsPerInstance} steps per instance cannot hold one part`);
			let stepsTaken = 0;
			let chunksHere = 0;
			if (!state) {
				stepsTaken++;
				const plan = await step.do("plan", STEP, async () => {
					const p = await refusalOf(() => planImportCheck(store, snapshotId, manifestSha256));
					if ("refused" in p) return { problem: p.refused, partsPerChunk: [], expected: {} };
					const total = p.partsPerChunk.reduce((a, b) => a + b, 0);
					if (!p.problem) await putImportStatus(store, statusOf({ partsDone: 0, partsTotal: total }, "running"));
					return p;
				});
				if (plan.problem) throw new Refusal(plan.problem);
				state = {
					index: 1,
					partsPerChunk: plan.partsPerChunk,
					expected: plan.expected,
					chunksDone: 0,
					partsDone: 0,
					partsTotal: plan.partsPerChunk.reduce((a, b) => a + b, 0),
					sums: {},
				};
			}
			const chunks: number[] = [];
			for (let n = state.chunksDone + 1; n <= state.partsPerChunk.length; n++) chunks.push(n);
			for (let k = 0; k < chunks.length; ) {
				const block = buildEntryBlock(chunks, k, state.partsPerChunk);
				const from = chunks[k]!;
				const to = chunks[k + block - 1]!;
				stepsTaken++;
				const listed = await step.do(`entries ${from}-${to}`, STEP, () => refusalOf(() => fetchImportEntries(store, snapshotId, manifestSha256, from, to)));
				if ("refused" in listed) throw new Refusal(listed.refused);
				const entries = listed;
				if (entries.length !== to - from + 1) throw new Refusal(`chunks ${from}-${to} are no longer in the manifest`);
				for (const entry of entries) {
					const parts = state.partsPerChunk[entry.n - 1]!;
					// At least one chunk per instance, whatever its parts: the chain always moves on.
					if (chunksHere > 0 && stepsTaken + parts + RESERVED_STEPS > stepsPerInstance) {
						return await this.handOver(event.payload, state, step);
					}
					chunksHere++;
					const counts: Record<string, number> = {};
					for (let i = 0; i < parts; i++) {
						stepsTaken++;
						const done = state.partsDone + 1;
						const total = state.partsTotal;
						const r = await step.do(`check ${entry.n}.${i + 1}`, STEP, async () => {
							const checked = await checkImportedPart(store, entry, i);
							if (!checked.problem) await putImportStatus(store, statusOf({ partsDone: done, partsTotal: total }, "running"));
							return checked;
						});
						if (r.problem) throw new Refusal(r.problem);
						state.sums = addTableSums(state.sums, r.tables);
						for (const [t, s] of Object.entries(r.tables)) counts[t] = (counts[t] ?? 0) + s.rows;
						state.partsDone = done;
					}
					const countProblem = checkImportedChunkCounts(entry, counts);
					if (countProblem) throw new Refusal(countProblem);
					state.chunksDone = entry.n;
				}
				k += block;
			}
			const problem = compareImportSums(state.expected, state.sums);
			if (problem) throw new Refusal(problem);
			const final: ImportState = state;
			const done = await step.do("commit", STEP, async () => {
				const keyring = { signingKey: getConfig(env).BACKUP_SIGNING_KEY };
				const committed = await refusalOf(() => commitImportedManifest(store, snapshotId, manifestSha256, keyring));
				if ("refused" in committed) return { refused: committed.refused };
				const { manifest, text } = committed;
				const at = new Date();
				await catalogueCommitted(env.DB, manifest, keyring, at, { text });
				await insertAuditEntry(env.DB, { at: at.toISOString(), action: "snapshot_import", details: { snapshotId, rows: manifest.rows, chunks: manifest.chunks.length } });
				const summary = { rows: manifest.rows, chunks: manifest.chunks.length, contentDigest: manifest.contentDigest };
				await putImportStatus(store, statusOf(final, "done", summary));
				return summary;
			});
			if ("refused" in done) throw new Refusal(done.refused);
			logEvent("snapshot_imported", { snapshotId, rows: done.rows, chunks: done.chunks });
			return { status: "done", ...done };
		} catch (err) {
			// A refusal of the data is the import's verdict; anything else is a failure of the job.
			const refused = err instanceof Refusal;
			const error = refused ? (err as Error).message : describeError(err);
			logError("snapshot_import_failed", { snapshotId, error });
			const last = state;
			await step.do("record failure", STEP, async () => {
				await putImportStatus(store, statusOf(last, "failed", { error }));
			});
			if (refused) return { status: "failed", error };
			throw err;
		}
	}

	/** Too many steps for one instance: the rest of the check continues in a chained one. */
	private async handOver(payload: ImportParams, state: ImportState, step: WorkflowStep): Promise<unknown> {
		const next = `${payload.instance}-part${state.index + 1}`;
		const continuation: ImportState = { ...state, index: state.index + 1 };
		const env = this.env;
		await step.do(`continue in ${next}`, STEP, async () => {
			try {
				await env.IMPORT_WORKFLOW.create({ id: next, params: { ...payload, continuation } satisfies ImportParams });
			} catch (err) {
				// A retried step finds the instance its first attempt created.
				const exists = await env.IMPORT_WORKFLOW.get(next).then(
					() => true,
					() => false,
				);
				if (!exists) throw err;
			}
		});
		return { status: "continued", next };
	}
}

/** A short random suffix ([a-z0-9]{6}): each push of the same snapshot gets its own instance. */
function randomSuffix(): string {
	return [...crypto.getRandomValues(new Uint8Array(6))].map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
}

/**
 * Pure: is an import still under way, from its status and its instance's? An instance that cannot
 * be found ("unknown") counts as ended: otherwise a lost instance would block every new push of
 * that snapshot (a second job over the same folder is harmless: the first then finds the pushed
 * manifest changed and stops).
 */
export function isImportActive(status: ImportStatus | undefined, instanceStatus: string): boolean {
	if (!status || status.status === "done" || status.status === "failed") return false;
	return instanceStatus !== "errored" && instanceStatus !== "terminated" && instanceStatus !== "unknown";
}

/** Where an unfinished import's instance stands ("unknown" when it cannot be read). */
export async function fetchImportInstanceStatus(env: Pick<Env, "IMPORT_WORKFLOW">, instance: string): Promise<string> {
	try {
		return (await (await env.IMPORT_WORKFLOW.get(instance)).status()).status;
	} catch {
		return "unknown";
	}
}

/**
 * Start the check and commit of a pushed snapshot whose manifest passed checkImportManifest: the
 * manifest is kept aside, the status written ("queued") before the instance is created, so that
 * it can be read as soon as the request answers. `now` is the request's time.
 */
export async function startImport(
	env: Env,
	snapshotId: string,
	manifestText: string,
	partsTotal: number,
	now: Date,
	overrides: Pick<ImportParams, "stepsPerInstance"> = {},
): Promise<ImportStatus> {
	const store = primaryStore(env);
	const manifestSha256 = await putPendingManifest(store, snapshotId, manifestText);
	const instance = `import-${snapshotId}-${randomSuffix()}`;
	const status: ImportStatus = {
		snapshotId,
		status: "queued",
		progress: { parts: { done: 0, total: partsTotal } },
		error: null,
		instance,
		startedAt: now.toISOString(),
		finishedAt: null,
		rows: null,
		chunks: null,
		contentDigest: null,
	};
	await putImportStatus(store, status);
	await env.IMPORT_WORKFLOW.create({ id: instance, params: { snapshotId, manifestSha256, startedAt: status.startedAt, instance, ...overrides } satisfies ImportParams });
	logEvent("snapshot_import_started", { snapshotId, instance });
	return status;
}
