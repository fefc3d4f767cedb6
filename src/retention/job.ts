// The retention job: lists snapshots from the snapshot store (never only D1), applies the pure
// policy of policy.ts, deletes what it may, and returns a summary for the e-mail and the dry-run endpoint.
import { getConfig } from "../config";
import { describeError, logError, logEvent } from "../log";
import { fetchCorruptSnapshotIds } from "../db/snapshot-checks";
import { sendEvent, type DeliveryReport } from "../notify/events";
import { manifestKey, parseSnapshotTime, snapshotPrefix } from "../snapshots/format";
import { planRetention, type Decision, type Freeze, type RetentionPolicy, type SafetyLimits, type SnapshotFacts } from "./policy";
import { StoreError, listKeys, listSnapshotFolders, readManifest, type ManifestKeyring, type SnapshotStore } from "../snapshots/store";
import { describeSignature, findIgnoreReason } from "../snapshots/signature";
import { primaryStore } from "../snapshots/r2-store";

export type SnapshotInventory = {
	/** Complete snapshots (readable manifest), with what the policy needs. */
	snapshots: SnapshotFacts[];
	/** Folders whose manifest exists but cannot be read: left alone, reported. */
	unreadable: Array<{ id: string; reason: string }>;
	/** Folders without a manifest (a running or failed backup): the backup's GC owns them. */
	incomplete: string[];
	totalBytes: number;
};

/**
 * Everything the policy needs, read from R2 manifests. D1 only adds one fact: snapshots the
 * latest weekly verification found corrupt are "not verified" (if D1 were lost, every
 * readable manifest counts as verified, which is what the backup guarantees when it writes one).
 */
export async function fetchSnapshotInventory(
	store: SnapshotStore,
	db: D1Database,
	keyring: ManifestKeyring,
	now: Date,
): Promise<SnapshotInventory> {
	const ids = await listSnapshotFolders(store);
	const corrupt = new Set(await fetchCorruptSnapshotIds(db));
	const inventory: SnapshotInventory = { snapshots: [], unreadable: [], incomplete: [], totalBytes: 0 };
	for (let i = 0; i < ids.length; i += 8) {
		const batch = ids.slice(i, i + 8);
		const reads = await Promise.all(batch.map((id) => readManifest(store, id, keyring)));
		reads.forEach((read, j) => {
			const id = batch[j]!;
			if (!read.ok) {
				if (read.reason === "missing") inventory.incomplete.push(id);
				else inventory.unreadable.push({ id, reason: read.message });
				return;
			}
			// A snapshot that is not authentic, or dated in the future, takes no slot and is never
			// deleted by the policy: it is reported for an administrator to look at.
			const untrusted = findIgnoreReason(read.manifest, read.signature, now);
			if (untrusted) {
				const why = untrusted === "future" ? "dated in the future" : describeSignature(untrusted);
				inventory.unreadable.push({ id, reason: why });
				return;
			}
			inventory.totalBytes += read.manifest.bytes;
			inventory.snapshots.push({
				id,
				time: parseSnapshotTime(id)!,
				verified: !corrupt.has(id),
				submissions: read.manifest.tables.submissions?.rows ?? null,
			});
		});
	}
	return inventory;
}

export type DeletionResult = { id: string; status: "removed" | "locked" | "failed"; error?: string };

/**
 * Delete one snapshot folder. The MANIFEST GOES FIRST: it is the commit point, so from the
 * moment it is gone the folder is an "incomplete snapshot" that no reader lists, verifies or
 * restores, and whose leftovers the backup's GC removes. The reverse order would leave, on an
 * interruption, a manifest pointing at missing chunks: a false corruption alarm, and a restore
 * candidate that fails. Idempotent: deleting a missing key succeeds.
 */
export async function deleteSnapshot(store: SnapshotStore, id: string): Promise<DeletionResult> {
	try {
		await store.delete([manifestKey(id)]);
	} catch (err) {
		if (err instanceof StoreError && err.code === "locked") return { id, status: "locked" };
		return { id, status: "failed", error: describeError(err) };
	}
	try {
		await store.delete(await listKeys(store, snapshotPrefix(id)));
	} catch (err) {
		// The manifest is gone: the snapshot no longer exists for any reader; GC finishes the job.
		logError("retention_chunks_left", { snapshotId: id, error: describeError(err) });
	}
	return { id, status: "removed" };
}

export type SnapshotDecision = Decision & {
	verified: boolean;
	submissions: number | null;
	/** For removals carried out (not in a dry run). */
	deletion?: DeletionResult["status"];
};

export type RetentionSummary = {
	dryRun: boolean;
	now: string;
	policy: RetentionPolicy;
	limits: SafetyLimits;
	/** Snapshots kept, and removed (in a dry run: that would be removed). */
	kept: number;
	removed: number;
	frozen: boolean;
	freeze: Freeze | null;
	held: string | null;
	/** Removals refused by an R2 store lock: reported, not an error. */
	locked: string[];
	/** Removals that failed for another reason (retried by the next run). */
	failed: string[];
	/** Newest first, with every reason. */
	snapshots: SnapshotDecision[];
	unreadable: Array<{ id: string; reason: string }>;
	incomplete: number;
	/** Delivery of the retention_frozen alert, when one was sent. */
	alert: DeliveryReport | null;
};

export type RetentionRun = {
	now: Date;
	backupStatus: "complete" | "failed";
	dryRun: boolean;
	/** The backup run that triggered it (for the freeze alert), when any. */
	runId?: string;
	/** Overrides of the configured policy (dry-run "what if"). */
	policy?: Partial<RetentionPolicy>;
	/** Defaults to primaryStore(env). Tests pass one that refuses deletions like a store lock rule. */
	store?: SnapshotStore;
};

/** List, plan, and (unless dry run, held or frozen) delete. Alerts when frozen. */
export async function runRetention(env: Env, run: RetentionRun): Promise<RetentionSummary> {
	const config = getConfig(env);
	const policy: RetentionPolicy = {
		keepDaily: run.policy?.keepDaily ?? config.KEEP_DAILY,
		keepWeekly: run.policy?.keepWeekly ?? config.KEEP_WEEKLY,
		keepMonthly: run.policy?.keepMonthly ?? config.KEEP_MONTHLY,
	};
	const limits: SafetyLimits = {
		maxRemovePct: config.RETENTION_MAX_REMOVE_PCT,
		freezeDropPct: config.RETENTION_FREEZE_DROP_PCT,
	};
	const store = run.store ?? primaryStore(env);
	const inventory = await fetchSnapshotInventory(store, env.DB, { signingKey: config.BACKUP_SIGNING_KEY }, run.now);
	const plan = planRetention({ snapshots: inventory.snapshots, policy, limits, now: run.now, backupStatus: run.backupStatus });
	const facts = new Map(inventory.snapshots.map((s) => [s.id, s]));
	const snapshots: SnapshotDecision[] = plan.decisions.map((d) => ({
		...d,
		verified: facts.get(d.id)!.verified,
		submissions: facts.get(d.id)!.submissions,
	}));

	const locked: string[] = [];
	const failed: string[] = [];
	let alert: DeliveryReport | null = null;
	if (!run.dryRun) {
		// Oldest first, one at a time: bounded work, and an interruption leaves the newest intact.
		for (const d of [...snapshots].reverse()) {
			if (d.keep) continue;
			const result = await deleteSnapshot(store, d.id);
			d.deletion = result.status;
			if (result.status === "locked") locked.push(d.id);
			if (result.status === "failed") failed.push(d.id);
			logEvent("retention_delete", { snapshotId: d.id, status: result.status, error: result.error });
		}
		if (plan.frozen) {
			alert = await sendEvent(
				env,
				{
					type: "retention_frozen",
					runId: run.runId ?? "retention",
					reason: "submissions_drop",
					dropPct: plan.frozen.dropPct,
					previousSnapshotId: plan.frozen.previous,
					snapshotId: plan.frozen.newest,
				},
				run.now,
			);
		}
	}
	const removals = snapshots.filter((d) => !d.keep);
	const summary: RetentionSummary = {
		dryRun: run.dryRun,
		now: run.now.toISOString(),
		policy,
		limits,
		kept: snapshots.length - removals.length + locked.length + failed.length,
		removed: removals.length - locked.length - failed.length,
		frozen: plan.frozen !== null,
		freeze: plan.frozen,
		held: plan.held,
		locked,
		failed,
		snapshots,
		unreadable: inventory.unreadable,
		incomplete: inventory.incomplete.length,
		alert,
	};
	logEvent("retention_done", {
		dryRun: run.dryRun,
		snapshots: snapshots.length,
		kept: summary.kept,
		removed: summary.removed,
		locked: locked.length,
		failed: failed.length,
		frozen: summary.frozen,
	});
	return summary;
}
