// Starting backups: the daily cron (one Workflow instance per scheduled day, so a duplicate
// delivery is harmless) and the manual trigger (one backup at a time), plus a run's status.
import {
	fetchActiveRuns,
	fetchRun,
	insertRunIfIdle,
	insertRunOnce,
	markRunFinished,
	type BackupRun,
} from "../db/backup-runs";
import { describeError, logError, logEvent } from "../log";
import { fetchRunWorkflowStatus } from "../backup/chain";
import { sendEvent } from "../notify/events";
import type { BackupParams } from "./backup-workflow";

/** Workflow instance ids we create: `scheduled-YYYY-MM-DD` or `manual-YYYYMMDDTHHMMSSZ-xxxxxx`. */
export const RUN_ID = /^(scheduled-\d{4}-\d{2}-\d{2}|manual-\d{8}T\d{6}Z-[a-z0-9]{6})$/;

export function isRunId(id: string): boolean {
	return RUN_ID.test(id);
}

/** Pure: the run id of the scheduled backup of a day (UTC). */
export function buildScheduledRunId(scheduledTime: number): string {
	return `scheduled-${new Date(scheduledTime).toISOString().slice(0, 10)}`;
}

/** Pure: a manual run id from the request time and a random suffix. */
export function buildManualRunId(at: Date, random: string): string {
	const compact = at.toISOString().replace(/[-:]/g, "").slice(0, 15);
	return `manual-${compact}Z-${random}`;
}

function randomSuffix(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(6));
	return [...bytes].map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
}

/** Workflow statuses after which a run can no longer progress. */
const ENDED = new Set(["errored", "terminated", "complete", "unknown"]);

/**
 * A run recorded as queued/running whose Workflow instance has ended without recording it
 * (terminated, or crashed outside our handling) is marked failed, so it never blocks forever.
 */
async function reconcileRun(env: Env, run: BackupRun, now: Date): Promise<BackupRun> {
	if (run.status !== "queued" && run.status !== "running") return run;
	let status: string;
	try {
		status = await fetchRunWorkflowStatus(env.BACKUP_WORKFLOW, run.id);
	} catch {
		// No instance: the trigger failed between inserting the row and creating the instance.
		status = now.getTime() - Date.parse(run.startedAt) > 60_000 ? "unknown" : "queued";
	}
	if (!ENDED.has(status)) return run;
	// The Workflow records its own outcome; re-read once in case it just did.
	const fresh = (await fetchRun(env.DB, run.id)) ?? run;
	if (fresh.status !== "queued" && fresh.status !== "running") return fresh;
	const failed = {
		...fresh,
		status: "failed" as const,
		stage: fresh.stage ?? "begin",
		finishedAt: now.toISOString(),
		error: `run ended without recording its outcome (workflow ${status})`,
	};
	await markRunFinished(env.DB, { ...failed, stage: failed.stage, snapshotId: failed.snapshotId });
	return failed;
}

export type ManualStart = { started: true; id: string } | { started: false; runningId: string };

/** Start a manual backup now, unless one is queued or running. */
export async function startManualBackup(env: Env, now: Date, chunkBytes?: number, origin?: string): Promise<ManualStart> {
	for (let attempt = 0; attempt < 2; attempt++) {
		const id = buildManualRunId(now, randomSuffix());
		if (await insertRunIfIdle(env.DB, id, "manual", now.toISOString())) {
			const params: BackupParams = {
				trigger: "manual",
				requestedAt: now.getTime(),
				...(chunkBytes ? { chunkBytes } : {}),
				...(origin ? { origin } : {}),
			};
			try {
				await env.BACKUP_WORKFLOW.create({ id, params });
			} catch (err) {
				await markRunFinished(env.DB, {
					id,
					trigger: "manual",
					status: "failed",
					stage: "queued",
					startedAt: now.toISOString(),
					finishedAt: now.toISOString(),
					snapshotId: null,
					rows: 0,
					bytes: 0,
					chunks: 0,
					error: `could not start the workflow: ${describeError(err)}`,
				});
				throw err;
			}
			logEvent("backup_started", { runId: id, trigger: "manual" });
			return { started: true, id };
		}
		// Another run is active: a stale one is failed by reconcileRun, then we try once more.
		let blocking: BackupRun | undefined;
		for (const run of await fetchActiveRuns(env.DB)) {
			const r = await reconcileRun(env, run, now);
			if (r.status === "queued" || r.status === "running") blocking ??= r;
		}
		if (blocking) return { started: false, runningId: blocking.id };
	}
	const active = await fetchActiveRuns(env.DB);
	return { started: false, runningId: active[0]?.id ?? "unknown" };
}

/**
 * The daily backup for the cron's scheduled time. Idempotent per day: the instance id is the
 * day, so a duplicate delivery finds the instance and only logs it.
 */
export async function startScheduledBackup(env: Env, scheduledTime: number): Promise<{ id: string; duplicate: boolean }> {
	const id = buildScheduledRunId(scheduledTime);
	if (await instanceExists(env, id)) {
		logEvent("backup_cron_duplicate", { runId: id });
		return { id, duplicate: true };
	}
	await insertRunOnce(env.DB, id, "scheduled", new Date(scheduledTime).toISOString());
	try {
		const params: BackupParams = { trigger: "scheduled", requestedAt: scheduledTime };
		await env.BACKUP_WORKFLOW.create({ id, params });
	} catch (err) {
		// Two deliveries racing: the other one created it.
		if (await instanceExists(env, id)) {
			logEvent("backup_cron_duplicate", { runId: id });
			return { id, duplicate: true };
		}
		// The Workflow could not even start: nothing else would tell anyone until the dead man's
		// switch, a day later. Record the failed run and alert now, then fail the cron invocation.
		await reportStartFailure(env, id, scheduledTime, err);
		throw err;
	}
	logEvent("backup_started", { runId: id, trigger: "scheduled" });
	return { id, duplicate: false };
}

async function reportStartFailure(env: Env, id: string, scheduledTime: number, err: unknown): Promise<void> {
	const error = describeError(err);
	const at = new Date(scheduledTime);
	logError("backup_start_failed", { runId: id, error });
	await markRunFinished(env.DB, {
		id,
		trigger: "scheduled",
		status: "failed",
		stage: "start",
		startedAt: at.toISOString(),
		finishedAt: at.toISOString(),
		snapshotId: null,
		rows: 0,
		bytes: 0,
		chunks: 0,
		error,
	}).catch((e: unknown) => logError("backup_start_failure_not_recorded", { runId: id, error: describeError(e) }));
	// sendEvent records deliveries and never throws.
	await sendEvent(env, { type: "backup_failed", runId: id, trigger: "scheduled", stage: "start", error, attempt: 1, at: at.toISOString() }, at);
}

async function instanceExists(env: Env, id: string): Promise<boolean> {
	try {
		await env.BACKUP_WORKFLOW.get(id);
		return true;
	} catch {
		return false;
	}
}

/** A run's current state (reconciled with its Workflow), or null when unknown. */
export async function fetchBackupRun(env: Env, id: string, now: Date): Promise<BackupRun | null> {
	const run = await fetchRun(env.DB, id);
	return run ? reconcileRun(env, run, now) : null;
}
