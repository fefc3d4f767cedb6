// After-backup hook "restore-undo-cleanup": once a backup has SUCCEEDED, the data kept by the
// last replace (restore_undo_* tables) is dropped; until then POST /api/admin/restore/undo works.
import type { AfterBackupHook } from "./after-backup";
import { dropUndoCopies } from "../restore/load";

export const restoreUndoCleanupHook: AfterBackupHook = {
	name: "restore-undo-cleanup",
	async run(env, outcome) {
		// A failed backup does not hold the current data: keep the undo copy.
		if (outcome.status !== "complete") return { skipped: "backup failed" };
		// Only replaces finished before this backup started are covered by it (idempotent).
		const released = await dropUndoCopies(env.DB, outcome.startedAt);
		return { released };
	},
};
