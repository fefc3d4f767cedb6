// Scheduled jobs. ONE cron trigger (hourly, wrangler.jsonc) dispatches them all: the hourly check
// every hour, the daily backup when SCHEDULE_BACKUP falls in the past hour, the weekly verification
// when VERIFY_CRON does. One trigger of the five a Free account has (docs/cloudflare-plans.md).
// Cron delivery is at-least-once: every job is idempotent for a given scheduled time (instance ids
// are derived from it), so a duplicate delivery changes nothing.
import { Cron } from "croner";
import { startScheduledBackup } from "./backup-trigger";
import { cleanupExports } from "./export-workflow";
import { VERIFY_CRON, startScheduledVerification } from "./verify-workflow";
import { getConfig } from "../config";
import { describeError, logError, logEvent } from "../log";
import { MONITOR_CRON, runHourlyMonitor } from "../monitor/hourly";

/** The one trigger of wrangler.jsonc `triggers.crons`. */
export const HOURLY_CRON = MONITOR_CRON;

export type ScheduledJob = "monitor" | "backup" | "verify";

const HOUR = 3_600_000;

/** Parsed expressions, kept per isolate: parsing costs more than the rest of an hourly check's dispatch. */
const parsed = new Map<string, Cron>();
function parseCron(expression: string): Cron {
	let cron = parsed.get(expression);
	if (!cron) {
		cron = new Cron(expression, { timezone: "UTC", paused: true });
		if (parsed.size < 16) parsed.set(expression, cron);
	}
	return cron;
}

/**
 * Pure: does `expression` (UTC) fire within the hour that ends at `at`, i.e. in (at - 1 h, at]?
 * A schedule that is not on the hour (e.g. "30 2 * * *") is then served by the next hourly
 * delivery (03:00): never earlier than asked, at most 59 minutes later. False for an invalid
 * expression.
 */
export function isDueWithinHour(expression: string, at: number): boolean {
	try {
		const next = parseCron(expression).nextRun(new Date(at - HOUR));
		return next !== null && next.getTime() <= at;
	} catch {
		return false;
	}
}

/**
 * Pure: the jobs one delivery of `cron` at `scheduledTime` starts. The hourly trigger: the hourly
 * check, plus the backup and the verification when their schedules fall in the past hour. A
 * configuration from before the single trigger (one cron per job) still works: its verification
 * cron starts the verification, any other cron the backup (duplicates are harmless: same ids).
 */
export function planScheduledJobs(cron: string, scheduledTime: number, backupSchedule: string): ScheduledJob[] {
	if (cron === HOURLY_CRON) {
		const jobs: ScheduledJob[] = ["monitor"];
		if (isDueWithinHour(backupSchedule, scheduledTime)) jobs.push("backup");
		if (isDueWithinHour(VERIFY_CRON, scheduledTime)) jobs.push("verify");
		return jobs;
	}
	return cron === VERIFY_CRON ? ["verify"] : ["backup"];
}

export async function runScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
	void ctx;
	const { cron, scheduledTime } = controller;
	const jobs = planScheduledJobs(cron, scheduledTime, getConfig(env).SCHEDULE_BACKUP);
	logEvent("cron_fired", { cron, scheduledTime, jobs: jobs.join(",") });
	// Each job runs even when another one failed; the invocation fails afterwards if any did, so
	// that the failure shows in Cloudflare's cron history too (each job has already reported it).
	const failures: string[] = [];
	for (const job of jobs) {
		try {
			if (job === "monitor") {
				// Dead man's switch; "now" is the scheduled time, not the handler's clock.
				await runHourlyMonitor(env, new Date(scheduledTime));
			} else if (job === "backup") {
				// One Workflow instance per scheduled day.
				await startScheduledBackup(env, scheduledTime);
			} else {
				// Weekly verification + restore drill; one Workflow instance per scheduled day.
				await startScheduledVerification(env, scheduledTime);
			}
		} catch (err) {
			failures.push(`${job}: ${describeError(err)}`);
			logError("cron_job_failed", { cron, scheduledTime, job, error: describeError(err) });
		}
	}
	if (jobs.includes("monitor")) {
		// Export files past their week, a bounded number per hour (src/snapshots/exports.ts).
		try {
			await cleanupExports(env, new Date(scheduledTime));
		} catch (err) {
			failures.push(`exports clean-up: ${describeError(err)}`);
			logError("cron_job_failed", { cron, scheduledTime, job: "exports-cleanup", error: describeError(err) });
		}
	}
	if (failures.length > 0) throw new Error(`scheduled jobs failed: ${failures.join("; ")}`);
}
