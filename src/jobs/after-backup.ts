// Hooks run by the BackupWorkflow after every backup run, success OR failure, in this order.
// Each hook runs in its own Workflow step (retried with backoff); its failure never changes the
// backup's outcome, and its result (or error) is recorded in backup_runs.details.
import type { Manifest } from "../snapshots/format";
import { retentionHook } from "../retention/job";
import { restoreUndoCleanupHook } from "./restore-undo-hook";
import { notifyHook } from "../notify/backup-hook";

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
	/** ISO 8601 times. */
	startedAt: string;
	finishedAt: string;
	/** The scheduled (cron) or request time that started the run, ISO 8601. */
	scheduledTime: string;
};

/**
 * Contract: `run` must be idempotent for a given outcome (a step may be retried after a partial
 * run), must not log personal data, and must return a small JSON-serialisable value (a
 * Workflow step result). `earlier` holds the results of the hooks that ran before it, by name
 * (a hook that failed appears as `{ error }`), e.g. the notifier reads what retention removed.
 */
export type AfterBackupHook = {
	name: string;
	run(env: Env, outcome: BackupOutcome, earlier: Record<string, unknown>): Promise<unknown>;
};

/** Ordered: retention, restore-undo cleanup, notify — one line each, registered by their owners. */
export const afterBackupHooks: AfterBackupHook[] = [
	retentionHook, // first: the notifier reports what it kept and removed
	restoreUndoCleanupHook, // drops the data kept by the last replace once a backup holds the current data
	notifyHook, // last: sends backup succeeded/failed with the earlier hooks' results
];
