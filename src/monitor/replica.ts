// The off-site replica seen by the status page and the dead man's switch: its newest committed
// snapshot and age, and a "copy outside Cloudflare out of date" alert at most once a day while it
// lasts (the same claim-in-D1 de-duplication as the backup's own alert).
import type { Config } from "../config";
import { describeError, logError, logEvent } from "../log";
import { sendEvent, type DeliveryReport } from "../notify/events";
import { fetchReplicaNewest, findReplica } from "../offsite/replica";
import { claimRecovery, claimStaleAlert, decideStaleAlert, fetchAlertState, releaseStaleAlert } from "./alerts";
import { computeStaleness, hoursBetween } from "./staleness";

export const REPLICA_ALERT_KEY = "replica_stale";

/** What the status shows about the replica (null when none is configured). */
export type ReplicaStatus = {
	encrypted: boolean;
	/** Where it is (the provider's endpoint and bucket: no secret). */
	target: string;
	newest: { snapshotId: string; at: string; ageHours: number } | null;
	stale: boolean;
	/** Set when the replica could not be read (network, credentials). */
	error: string | null;
};

export async function fetchReplicaStatus(config: Config, now: Date): Promise<ReplicaStatus | null> {
	const replica = findReplica(config);
	if (!replica) return null;
	const base = { encrypted: replica.encrypt !== undefined, target: `${replica.endpoint} / ${replica.bucket}` };
	try {
		const newest = await fetchReplicaNewest(replica);
		const ageHours = newest ? hoursBetween(new Date(newest.at), now) : null;
		return {
			...base,
			newest: newest && { ...newest, ageHours: ageHours! },
			stale: ageHours === null || ageHours > config.BACKUP_MAX_AGE_HOURS,
			error: null,
		};
	} catch (err) {
		return { ...base, newest: null, stale: true, error: describeError(err) };
	}
}

export type ReplicaCheck = { status: ReplicaStatus | null; action: string; report: DeliveryReport | null };

/** Hourly: alert (at most once a day) while the replica is out of date or unreadable. */
export async function checkReplica(env: Env, config: Config, now: Date, runId: string): Promise<ReplicaCheck> {
	const status = await fetchReplicaStatus(config, now);
	if (!status) return { status, action: "none", report: null };
	const state = await fetchAlertState(env.DB, REPLICA_ALERT_KEY, now);
	const staleness = computeStaleness({
		newest: status.newest && { snapshotId: status.newest.snapshotId, finishedAt: status.newest.at },
		watchingSince: new Date(state.createdAt),
		now,
		maxAgeHours: config.BACKUP_MAX_AGE_HOURS,
	});
	const stale = staleness.stale || status.error !== null;
	const action = decideStaleAlert(state, { stale, newest: staleness.newest }, now);
	let report: DeliveryReport | null = null;
	if (action === "send_stale") {
		const claim = await claimStaleAlert(env.DB, REPLICA_ALERT_KEY, now);
		if (claim.claimed) {
			report = await sendEvent(
				env,
				{
					type: "replica_stale",
					ageHours: status.newest ? Math.floor(status.newest.ageHours) : null,
					thresholdHours: config.BACKUP_MAX_AGE_HOURS,
					newest: status.newest && { snapshotId: status.newest.snapshotId, at: status.newest.at },
					error: status.error,
				},
				now,
			);
			if (!report.delivered) await releaseStaleAlert(env.DB, REPLICA_ALERT_KEY, now, claim.previousLastSentAt);
		}
	} else if (action === "send_recovered") {
		// Back to normal: the state is reset; the next success e-mail says the copy was made.
		await claimRecovery(env.DB, REPLICA_ALERT_KEY, now);
	}
	if (status.error) logError("replica_unreadable", { runId, error: status.error });
	logEvent("replica_checked", { runId, stale, ageHours: status.newest?.ageHours ?? null, action });
	return { status, action, report };
}
