// The verdict an e-mail carries (backup succeeded / failed, no recent backup): the same rules as
// the status page (verdict.ts), from the few reads a notice can afford — the alert state, the
// channels' log and the latest weekly verification (about five D1 queries, no manifest list).
// What the sender already knows (this run, the newest backup, the off-site copy) is passed in.
import type { Config } from "../config";
import { fetchLatestVerification } from "../db/verification-runs";
import { describeError, logError } from "../log";
import { primaryStore } from "../snapshots/r2-store";
import { STALE_ALERT_KEY, peekAlertState } from "./alerts";
import { fetchNewestVerified } from "./snapshots";
import { computeStaleness, type NewestSnapshot } from "./staleness";
import { fetchChannelHealth, fetchLastRun } from "./status";
import { buildVerdict, type Verdict, type VerdictInput } from "./verdict";

export type NoticeFacts = {
	/** The run the notice is about (undefined: read the latest from D1). */
	lastRun?: VerdictInput["lastRun"];
	/** The newest verified snapshot (undefined: read it from R2). */
	newest?: NewestSnapshot | null;
	/** What the off-site copy is known to be (undefined: not known; it then gives no reason). */
	offsite?: VerdictInput["offsite"];
};

/** The verdict for a notice, or undefined when it cannot be computed (the notice goes out without it). */
export async function fetchNoticeVerdict(env: Env, config: Config, now: Date, facts: NoticeFacts): Promise<Verdict | undefined> {
	try {
		const [lastRun, newest, alert, channels, verification] = await Promise.all([
			facts.lastRun !== undefined ? facts.lastRun : fetchLastRun(env.DB),
			facts.newest !== undefined ? facts.newest : fetchNewestVerified(primaryStore(env), { signingKey: config.BACKUP_SIGNING_KEY }, now),
			peekAlertState(env.DB, STALE_ALERT_KEY),
			fetchChannelHealth(env, config, now),
			fetchLatestVerification(env.DB),
		]);
		const staleness = computeStaleness({
			newest,
			watchingSince: alert ? new Date(alert.createdAt) : null,
			now,
			maxAgeHours: config.BACKUP_MAX_AGE_HOURS,
		});
		return buildVerdict({
			now: now.toISOString(),
			timeZone: config.TIMEZONE,
			thresholdHours: config.BACKUP_MAX_AGE_HOURS,
			lastRun,
			newestSnapshot: newest,
			stale: staleness.stale,
			verification,
			channels,
			offsite: facts.offsite,
			signing: { configured: Boolean(config.BACKUP_SIGNING_KEY) },
		});
	} catch (err) {
		logError("notice_verdict_unavailable", { error: describeError(err) });
		return undefined;
	}
}
