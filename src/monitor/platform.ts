// The platform budget of the status: this deployment's counted usage (platform_usage) and the
// snapshots' bytes against the limits of its Cloudflare plan (src/platform/budget.ts).
import type { Config } from "../config";
import { fetchUsageFigures } from "../db/platform-usage";
import { CRON_TRIGGERS_USED, platformReport, type PlatformReport } from "../platform/budget";
import { usageDay } from "../platform/usage-meter";

/** One D1 query. `r2BytesStored`: the counted snapshots' total bytes (the status already sums them). */
export async function fetchPlatformReport(db: D1Database, config: Config, now: Date, r2BytesStored: number): Promise<PlatformReport> {
	const usage = await fetchUsageFigures(db, usageDay(now));
	return platformReport(config.CLOUDFLARE_PLAN, { ...usage, r2BytesStored, cronTriggers: CRON_TRIGGERS_USED });
}
