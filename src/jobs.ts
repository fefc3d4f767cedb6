// Scheduled jobs, dispatched by cron expression. Cron delivery is at-least-once, so every
// job here must be idempotent for a given scheduled time.
import { logEvent } from "./log";

export async function runScheduled(
	controller: ScheduledController,
	env: Env,
	ctx: ExecutionContext,
): Promise<void> {
	void ctx;
	logEvent("cron_fired", { cron: controller.cron, scheduledTime: controller.scheduledTime });
	switch (controller.cron) {
		default:
			logEvent("cron_unknown", { cron: controller.cron });
	}
}
