// The hourly dead man's switch ("0 * * * *"): reads the newest verified snapshot from R2, alerts
// when it is older than BACKUP_MAX_AGE_HOURS (at most once a day), announces the recovery once,
// and pings HEARTBEAT_URL. Idempotent for a given scheduled time (alerts are claimed in D1).
import { getConfig, type Config } from "../config";
import { describeError, logError, logEvent } from "../log";
import { deleteDeliveriesBefore } from "../db/notification-log";
import { buildRetryPolicy } from "../notify/delivery";
import { sendEvent, type DeliveryReport } from "../notify/events";
import {
	STALE_ALERT_KEY,
	claimRecovery,
	claimStaleAlert,
	decideStaleAlert,
	fetchAlertState,
	releaseStaleAlert,
	type AlertAction,
	type AlertState,
} from "./alerts";
import { sendHeartbeat } from "./heartbeat";
import { fetchSnapshotTotals } from "./snapshots";
import { computeStaleness, type Staleness } from "./staleness";
import { primaryStore } from "../snapshots/r2-store";
import { checkReplica, type ReplicaCheck } from "./replica";
import { fetchNoticeVerdict } from "./notice-verdict";

/** The hourly cron expression (wrangler.jsonc `triggers.crons`). */
export const MONITOR_CRON = "0 * * * *";

/** Catalogued manifests HEADed per hourly run (the newest first, then the least recently checked). */
export const HOURLY_HEADS = 6;

/** notification_log rows older than this are deleted by the hourly run. */
export const NOTIFICATION_LOG_DAYS = 90;

export type HourlyResult = {
	runId: string;
	ok: boolean;
	staleness: Staleness | null;
	action: AlertAction;
	/** False when another delivery of the same cron already claimed the alert. */
	claimed: boolean;
	report: DeliveryReport | null;
	heartbeat: { start: boolean | null; end: boolean | null };
	error: string | null;
	/** The off-site replica's check (null when none is configured or it could not run). */
	replica?: ReplicaCheck | null;
};

/** The "no recent verified backup" alert, to every configured channel, with the verdict first. */
async function sendStaleAlert(env: Env, config: Config, staleness: Staleness, now: Date): Promise<DeliveryReport> {
	// Sent at most once a day: the verdict's few extra reads only happen then.
	const verdict = await fetchNoticeVerdict(env, config, now, { newest: staleness.newest });
	return sendEvent(
		env,
		{
			type: "backup_stale",
			ageHours: Math.floor(staleness.effectiveAgeHours),
			thresholdHours: staleness.thresholdHours,
			newest: staleness.newest,
			...(verdict ? { verdict } : {}),
		},
		now,
	);
}

/** `now` is the cron's scheduled time: staleness never depends on when the handler actually ran. */
export async function runHourlyMonitor(env: Env, now: Date): Promise<HourlyResult> {
	const config = getConfig(env);
	const runId = `monitor-${now.toISOString()}`;
	const started = Date.now(); // duration measurement only
	const policy = buildRetryPolicy(config);
	const result: HourlyResult = {
		runId,
		ok: false,
		staleness: null,
		action: "none",
		claimed: false,
		report: null,
		heartbeat: { start: null, end: null },
		error: null,
	};
	// One log line per check (monitor_checked, at the end) with everything it found and did: each
	// line costs the invocation CPU (docs/BENCHMARKS.md), and one line is what an operator reads.
	const fields: Record<string, unknown> = { runId };
	const ping = config.HEARTBEAT_URL;
	if (ping) result.heartbeat.start = await sendHeartbeat(env.DB, ping, "start", `run ${runId}`, now, policy, runId);

	try {
		// D1 holds the alert state (what makes the alert "at most once a day"). If it cannot be
		// read, the check still reads R2 and alerts, without suppression: a stale backup while D1
		// is unreachable is exactly when someone must hear about it.
		let state: AlertState | null = null;
		try {
			state = await fetchAlertState(env.DB, STALE_ALERT_KEY, now);
		} catch (err) {
			logError("monitor_state_unavailable", { runId, error: describeError(err) });
		}
		// The catalogue, reconciled: unknown manifests read (at most 20), vanished ones noticed by
		// HEADs of the newest and the least recently checked (HOURLY_HEADS). From R2 alone when D1 fails.
		const totals = await fetchSnapshotTotals(primaryStore(env), env.DB, { signingKey: config.BACKUP_SIGNING_KEY }, now, {
			heads: HOURLY_HEADS,
		});
		const newest = totals.newest;
		const staleness = computeStaleness({
			newest,
			watchingSince: state ? new Date(state.createdAt) : null,
			now,
			maxAgeHours: config.BACKUP_MAX_AGE_HOURS,
		});
		result.staleness = staleness;
		Object.assign(fields, {
			stale: staleness.stale,
			ageHours: staleness.ageHours,
			thresholdHours: staleness.thresholdHours,
			snapshotId: newest?.snapshotId ?? null,
			alertStatus: state?.status ?? "unavailable",
			// What the catalogue's reconciliation did (null: read from R2 alone, D1 unavailable).
			manifestsRead: totals.view?.work.reads ?? null,
			manifestsGone: totals.view?.work.gone.length ?? null,
			manifestsPending: totals.view ? totals.pending : null,
		});

		if (!state) {
			if (staleness.stale) {
				result.action = "send_stale";
				result.claimed = true;
				result.report = await sendStaleAlert(env, config, staleness, now);
			}
			throw new Error("alert state unavailable in D1");
		}

		result.action = decideStaleAlert(state, staleness, now);
		if (result.action === "send_stale") {
			const claim = await claimStaleAlert(env.DB, STALE_ALERT_KEY, now);
			result.claimed = claim.claimed;
			if (claim.claimed) {
				result.report = await sendStaleAlert(env, config, staleness, now);
				// Reached nobody: give the claim back so the next hourly run tries again.
				if (!result.report.delivered) await releaseStaleAlert(env.DB, STALE_ALERT_KEY, now, claim.previousLastSentAt);
			}
		} else if (result.action === "send_recovered" && newest) {
			const claim = await claimRecovery(env.DB, STALE_ALERT_KEY, now);
			result.claimed = claim.claimed;
			if (claim.claimed) {
				result.report = await sendEvent(
					env,
					{
						type: "backup_recovered",
						ageHours: Math.floor(staleness.effectiveAgeHours),
						thresholdHours: staleness.thresholdHours,
						newest,
						staleSince: claim.staleSince,
					},
					now,
				);
			}
		}
		Object.assign(fields, { action: result.action, claimed: result.claimed, delivered: result.report?.delivered ?? null });

		// The copy outside Cloudflare, when configured: its own "out of date" alert — only while the
		// backups themselves are fresh (when they are not, their alert already says all: no new
		// snapshot can be copied).
		result.replica = staleness.stale ? null : await checkReplica(env, config, now, runId).catch((err: unknown) => {
			logError("replica_check_failed", { runId, error: describeError(err) });
			return null;
		});

		const cutoff = new Date(now.getTime() - NOTIFICATION_LOG_DAYS * 86_400_000).toISOString();
		const pruned = await deleteDeliveriesBefore(env.DB, cutoff);
		fields.deliveriesPruned = pruned;
		result.ok = true;
	} catch (err) {
		result.error = describeError(err);
		logError("monitor_failed", { runId, error: result.error });
	}

	if (ping) {
		const healthy = result.ok && result.staleness !== null && !result.staleness.stale;
		const summary = result.staleness
			? `stale=${result.staleness.stale} ageHours=${result.staleness.ageHours ?? "none"} threshold=${result.staleness.thresholdHours}`
			: `check failed: ${result.error ?? "unknown"}`;
		result.heartbeat.end = await sendHeartbeat(env.DB, ping, healthy ? "success" : "fail", summary, now, policy, runId);
	}
	logEvent("monitor_checked", { ...fields, ok: result.ok, action: result.action, durationMs: Date.now() - started });
	return result;
}
