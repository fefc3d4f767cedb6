// What a backup run ends with, success OR failure, and the contract of the work that follows it
// (after-backup hooks). The hooks themselves are wired by src/jobs/after-backup.ts, the layer above
// backup, retention, restore and notify, so that none of them imports another.
import type { Manifest } from "../snapshots/format";

export type BackupOutcome = {
	/** The backup run id (= Workflow instance id, = backup_runs.id). */
	runId: string;
	trigger: "scheduled" | "manual";
	status: "complete" | "failed";
	/** Set when the manifest was written (status "complete"). */
	snapshotId?: string;
	manifest?: Manifest;
	/** Stage that failed (status "failed"): begin, export, verify, manifest, finish. */
	stage?: string;
	/** Short error summary without personal data (status "failed"). */
	error?: string;
	/** Attempts made by the failing step, when known. */
	attempt?: number;
	/** The Workflow step that failed (e.g. "write chunk 3"): says what failed, in words (src/backup/explain.ts). */
	failedStep?: string;
	/** ISO 8601 times. */
	startedAt: string;
	finishedAt: string;
	/** The scheduled (cron) or request time that started the run, ISO 8601. */
	scheduledTime: string;
	/** The deployment's origin when a request started the run (the e-mails link its dashboard). */
	origin?: string;
};

/**
 * Contract: `run` must be idempotent for a given outcome (a step may be retried after a partial
 * run), must not log personal data, and must return a small JSON-serialisable value (a
 * Workflow step result). `earlier` holds the results of the hooks that ran before it, by name
 * (a hook that failed appears as `{ error }`), e.g. the notifier reads what retention removed.
 */
export type AfterBackupHook = {
	name: string;
	/**
	 * True when the hook cuts its work into several Workflow steps through `steps`: `run` is then
	 * called outside any step and must do nothing but call `steps.do` (deterministically: the
	 * Workflow replays it), each unit returning a small result.
	 */
	multiStep?: boolean;
	run(env: Env, outcome: BackupOutcome, earlier: Record<string, unknown>, steps?: HookSteps): Promise<unknown>;
};

/** How a multi-step hook runs its units: each `do` is one Workflow step (retried on its own). */
export type HookSteps = {
	do<T>(name: string, fn: () => Promise<T>): Promise<T>;
	/** Steps this Workflow instance can still give the hook (its units are grouped to fit). */
	available: number;
};
