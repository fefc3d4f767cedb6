// The notification events (a typed union) and `sendEvent`, the one entry point other modules call.
// Events carry only counts, ids, sizes and durations: never submission content or e-mail addresses.
import { getConfig } from "../config";
import { deliverEvent } from "./delivery";

/** Per-table row counts, e.g. { submissions: 120, roles: 9 }. */
export type TableCounts = Record<string, number>;

/** Words in both languages of the messages and screens. */
export type Bilingual = { fr: string; en: string };

/**
 * The one verdict on the backup system (built by src/monitor/verdict.ts, shown at the top of the
 * dashboard, the CLI status and the e-mails): a level, its word, a one-line summary, and every
 * reason as one plain sentence with what to do. Declared here so that messages can carry it.
 */
export type Verdict = {
	level: "ok" | "warning" | "problem";
	/** « Tout va bien » / « Attention » / « Problème ». */
	label: Bilingual;
	/** One sentence: the newest intact backup's local date, or the worst reason. */
	summary: Bilingual;
	/** Worst first; empty when the level is "ok". */
	reasons: Array<{ code: string; level: "warning" | "problem"; text: Bilingual; action: Bilingual }>;
};

export type BackupSucceededEvent = {
	type: "backup_succeeded";
	runId: string;
	trigger: "scheduled" | "manual";
	snapshotId: string;
	/** Rows per table in the snapshot. */
	tables: TableCounts;
	/** Submissions added since the previous snapshot (negative when rows were erased), null for the first one. */
	newSubmissions: number | null;
	/** Rows per table of the previous snapshot (what changed is said in words), null for the first one. */
	previousTables?: TableCounts | null;
	/** When the backup started (ISO 8601): the date people read in the subject. */
	startedAt?: string;
	/** Stored size of the snapshot (all chunks), in bytes. */
	bytes: number;
	durationMs: number;
	/** What retention did after this backup; null when it did not run (or was not reported). */
	retention: { kept: number; removed: number; frozen: boolean } | null;
	/** The state of the whole backup system after this run, shown first (absent: not computed). */
	verdict?: Verdict;
};

export type BackupFailedEvent = {
	type: "backup_failed";
	runId: string;
	trigger: "scheduled" | "manual";
	/** The step that failed, e.g. "export", "verify", "manifest". */
	stage: string;
	/** A short, non-personal error summary (see log.ts describeError). */
	error: string;
	/** Attempt number of the failing step (1-based). */
	attempt: number;
	/** Optional override of the advice shown to the administrator; templates supply a default per stage. */
	advice?: string;
	/** The Workflow step that failed (e.g. "write chunk 3"), when known: the e-mail says what failed in words. */
	failedStep?: string;
	/** When the backup was started or scheduled (ISO 8601): the date people read in the subject. */
	at?: string;
	/** The newest backup that did succeed, untouched by this failure; null: none exists; absent: not looked up. */
	lastGood?: { finishedAt: string; submissions: number | null } | null;
	/** The state of the whole backup system after this failure, shown first (absent: not computed). */
	verdict?: Verdict;
};

export type BackupStaleEvent = {
	type: "backup_stale";
	/** Age of the newest verified snapshot (or time watched without any), in whole hours. */
	ageHours: number;
	thresholdHours: number;
	/** Newest verified snapshot, or null when there is none at all. */
	newest: { snapshotId: string; finishedAt: string } | null;
	/** The state of the whole backup system, shown first (absent: not computed). */
	verdict?: Verdict;
};

export type BackupRecoveredEvent = {
	type: "backup_recovered";
	ageHours: number;
	thresholdHours: number;
	newest: { snapshotId: string; finishedAt: string };
	/** When the stale condition started (ISO time), if known. */
	staleSince: string | null;
};

export type WeeklyReportEvent = {
	type: "weekly_report";
	runId: string;
	/** Snapshots whose chunks were re-read and checked. */
	snapshotsChecked: number;
	snapshotsOk: number;
	/** Every corrupt object found: snapshot, chunk key (null = the manifest), reason. */
	corrupt: Array<{ snapshotId: string; chunk: string | null; reason: string }>;
	/** The restore drill into a scratch database; null when it did not run. */
	drill: {
		ok: boolean;
		snapshotId: string | null;
		rows: number | null;
		durationMs: number | null;
		error: string | null;
	} | null;
	counts: { snapshots: number; totalBytes: number; submissions: number | null };
	/**
	 * What share of the retained snapshots' chunks was re-read (the rest in the coming weeks), as a
	 * sentence per language; absent in reports of older versions.
	 */
	coverage?: { fr: string; en: string } | null;
};

export type RetentionFrozenEvent = {
	type: "retention_frozen";
	runId: string;
	/** Short machine-readable reason, e.g. "submissions_drop" or "max_remove". */
	reason: string;
	/** Percentage by which submissions dropped between the two newest snapshots (null if n/a). */
	dropPct: number | null;
	/** Snapshot ids involved (previous and newest), when relevant. */
	previousSnapshotId?: string | null;
	snapshotId?: string | null;
};

export type VerificationFailedEvent = {
	type: "verification_failed";
	runId: string;
	snapshotId: string;
	/** Chunk key, or null when the manifest itself is bad. */
	chunk: string | null;
	reason: string;
};

export type ReplicaStaleEvent = {
	type: "replica_stale";
	/** Age of the replica's newest snapshot in whole hours (null: none, or unreadable). */
	ageHours: number | null;
	thresholdHours: number;
	newest: { snapshotId: string; at: string } | null;
	/** Why the replica could not be read, when it could not (no secret in it). */
	error: string | null;
};

export type ReplicationFailedEvent = {
	type: "replication_failed";
	runId: string;
	/** The snapshot that could not be copied outside Cloudflare (it is safe in R2). */
	snapshotId: string;
	/** Short error summary, no personal data. */
	error: string;
};

export type NotifyEvent =
	| ReplicaStaleEvent
	| ReplicationFailedEvent
	| BackupSucceededEvent
	| BackupFailedEvent
	| BackupStaleEvent
	| BackupRecoveredEvent
	| WeeklyReportEvent
	| RetentionFrozenEvent
	| VerificationFailedEvent;

export type NotifyEventType = NotifyEvent["type"];

/** Outcome of one channel (provider) for one event. */
export type ChannelResult = {
	channel: string;
	ok: boolean;
	attempts: number;
	/** Short error summary of the last attempt (never message content), null when ok. */
	error: string | null;
	durationMs: number;
};

/** What `sendEvent` returns: one entry per configured channel. Callers may store it (e.g. on the run). */
export type DeliveryReport = {
	eventType: NotifyEventType;
	at: string;
	/** True when at least one channel accepted the message, or when no channel is configured. */
	delivered: boolean;
	channels: ChannelResult[];
};

/** What a caller knows that the message can use: the deployment's address when a request is at hand. */
export type SendContext = {
	/** The deployment's origin (https://host), for the dashboard link when DASHBOARD_URL is not set. */
	origin?: string;
};

/**
 * Render `event` in the configured locale and send it to every configured channel at once.
 * Each channel is retried with backoff and bounded by a timeout; every attempt's outcome is
 * recorded in D1 `notification_log`. Never throws: a bad configuration or a failing provider
 * shows up in the returned report (and the logs), never as an exception for the caller.
 * `now` is the caller's time (scheduled time or request time), used for records only. Dates are
 * shown in TIMEZONE; the dashboard link is DASHBOARD_URL, else `<origin>/admin/` (`context`).
 */
export async function sendEvent(env: Env, event: NotifyEvent, now: Date, context: SendContext = {}): Promise<DeliveryReport> {
	return deliverEvent(env, event, now, () => getConfig(env), context);
}
