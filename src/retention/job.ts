// The retention job: lists snapshots from R2 (never only D1), applies the pure policy of
// retention.ts, deletes what it may, and returns a summary for the e-mail and the dry-run endpoint.
import { getConfig } from "../config";
import { describeError, logError, logEvent } from "../log";
import { fetchCorruptSnapshotIds } from "../db/snapshot-checks";
import { sendEvent, type DeliveryReport } from "../notify/events";
import type { AfterBackupHook, BackupOutcome } from "../jobs/after-backup";
import { manifestKey, parseSnapshotTime, snapshotPrefix } from "../snapshots/format";
import { planRetention, type Decision, type Freeze, type RetentionPolicy, type SafetyLimits, type SnapshotFacts } from "./policy";
import { listSnapshotFolders, readManifest } from "../snapshots/store";

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
export async function fetchSnapshotInventory(bucket: R2Bucket, db: D1Database): Promise<SnapshotInventory> {
	const ids = await listSnapshotFolders(bucket);
	const corrupt = new Set(await fetchCorruptSnapshotIds(db));
	const inventory: SnapshotInventory = { snapshots: [], unreadable: [], incomplete: [], totalBytes: 0 };
	for (let i = 0; i < ids.length; i += 8) {
		const batch = ids.slice(i, i + 8);
		const reads = await Promise.all(batch.map((id) => readManifest(bucket, id)));
		reads.forEach((read, j) => {
			const id = batch[j]!;
			if (!read.ok) {
				if (read.reason === "missing") inventory.incomplete.push(id);
				else inventory.unreadable.push({ id, reason: read.message });
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

/**
 * Pure: is this error R2 refusing a deletion because of a bucket lock rule? The Workers API puts
 * R2's code at the end of the message ("delete: … (10003)"); a lock refusal is an access-denied
 * (the binding itself has full rights, so a 403 on delete can only come from a lock rule).
 */
export function isLockedError(err: unknown): boolean {
	const message = err instanceof Error ? err.message : String(err);
	return /\block(ed)?\b|retention|object ?lock|access ?denied|\(10003\)/i.test(message);
}

export type DeletionResult = { id: string; status: "removed" | "locked" | "failed"; error?: string };

/**
 * Delete one snapshot folder. The MANIFEST GOES FIRST: it is the commit point, so from the
 * moment it is gone the folder is an "incomplete snapshot" that no reader lists, verifies or
 * restores, and whose leftovers the backup's GC removes. The reverse order would leave, on an
 * interruption, a manifest pointing at missing chunks: a false corruption alarm, and a restore
 * candidate that fails. Idempotent: deleting a missing key succeeds.
 */
export async function deleteSnapshot(bucket: R2Bucket, id: string): Promise<DeletionResult> {
	try {
		await bucket.delete(manifestKey(id));
	} catch (err) {
		if (isLockedError(err)) return { id, status: "locked" };
		return { id, status: "failed", error: describeError(err) };
	}
	try {
		let cursor: string | undefined;
		for (let page = 0; page < 10_000; page++) {
			const listed = await bucket.list({ prefix: snapshotPrefix(id), cursor, limit: 1000 });
			if (listed.objects.length > 0) await bucket.delete(listed.objects.map((o) => o.key));
			if (!listed.truncated) break;
			cursor = listed.cursor;
		}
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
	/** Removals refused by an R2 bucket lock: reported, not an error. */
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
	/** Defaults to env.R2_BUCKET. Tests pass one that refuses deletions like a bucket lock rule. */
	bucket?: R2Bucket;
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
	const bucket = run.bucket ?? env.R2_BUCKET;
	const inventory = await fetchSnapshotInventory(bucket, env.DB);
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
			const result = await deleteSnapshot(bucket, d.id);
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
		return runRetention(env, {
			now: new Date(outcome.finishedAt),
			backupStatus: outcome.status,
			dryRun: false,
			runId: outcome.runId,
		});
	},
};
