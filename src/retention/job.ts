// The retention job: lists snapshots from the snapshot store (never only D1), reads the pins (D1 + mirror),
// erasures and running readers, applies the pure plan of policy.ts, stores a new pin BEFORE any
// deletion, deletes what it may, and returns a summary for the e-mail and the dry-run endpoint.
import { getConfig } from "../config";
import { describeError, logError, logEvent } from "../log";
import { fetchCorruptSnapshotIds } from "../db/snapshot-checks";
import { deleteCatalogueEntries } from "../db/snapshot-catalogue";
import { CatalogueUnavailable, reconcileCatalogue } from "../catalogue/catalogue";
import { manifestKey, parseSnapshotTime, snapshotPrefix } from "../snapshots/format";
import { fetchErasureTimes } from "../db/erasures";
import { markPinAlerted, type PinRecord } from "../db/retention-pins";
import { fetchRunningReaders } from "../db/snapshot-readers";
import {
	planRetention,
	type Decision,
	type RetentionPolicy,
	type SafetyLimits,
	type SnapshotFacts,
	type SnapshotReader,
} from "./policy";
import { buildPinView, type PinView } from "./pin-text";
import { fetchKnownPins, storePin, syncPins } from "./pins";
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
 * Everything the policy needs, from the snapshot catalogue reconciled against the bucket: one
 * listing, a HEAD of every catalogued manifest (so that one removed behind the catalogue's back is
 * never counted as kept), and a read of every manifest the catalogue does not know. D1 adds one
 * more fact: snapshots the latest weekly verification found corrupt are "not verified". If the
 * catalogue cannot be read, every manifest is read from the bucket (the source of truth).
 */
export async function fetchSnapshotInventory(
	store: SnapshotStore,
	db: D1Database,
	keyring: ManifestKeyring,
	now: Date,
): Promise<SnapshotInventory> {
	const corrupt = new Set(await fetchCorruptSnapshotIds(db));
	const view = await reconcileCatalogue(store, db, keyring, now, { maxReads: Number.POSITIVE_INFINITY, heads: "all" }).catch(
		(err: unknown) => {
			if (!(err instanceof CatalogueUnavailable)) throw err;
			logError("catalogue_unavailable", { error: describeError(err) });
			return null;
		},
	);
	if (!view) return fetchInventoryFromStore(store, corrupt, keyring, now);
	const inventory: SnapshotInventory = { snapshots: [], unreadable: [...view.unreadable], incomplete: [...view.incomplete], totalBytes: 0 };
	for (const e of [...view.entries].reverse()) {
		// A snapshot that is not authentic, or dated in the future, takes no slot and is never
		// deleted by the policy: it is reported for an administrator to look at.
		const untrusted = findIgnoreReason(e, e.signature, now);
		if (untrusted) {
			inventory.unreadable.push({ id: e.snapshotId, reason: untrusted === "future" ? "dated in the future" : describeSignature(untrusted) });
			continue;
		}
		inventory.totalBytes += e.bytes;
		inventory.snapshots.push(buildFacts(e.snapshotId, e.startedAt, e.finishedAt, e.tables, corrupt));
	}
	return inventory;
}

function buildFacts(id: string, started: string, finished: string, tables: Record<string, number>, corrupt: Set<string>): SnapshotFacts {
	const startedAt = new Date(started);
	const finishedAt = new Date(finished);
	return {
		id,
		time: parseSnapshotTime(id)!,
		verified: !corrupt.has(id),
		tables,
		...(Number.isNaN(startedAt.getTime()) ? {} : { startedAt }),
		...(Number.isNaN(finishedAt.getTime()) ? {} : { finishedAt }),
	};
}

/** The inventory read from every manifest in the bucket (when the catalogue cannot be used). */
async function fetchInventoryFromStore(store: SnapshotStore, corrupt: Set<string>, keyring: ManifestKeyring, now: Date): Promise<SnapshotInventory> {
	const ids = await listSnapshotFolders(store);
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
			const untrusted = findIgnoreReason(read.manifest, read.signature, now);
			if (untrusted) {
				const why = untrusted === "future" ? "dated in the future" : describeSignature(untrusted);
				inventory.unreadable.push({ id, reason: why });
				return;
			}
			const m = read.manifest;
			inventory.totalBytes += m.bytes;
			const tables = Object.fromEntries(Object.entries(m.tables).map(([t, v]) => [t, v.rows]));
			inventory.snapshots.push(buildFacts(id, m.startedAt, m.finishedAt, tables, corrupt));
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
	/** True while at least one pin holds snapshots (the success e-mail says so). */
	frozen: boolean;
	/** Pins holding snapshots now (the new one included), newest first. */
	pins: PinView[];
	/** The pin this run created (in a dry run: would create), when a loss was just seen. */
	newPin: PinView | null;
	held: string | null;
	/** Snapshots kept because a running restore or verification may be reading them. */
	readers: SnapshotReader[];
	/** Removals refused by an R2 bucket lock: reported, not an error. */
	locked: string[];
	/** Removals that failed for another reason (retried by the next run). */
	failed: string[];
	/** Newest first, with every reason. */
	snapshots: SnapshotDecision[];
	unreadable: Array<{ id: string; reason: string }>;
	incomplete: number;
	/** Delivery of the retention_frozen alert for a new pin, when one was sent. */
	alert: AlertDelivery | null;
};

/** The alert a new pin raises (the notify layer turns it into its retention_frozen event). */
export type PinAlert = {
	type: "retention_frozen";
	runId: string;
	reason: "data_loss";
	dropPct: number | null;
	previousSnapshotId: string | null;
	snapshotId: string;
};

/** What the sender says of one alert: `delivered` when at least one channel accepted it. */
export type AlertDelivery = { delivered: boolean } & Record<string, unknown>;

export type RetentionRun = {
	now: Date;
	backupStatus: "complete" | "failed";
	dryRun: boolean;
	/** The backup run that triggered it (for the alert), when any. */
	runId?: string;
	/** Overrides of the configured policy (dry-run "what if"). */
	policy?: Partial<RetentionPolicy>;
	/** Defaults to primaryStore(env). Tests pass one that refuses deletions like a store lock rule. */
	store?: SnapshotStore;
	/**
	 * Sends a pin's alert (wired by the layer above: src/jobs/after-backup.ts). Without it no alert
	 * is sent and the pin stays "not alerted", so the next run with a sender alerts.
	 */
	sendAlert?: (alert: PinAlert) => Promise<AlertDelivery>;
};

/** Workflow statuses after which an instance reads nothing any more. */
const ENDED = new Set(["errored", "terminated", "complete"]);

/** A run younger than this is trusted without asking its Workflow (it may not be created yet). */
const READER_GRACE_MS = 3_600_000;

/**
 * Runs that may be reading snapshots now: restores queued or running and verifications running in
 * D1, except an older-than-an-hour row whose Workflow instance has ended or does not exist (a run
 * that died without recording its outcome must not hold retention forever). A verification's
 * snapshot list is not in D1, so a running one holds every snapshot (`snapshotId` null).
 */
export async function fetchLiveReaders(env: Env, now: Date): Promise<SnapshotReader[]> {
	const { restores, verifications } = await fetchRunningReaders(env.DB);
	const alive = async (workflow: Workflow, id: string, since: string): Promise<boolean> => {
		if (now.getTime() - Date.parse(since) < READER_GRACE_MS) return true;
		try {
			// A run too long for one instance goes on in chained ones (`<id>-part2`…, output
			// { status: "continued", next }): it is alive while the last of its chain is.
			let at = id;
			for (let link = 0; link < 64; link++) {
				const s = await (await workflow.get(at)).status();
				const output = s.output as { status?: unknown; next?: unknown } | undefined;
				if (s.status !== "complete" || output?.status !== "continued" || typeof output.next !== "string") return !ENDED.has(s.status);
				at = output.next;
			}
			return true;
		} catch {
			return false;
		}
	};
	const readers: SnapshotReader[] = [];
	for (const r of restores) {
		if (await alive(env.RESTORE_WORKFLOW, r.id, r.requestedAt)) readers.push({ kind: "restore", runId: r.id, snapshotId: r.snapshotId });
	}
	for (const v of verifications) {
		if (await alive(env.VERIFY_WORKFLOW, v.id, v.startedAt)) readers.push({ kind: "verification", runId: v.id, snapshotId: null });
	}
	return readers;
}

/** Pure: the retention_frozen alert's "drop in submissions" (percent lost), null when submissions lost nothing. */
function submissionsDropPct(pin: PinRecord): number | null {
	const t = pin.tables.find((l) => l.table === "submissions");
	return t && t.from > 0 ? Math.round((t.lost * 1000) / t.from) / 10 : null;
}

/**
 * List, detect, plan, and (unless dry run) store a new pin, alert, then delete. The pin is stored
 * before any deletion: if storing it fails, the run fails and nothing is deleted.
 */
export async function runRetention(env: Env, run: RetentionRun): Promise<RetentionSummary> {
	const config = getConfig(env);
	const policy: RetentionPolicy = {
		keepDaily: run.policy?.keepDaily ?? config.KEEP_DAILY,
		keepWeekly: run.policy?.keepWeekly ?? config.KEEP_WEEKLY,
		keepMonthly: run.policy?.keepMonthly ?? config.KEEP_MONTHLY,
	};
	const limits: SafetyLimits = { maxRemovePct: config.RETENTION_MAX_REMOVE_PCT };
	const store = run.store ?? primaryStore(env);
	const inventory = await fetchSnapshotInventory(store, env.DB, { signingKey: config.BACKUP_SIGNING_KEY }, run.now);
	const [known, erasures, readers] = await Promise.all([
		// The mirror is read from the real bucket even when a test wraps it.
		fetchKnownPins(primaryStore(env), env.DB),
		fetchErasureTimes(env.DB),
		fetchLiveReaders(env, run.now),
	]);
	const plan = planRetention({
		snapshots: inventory.snapshots,
		policy,
		limits,
		now: run.now,
		backupStatus: run.backupStatus,
		pins: known.pins.map((p) => ({ ...p, released: p.releasedAt !== null })),
		erasures: erasures.map((e) => ({ at: new Date(e.at), submissions: e.submissions })),
		readers,
	});
	const newPin: PinRecord | null = plan.newPin ? { ...plan.newPin, createdAt: run.now.toISOString(), alertedAt: null, releasedAt: null } : null;
	const active = [...(newPin ? [newPin] : []), ...known.pins.filter((p) => p.releasedAt === null)];

	const facts = new Map(inventory.snapshots.map((s) => [s.id, s]));
	const snapshots: SnapshotDecision[] = plan.decisions.map((d) => ({
		...d,
		verified: facts.get(d.id)!.verified,
		submissions: facts.get(d.id)!.tables.submissions ?? null,
	}));

	const locked: string[] = [];
	const failed: string[] = [];
	let alert: AlertDelivery | null = null;
	if (!run.dryRun) {
		await syncPins(primaryStore(env), env.DB, known);
		if (newPin) {
			await storePin(primaryStore(env), env.DB, newPin);
			logEvent("retention_pinned", { pinId: newPin.id, snapshots: newPin.snapshotIds.length, tables: newPin.tables.map((t) => t.table).join(",") });
		}
		// Alert once per pin, when it is created; a delivery that failed is retried by the next run.
		for (const pin of run.sendAlert ? active.filter((p) => p.alertedAt === null) : []) {
			const report = await run.sendAlert!({
				type: "retention_frozen",
				runId: run.runId ?? "retention",
				reason: "data_loss",
				dropPct: submissionsDropPct(pin),
				previousSnapshotId: pin.lastBefore,
				snapshotId: pin.detectedIn,
			});
			if (pin === newPin) alert = report;
			if (report.delivered) await markPinAlerted(env.DB, pin.id, run.now.toISOString());
		}
		// Oldest first, one at a time: bounded work, and an interruption leaves the newest intact.
		for (const d of [...snapshots].reverse()) {
			if (d.keep) continue;
			const result = await deleteSnapshot(store, d.id);
			if (result.status === "removed") await deleteCatalogueEntries(env.DB, [d.id]);
			d.deletion = result.status;
			if (result.status === "locked") locked.push(d.id);
			if (result.status === "failed") failed.push(d.id);
			logEvent("retention_delete", { snapshotId: d.id, status: result.status, error: result.error });
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
		frozen: active.length > 0,
		pins: active.map(buildPinView),
		newPin: newPin ? buildPinView(newPin) : null,
		held: plan.held,
		readers,
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
		pins: active.length,
		newPin: newPin?.id ?? null,
	});
	return summary;
}
