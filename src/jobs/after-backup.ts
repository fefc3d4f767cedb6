// The work that follows every backup run, success OR failure, in this order: retention, the
// clean-up of the last replace's undo copy, the off-site copy, the notice. Wired here, above backup/, retention/,
// restore/ and notify/, so that none of them imports another. Each hook runs in its own Workflow
// step (retried with backoff); its failure never changes the backup's outcome, and its result (or
// error) is recorded in backup_runs.details.
import { logEvent } from "../log";
import { notifyHook } from "../notify/backup-hook";
import { sendEvent } from "../notify/events";
import type { AfterBackupHook, BackupOutcome } from "../backup/outcome";
import { dropUndoCopies } from "../restore/load";
import { runRetention } from "../retention/job";
import { replicateHook } from "./replicate";
import { verdictHook } from "./verdict-hook";
import { deleteDataLock } from "../db/data-locks";
import { acquireDataLock } from "./data-lock";

export type { AfterBackupHook, BackupOutcome };

/**
 * The "retention" after-backup hook: runs only after a complete backup (no pruning after a
 * failure), with "now" = the backup's finish time. Its result is the summary the success e-mail
 * reads ({ kept, removed, frozen, … }).
 */
export const retentionHook: AfterBackupHook = {
	name: "retention",
	async run(env: Env, outcome: BackupOutcome) {
		if (outcome.status !== "complete") {
			logEvent("retention_skipped", { runId: outcome.runId, reason: "backup_failed" });
			return { skipped: "the backup failed: no pruning", kept: null, removed: 0, frozen: false };
		}
		const now = new Date(outcome.finishedAt);
		return runRetention(env, {
			now,
			backupStatus: outcome.status,
			dryRun: false,
			runId: outcome.runId,
			sendAlert: (alert) => sendEvent(env, alert, now),
		});
	},
};

/**
 * Once a backup has SUCCEEDED, the data kept by the last replace (restore_undo_* tables) is
 * dropped; until then POST /api/admin/restore/undo works.
 */
export const restoreUndoCleanupHook: AfterBackupHook = {
	name: "restore-undo-cleanup",
	async run(env, outcome) {
		// A failed backup does not hold the current data: keep the undo copy.
		if (outcome.status !== "complete") return { skipped: "backup failed" };
		// Dropping tables is a write: under the exclusive data lock, so that no undo or erasure is
		// half way through them. Held by an undo or erasure now: skipped, the next backup does it.
		const holder = `undo-cleanup-${outcome.runId}`;
		const lock = await acquireDataLock(env, { holder, kind: "undo-cleanup" }, new Date());
		if (!lock.ok) return { skipped: `data lock held by ${lock.blocker.kind} ${lock.blocker.holder}`, released: 0 };
		try {
			// Only replaces finished before this backup started are covered by it (idempotent).
			const released = await dropUndoCopies(env.DB, outcome.startedAt);
			return { released };
		} finally {
			await deleteDataLock(env.DB, holder);
		}
	},
};

/** Ordered: retention first (the notice reports what it kept and removed), notify last. */
export const afterBackupHooks: AfterBackupHook[] = [
	retentionHook,
	restoreUndoCleanupHook, // drops the data kept by the last replace once a backup holds the current data
	replicateHook, // the copy outside Cloudflare; its failure is reported by notify, never fails the backup
	verdictHook, // the state of the whole system after this run, shown first in the notice
	notifyHook, // last: sends backup succeeded/failed (and replication failed) with the earlier hooks' results
];
