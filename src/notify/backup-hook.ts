// The "notify" after-backup hook: turns a BackupOutcome (plus retention's result) into a
// backup_succeeded / backup_failed event and sends it. Registered last in afterBackupHooks.
// The previous readable manifest says what changed (success) or which backup is still good (failure).
import type { AfterBackupHook, BackupOutcome } from "../backup/outcome";
import type { Manifest } from "../snapshots/format";
import { listSnapshotFolders, readManifest, type SnapshotStore } from "../snapshots/store";
import { describeError, logEvent } from "../log";
import { sendEvent, type BackupFailedEvent, type BackupSucceededEvent, type Verdict } from "./events";
import { primaryStore } from "../snapshots/r2-store";

/** How many older snapshot folders to look through for the previous readable manifest. */
const PREVIOUS_LOOKBACK = 10;

/** Sorts after every snapshot id: "the newest manifest of all" for fetchPreviousManifest. */
const LATEST = "\uffff";

/** Pure: retention's hook result -> the event's retention field (null when absent, skipped or failed). */
export function parseRetentionResult(value: unknown): BackupSucceededEvent["retention"] {
	if (!value || typeof value !== "object") return null;
	const r = value as Record<string, unknown>;
	if (typeof r.kept !== "number" || typeof r.removed !== "number") return null;
	return { kept: r.kept, removed: r.removed, frozen: r.frozen === true };
}

/** Pure: submissions added between two snapshots; null without a previous snapshot. */
export function countNewSubmissions(current: Manifest, previous: Manifest | undefined): number | null {
	if (!previous) return null;
	return (current.tables.submissions?.rows ?? 0) - (previous.tables.submissions?.rows ?? 0);
}

/** Pure: the verdict hook's result, when it is one (a failed or missing hook gives none). */
export function parseVerdict(value: unknown): Verdict | undefined {
	if (!value || typeof value !== "object") return undefined;
	const v = value as Partial<Verdict>;
	const levels = ["ok", "warning", "problem"];
	if (!levels.includes(v.level as string) || !Array.isArray(v.reasons) || !v.label || !v.summary) return undefined;
	return v as Verdict;
}

/** Pure: a manifest's row counts by table. */
function tableCounts(m: Manifest): Record<string, number> {
	return Object.fromEntries(Object.entries(m.tables).map(([t, s]) => [t, s.rows]));
}

/**
 * Pure: the event a backup outcome produces. `previous` is the newest readable manifest before
 * this run's (undefined when there is none, or when it could not be read: then a failure's
 * e-mail says nothing about it rather than "no backup exists").
 */
export function buildBackupEvent(
	outcome: BackupOutcome,
	previous: Manifest | undefined,
	earlier: Record<string, unknown>,
	previousKnown = true,
): BackupSucceededEvent | BackupFailedEvent {
	const m = outcome.manifest;
	if (outcome.status === "complete" && m) {
		return {
			type: "backup_succeeded",
			runId: outcome.runId,
			trigger: outcome.trigger,
			snapshotId: m.snapshotId,
			startedAt: outcome.startedAt,
			tables: tableCounts(m),
			newSubmissions: countNewSubmissions(m, previous),
			previousTables: previous ? tableCounts(previous) : null,
			bytes: m.bytes,
			durationMs: Math.max(0, Date.parse(outcome.finishedAt) - Date.parse(outcome.startedAt)),
			retention: parseRetentionResult(earlier.retention),
		};
	}
	return {
		type: "backup_failed",
		runId: outcome.runId,
		trigger: outcome.trigger,
		stage: outcome.stage ?? "unknown",
		error: outcome.error ?? (outcome.status === "complete" ? "complete without a manifest" : "unknown error"),
		attempt: outcome.attempt ?? 1,
		...(outcome.failedStep ? { failedStep: outcome.failedStep } : {}),
		at: outcome.scheduledTime,
		...(previousKnown
			? { lastGood: previous ? { finishedAt: previous.finishedAt, submissions: previous.tables.submissions?.rows ?? null } : null }
			: {}),
	};
}

/** The newest readable manifest older than `snapshotId`, looking back a bounded number of folders. */
export async function fetchPreviousManifest(store: SnapshotStore, snapshotId: string): Promise<Manifest | undefined> {
	const older = (await listSnapshotFolders(store)).filter((id) => id < snapshotId).reverse();
	for (const id of older.slice(0, PREVIOUS_LOOKBACK)) {
		const read = await readManifest(store, id);
		if (read.ok) return read.manifest;
	}
	return undefined;
}

export const notifyHook: AfterBackupHook = {
	name: "notify",
	async run(env, outcome, earlier) {
		// The newest manifest before this run's: what changed since (success), or the backup that is
		// still good (failure). A read failure must not stop the e-mail: it then says less.
		let previousKnown = true;
		const before = outcome.status === "complete" && outcome.manifest ? outcome.manifest.snapshotId : LATEST;
		const previous = await fetchPreviousManifest(primaryStore(env), before).catch((err) => {
			logEvent("notify_previous_unavailable", { runId: outcome.runId, error: describeError(err) });
			previousKnown = false;
			return undefined;
		});
		const verdict = parseVerdict(earlier.verdict);
		const event = { ...buildBackupEvent(outcome, previous, earlier, previousKnown), ...(verdict ? { verdict } : {}) };
		const context = outcome.origin ? { origin: outcome.origin } : {};
		const report = await sendEvent(env, event, new Date(outcome.finishedAt), context);
		// A failed copy outside Cloudflare alerts like a failed backup, in its own message.
		const replication = earlier.replicate as { error?: unknown } | undefined;
		if (outcome.status === "complete" && outcome.snapshotId && replication && typeof replication.error === "string") {
			await sendEvent(
				env,
				{ type: "replication_failed", runId: outcome.runId, snapshotId: outcome.snapshotId, error: replication.error },
				new Date(outcome.finishedAt),
				context,
			);
		}
		// Small and JSON-serialisable: the workflow stores it in backup_runs.details.
		return report;
	},
};
