// After a verified backup: copy the new snapshot to the off-site replica (encrypted when
// BACKUP_AGE_RECIPIENTS is set), one Workflow step per object (plan, each chunk read, checked,
// encrypted, stored and read back, then SHA256SUMS and the manifest last), then a step that checks
// the copy's listing and one that applies the replica's own retention. Wired here, above offsite/
// and retention/. A failure throws, so that the Workflow step retries transient errors; the notify
// hook then alerts. The backup's own result never changes.
import { getConfig } from "../config";
import { logEvent } from "../log";
import { ReplicationError, SUMS_NAME, copyManifestKey, copySnapshot, listCopiedSnapshots, parseSums, type StepRunner } from "../offsite/replicate";
import { findReplica } from "../offsite/replica";
import { applyPolicy, keepNewestVerified, type SnapshotFacts } from "../retention/policy";
import { parseSnapshotTime, snapshotPrefix } from "../snapshots/format";
import { primaryStore } from "../snapshots/r2-store";
import { listKeys, type SnapshotStore } from "../snapshots/store";
import type { AfterBackupHook, HookSteps } from "../backup/outcome";

export type ReplicationResult =
	| { skipped: string }
	| { snapshotId: string; copied: boolean; objects: number; bytes: number; encrypted: boolean; removed: string[] };

/** Steps of a replication besides the chunks: plan, commit, listing check, replica retention. */
const FIXED_STEPS = 4;

/** Pure: chunks per step so that a copy of `chunks` chunks fits in `available` steps (1 when it does). */
export function planChunksPerStep(chunks: number, available: number): number {
	const room = Math.max(1, available - FIXED_STEPS);
	return Math.max(1, Math.ceil(chunks / room));
}

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

/**
 * The copy's folder as listed: exactly the objects its SHA256SUMS names plus the sums, nothing
 * missing. (Every object was read back and compared when it was stored; checkCopy re-reads them all.)
 */
async function checkCopyListing(store: SnapshotStore, snapshotId: string): Promise<void> {
	const prefix = snapshotPrefix(snapshotId);
	const listed = new Set((await store.list(prefix)).map((o) => o.key.slice(prefix.length)));
	const sums = await store.get(`${prefix}${SUMS_NAME}`);
	if (!sums) throw new ReplicationError(`the replica's copy is damaged: ${SUMS_NAME} missing`);
	const missing = [...parseSums(new TextDecoder().decode(sums.bytes)).keys()].filter((name) => !listed.has(name));
	if (missing.length > 0) throw new ReplicationError(`the replica's copy is damaged: ${missing.join(", ")} missing`);
}

const runDirectly: HookSteps = { do: (_name, fn) => fn(), available: Number.POSITIVE_INFINITY };

export const replicateHook: AfterBackupHook = {
	name: "replicate",
	multiStep: true,
	async run(env, outcome, _earlier, steps: HookSteps = runDirectly): Promise<ReplicationResult> {
		// Outside any step (replayed): reads nothing but the configuration.
		const config = getConfig(env);
		const replica = findReplica(config);
		if (!replica) return { skipped: "no off-site replica configured" };
		if (outcome.status !== "complete" || !outcome.snapshotId) return { skipped: "the backup failed: nothing to copy" };
		const snapshotId = outcome.snapshotId;
		const run: StepRunner = (name, fn) => steps.do(name, fn);
		const chunks = outcome.manifest?.chunks.length ?? 0;
		const copy = await copySnapshot(
			primaryStore(env),
			replica.store,
			snapshotId,
			{
				keyring: { signingKey: config.BACKUP_SIGNING_KEY },
				encrypt: replica.encrypt,
				...(outcome.manifest ? { manifest: outcome.manifest } : {}),
				chunksPerUnit: planChunksPerStep(chunks, steps.available),
			},
			run,
		);
		await run("check", () => checkCopyListing(replica.store, snapshotId).then(() => true));
		const removed = await run("retention", async () => {
			const ids = await pruneReplica(
				replica.store,
				{ keepDaily: config.OFFSITE_KEEP_DAILY, keepWeekly: config.OFFSITE_KEEP_WEEKLY, keepMonthly: config.OFFSITE_KEEP_MONTHLY },
				new Date(outcome.finishedAt),
			);
			logEvent("replica_done", { runId: outcome.runId, snapshotId: copy.snapshotId, copied: copy.copied, objects: copy.objects, bytes: copy.bytes, encrypted: copy.encrypted, removed: ids.length });
			return ids;
		});
		return { ...copy, removed };
	},
};
