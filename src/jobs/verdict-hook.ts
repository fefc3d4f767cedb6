// The "verdict" after-backup hook, just before the notice: the state of the whole backup system
// after this run (src/monitor/verdict.ts), which the notice shows first. Wired here because it
// reads monitor/ and the notice lives in notify/, below it. Its result is the verdict itself.
import type { AfterBackupHook } from "../backup/outcome";
import { getConfig } from "../config";
import { findReplica } from "../offsite/replica";
import { fetchNoticeVerdict, type NoticeFacts } from "../monitor/notice-verdict";

/** Pure: what the replicate hook's result says about the copy outside Cloudflare (see ReplicationResult). */
export function offsiteFromReplication(configured: boolean, result: unknown, finishedAt: string): NoticeFacts["offsite"] {
	if (!configured) return null;
	const r = (result ?? {}) as Record<string, unknown>;
	if (typeof r.error === "string") return { newest: null, stale: true, error: r.error, copyFailed: true };
	if (typeof r.snapshotId === "string") return { newest: { at: finishedAt }, stale: false, error: null };
	// Skipped (the backup failed) or absent: not known here.
	return undefined;
}

export const verdictHook: AfterBackupHook = {
	name: "verdict",
	async run(env, outcome, earlier) {
		const config = getConfig(env);
		const now = new Date(outcome.finishedAt);
		const m = outcome.status === "complete" ? outcome.manifest : undefined;
		return (
			(await fetchNoticeVerdict(env, config, now, {
				// Named by its scheduled (or request) time, as the notice's subject names it.
				lastRun: { status: outcome.status, startedAt: outcome.scheduledTime, finishedAt: outcome.finishedAt },
				// This run's manifest is the newest verified backup; after a failure, R2 says which is.
				...(m ? { newest: { snapshotId: m.snapshotId, finishedAt: m.finishedAt } } : {}),
				offsite: offsiteFromReplication(findReplica(config) !== null, earlier.replicate, outcome.finishedAt),
			})) ?? null
		);
	},
};
