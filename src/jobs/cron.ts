// Scheduled jobs, dispatched by cron expression. Cron delivery is at-least-once, so every
// job here must be idempotent for a given scheduled time.
import { startScheduledBackup } from "./backup-trigger";
import { VERIFY_CRON, startScheduledVerification } from "./verify-workflow";
import { getConfig } from "../config";
import { logEvent } from "../log";
import { MONITOR_CRON, runHourlyMonitor } from "../monitor/hourly";

export async function runScheduled(
	controller: ScheduledController,
	env: Env,
	ctx: ExecutionContext,
): Promise<void> {
	void ctx;
	logEvent("cron_fired", { cron: controller.cron, scheduledTime: controller.scheduledTime });
	switch (controller.cron) {
		case MONITOR_CRON:
			// Dead man's switch; "now" is the scheduled time, not the handler's clock.
			await runHourlyMonitor(env, new Date(controller.scheduledTime));
			return;
		case VERIFY_CRON:
			// Weekly verification + restore drill; one Workflow instance per scheduled day.
			await startScheduledVerification(env, controller.scheduledTime);
			return;
		default:
			// Every other cron of wrangler.jsonc is the backup's, so moving the backup is a one-line
			// change there; SCHEDULE_BACKUP only tells the status page when the next run is.
			if (controller.cron !== getConfig(env).SCHEDULE_BACKUP) {
				logEvent("cron_schedule_mismatch", { cron: controller.cron, configured: getConfig(env).SCHEDULE_BACKUP });
			}
			await startScheduledBackup(env, controller.scheduledTime);
	}
}
