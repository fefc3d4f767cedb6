// After a verified backup: copy the new snapshot to the off-site replica (encrypted when
// BACKUP_AGE_RECIPIENTS is set), check every object there, then apply the replica's own retention.
// Wired here, above offsite/ and retention/. A failure throws, so that the Workflow step retries
// transient errors; the notify hook then alerts. The backup's own result never changes.
import { getConfig } from "../config";
import { logEvent } from "../log";
import { ReplicationError, checkCopy, copyManifestKey, copySnapshot, listCopiedSnapshots } from "../offsite/replicate";
import { findReplica } from "../offsite/replica";
import { applyPolicy, keepNewestVerified, type SnapshotFacts } from "../retention/policy";
import { parseSnapshotTime, snapshotPrefix } from "../snapshots/format";
import { primaryStore } from "../snapshots/r2-store";
import { listKeys, type SnapshotStore } from "../snapshots/store";
import type { AfterBackupHook } from "../backup/outcome";

export type ReplicationResult =
	| { skipped: string }
	| { snapshotId: string; copied: boolean; objects: number; bytes: number; encrypted: boolean; removed: string[] };

/** The replica's retention: the primary's policy code with the replica's own counts. */
async function pruneReplica(store: SnapshotStore, policy: { keepDaily: number; keepWeekly: number; keepMonthly: number }, now: Date): Promise<string[]> {
	const ids = await listCopiedSnapshots(store);
	const facts: SnapshotFacts[] = ids.map((id) => ({ id, time: parseSnapshotTime(id)!, verified: true, tables: {} }));
	const decisions = keepNewestVerified(applyPolicy(facts, policy, now), facts, now);
	const removed: string[] = [];
	for (const d of decisions) {
		if (d.keep) continue;
		// The commit point first (both spellings), then the rest: an interruption leaves an
		// incomplete folder, never a manifest over missing chunks.
		await store.delete([copyManifestKey(d.id, true), copyManifestKey(d.id, false)]);
		await store.delete(await listKeys(store, snapshotPrefix(d.id)));
		removed.push(d.id);
	}
	return removed;
}

export const replicateHook: AfterBackupHook = {
	name: "replicate",
	async run(env, outcome): Promise<ReplicationResult> {
		const config = getConfig(env);
		const replica = findReplica(config);
		if (!replica) return { skipped: "no off-site replica configured" };
		if (outcome.status !== "complete" || !outcome.snapshotId) return { skipped: "the backup failed: nothing to copy" };
		const copy = await copySnapshot(primaryStore(env), replica.store, outcome.snapshotId, {
			keyring: { signingKey: config.BACKUP_SIGNING_KEY },
			encrypt: replica.encrypt,
		});
		const problems = await checkCopy(replica.store, outcome.snapshotId);
		if (problems.length > 0) {
			throw new ReplicationError(`the replica's copy is damaged: ${problems.map((p) => `${p.object} ${p.reason}`).join(", ")}`);
		}
		const removed = await pruneReplica(
			replica.store,
			{ keepDaily: config.OFFSITE_KEEP_DAILY, keepWeekly: config.OFFSITE_KEEP_WEEKLY, keepMonthly: config.OFFSITE_KEEP_MONTHLY },
			new Date(outcome.finishedAt),
		);
		logEvent("replica_done", { runId: outcome.runId, snapshotId: copy.snapshotId, copied: copy.copied, objects: copy.objects, bytes: copy.bytes, encrypted: copy.encrypted, removed: removed.length });
		return { ...copy, removed };
	},
};
