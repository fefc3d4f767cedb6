// The backup status shown to administrators (GET /api/admin/status) and the one-line backup
// health of GET /api/health. Reads D1 (runs, alert state, delivery log) and R2 (snapshots).
import { fetchLatestVerification } from "../db/verification-runs";
import type { Config } from "../config";
import { fetchRecentRuns, type BackupRun } from "../db/backup-runs";
import { fetchChannelLog } from "../db/notification-log";
import { buildNotifiers } from "../notify/notifier";
import { STALE_ALERT_KEY, peekAlertState, type AlertState } from "./alerts";
import { nextRunAfter } from "./schedule";
import { fetchNewestVerified, type IgnoredSnapshot, fetchSnapshotTotals } from "./snapshots";
import { CatalogueUnavailable, buildCatalogueTotals, reconcileCatalogue } from "../catalogue/catalogue";
import { computeStaleness } from "./staleness";
import { primaryStore } from "../snapshots/r2-store";
import { fetchReplicaStatus, type ReplicaStatus } from "./replica";
import { buildVerdict, type Verdict } from "./verdict";

/** The last run as shown in status: the run without its internal details. */
export type LastRun = Omit<BackupRun, "details" | "chunks" | "rowsTotal" | "failedStep">;

export type ChannelHealth = {
	channel: string;
	/** Enabled by the current configuration (false: only seen in the log). */
	configured: boolean;
	/** "ok": last delivery succeeded; "failing": it failed; "unused": nothing sent yet; "misconfigured". */
	health: "ok" | "failing" | "unused" | "misconfigured";
	lastAttemptAt: string | null;
	lastEventType: string | null;
	lastError: string | null;
	lastSuccessAt: string | null;
	failuresLast7Days: number;
};

type CorruptRef = { snapshotId: string; chunk: string | null; reason: string };

export type BackupStatus = {
	now: string;
	lastRun: LastRun | null;
	newestSnapshot: { snapshotId: string; finishedAt: string; ageHours: number } | null;
	stale: boolean;
	thresholdHours: number;
	alert: AlertState | null;
	schedule: string;
	nextScheduledRun: string | null;
	/** Counted snapshots; `ignored` lists readable ones that are not counted, and why. */
	snapshots: { count: number; totalBytes: number; ignored: IgnoredSnapshot[]; pending: number };
	/** Whether manifests are signed and checked (BACKUP_SIGNING_KEY). */
	signing: { configured: boolean };
	/** The copy outside Cloudflare (null when none is configured). */
	offsite: ReplicaStatus | null;
	channels: ChannelHealth[];
	retention: { keepDaily: number; keepWeekly: number; keepMonthly: number; freezeDropPct: number; maxRemovePct: number };
	/** The latest weekly verification (checksums of retained snapshots + restore drill), if any. */
	verification: {
		id: string;
		status: string;
		finishedAt: string | null;
		snapshotsChecked: number;
		snapshotsCorrupt: number;
		drillStatus: string | null;
		drillSnapshotId: string | null;
		corrupt: CorruptRef[];
		/** Share of the chunks re-read by that run ("12 % des morceaux relus cette semaine ; tous relus en 8 semaines"). */
		coverage: { chunksRead: number; chunksTotal: number; cycleRuns: number; fr: string; en: string } | null;
		error: string | null;
	} | null;
	/** The one verdict (« Tout va bien » / « Attention » / « Problème ») with its reasons: see verdict.ts. */
	verdict: Verdict;
};

export async function fetchLastRun(db: D1Database): Promise<LastRun | null> {
	const [run] = await fetchRecentRuns(db, 1);
	if (!run) return null;
	const { details: _details, chunks: _chunks, rowsTotal: _total, failedStep: _step, ...shown } = run;
	return shown;
}

type LogRow = { channel: string; at: string; ok: number; error: string | null; event_type: string };

/** Pure: merge configured channels with what the delivery log says about each. */
export function buildChannelHealth(input: {
	configured: string[];
	misconfigured: Array<{ channel: string; error: string }>;
	latest: LogRow[];
	lastSuccess: Array<{ channel: string; at: string }>;
	failures: Array<{ channel: string; n: number }>;
}): ChannelHealth[] {
	const names = new Set<string>([
		...input.configured,
		...input.misconfigured.map((m) => m.channel),
		...input.latest.map((l) => l.channel),
	]);
	return [...names].sort().map((channel) => {
		const latest = input.latest.find((l) => l.channel === channel);
		const problem = input.misconfigured.find((m) => m.channel === channel);
		const health: ChannelHealth["health"] = problem
			? "misconfigured"
			: !latest
				? "unused"
				: latest.ok
					? "ok"
					: "failing";
		return {
			channel,
			configured: input.configured.includes(channel),
			health,
			lastAttemptAt: latest?.at ?? null,
			lastEventType: latest?.event_type ?? null,
			lastError: problem?.error ?? (latest && !latest.ok ? latest.error : null),
			lastSuccessAt: input.lastSuccess.find((s) => s.channel === channel)?.at ?? null,
			failuresLast7Days: input.failures.find((f) => f.channel === channel)?.n ?? 0,
		};
	});
}

export async function fetchChannelHealth(env: Env, config: Config, now: Date): Promise<ChannelHealth[]> {
	const { notifiers, problems } = buildNotifiers(config, env.EMAIL);
	const configured = notifiers.map((n) => n.channel as string);
	if (config.HEARTBEAT_URL) configured.push("heartbeat");
	const weekAgo = new Date(now.getTime() - 7 * 86_400_000).toISOString();
	const { latest, lastSuccess, failures } = await fetchChannelLog(env.DB, weekAgo);
	return buildChannelHealth({ configured, misconfigured: problems, latest, lastSuccess, failures });
}

/** Everything the admin status page shows. `now` is the request time. */
export async function fetchBackupStatus(env: Env, config: Config, now: Date): Promise<BackupStatus> {
	const [lastRun, totals, alert, channels, verification, offsite] = await Promise.all([
		fetchLastRun(env.DB),
		// The catalogue, reconciled within bounds: no manifest is read unless the catalogue lacks it.
		fetchSnapshotTotals(primaryStore(env), env.DB, { signingKey: config.BACKUP_SIGNING_KEY }, now),
		peekAlertState(env.DB, STALE_ALERT_KEY),
		fetchChannelHealth(env, config, now),
		fetchLatestVerification(env.DB),
		fetchReplicaStatus(config, now),
	]);
	const staleness = computeStaleness({
		newest: totals.newest,
		watchingSince: alert ? new Date(alert.createdAt) : null,
		now,
		maxAgeHours: config.BACKUP_MAX_AGE_HOURS,
	});
	const status: Omit<BackupStatus, "verdict"> = {
		now: now.toISOString(),
		lastRun,
		newestSnapshot:
			totals.newest && staleness.ageHours !== null ? { ...totals.newest, ageHours: staleness.ageHours } : null,
		stale: staleness.stale,
		thresholdHours: config.BACKUP_MAX_AGE_HOURS,
		alert,
		schedule: config.SCHEDULE_BACKUP,
		nextScheduledRun: nextRunAfter(config.SCHEDULE_BACKUP, now),
		snapshots: { count: totals.count, totalBytes: totals.totalBytes, ignored: totals.ignored, pending: totals.pending },
		signing: { configured: Boolean(config.BACKUP_SIGNING_KEY) },
		offsite,
		channels,
		retention: {
			keepDaily: config.KEEP_DAILY,
			keepWeekly: config.KEEP_WEEKLY,
			keepMonthly: config.KEEP_MONTHLY,
			freezeDropPct: config.RETENTION_FREEZE_DROP_PCT,
			maxRemovePct: config.RETENTION_MAX_REMOVE_PCT,
		},
		verification: verification && {
			id: verification.id,
			status: verification.status,
			finishedAt: verification.finishedAt,
			snapshotsChecked: verification.snapshotsChecked,
			snapshotsCorrupt: verification.snapshotsCorrupt,
			drillStatus: verification.drillStatus,
			drillSnapshotId: verification.drillSnapshotId,
			corrupt: (verification.details as { corrupt?: CorruptRef[] } | null)?.corrupt ?? [],
			coverage: readCoverage(verification.details),
			error: verification.error,
		},
	};
	const verdict = buildVerdict({
		...status,
		timeZone: config.TIMEZONE,
		oldestFinishedAt: totals.oldestFinishedAt,
		verification: verification && { ...status.verification!, startedAt: verification.startedAt },
	});
	return { ...status, verdict };
}

/**
 * Public backup health: ok when a verified snapshot exists and is not older than the threshold.
 * Cheap: the catalogue (one D1 query, one R2 listing, at most 2 manifest reads of snapshots it
 * does not know yet); from the store alone when D1 cannot be read. Never throws: a read failure
 * is "not ok".
 */
export async function fetchBackupHealth(env: Env, config: Config, now: Date): Promise<{ ok: boolean; ageHours: number | null }> {
	try {
		const store = primaryStore(env);
		const keyring = { signingKey: config.BACKUP_SIGNING_KEY };
		const newest = await reconcileCatalogue(store, env.DB, keyring, now, { maxReads: 2 })
			.then((view) => buildCatalogueTotals(view.entries, now).newest)
			.catch((err: unknown) => {
				if (err instanceof CatalogueUnavailable) return fetchNewestVerified(store, keyring, now);
				throw err;
			});
		const s = computeStaleness({ newest, watchingSince: null, now, maxAgeHours: config.BACKUP_MAX_AGE_HOURS });
		return { ok: newest !== null && !s.stale, ageHours: s.ageHours };
	} catch {
		return { ok: false, ageHours: null };
	}
}

/** The coverage a verification run recorded in its details (runs before issue 10 have none). */
function readCoverage(details: unknown): NonNullable<BackupStatus["verification"]>["coverage"] {
	const c = (details as { coverage?: Record<string, unknown> } | null)?.coverage;
	if (!c || typeof c.fr !== "string" || typeof c.en !== "string") return null;
	const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
	return { chunksRead: num(c.chunksRead), chunksTotal: num(c.chunksTotal), cycleRuns: num(c.cycleRuns), fr: c.fr, en: c.en };
}
