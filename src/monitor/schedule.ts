// Next scheduled run of a cron expression (UTC), for the status page.
import { Cron } from "croner";

/** The first run strictly after `from`, as ISO text; null for an invalid or exhausted expression. */
export function nextRunAfter(expression: string, from: Date): string | null {
	try {
		const next = new Cron(expression, { timezone: "UTC", paused: true }).nextRun(from);
		return next ? next.toISOString() : null;
	} catch {
		return null;
	}
}
