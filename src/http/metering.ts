// Usage accounting of every request: handlers see a metered env (D1 rows, R2 operations), and
// what the request used is written once after it (src/jobs/metering.ts).
import { createMiddleware } from "hono/factory";
import { flushUsage, sharedMeteredEnv } from "../jobs/metering";
import type { AppEnv } from "./router";

export const meterUsage = createMiddleware<AppEnv>(async (c, next) => {
	const raw = c.env;
	if (!raw?.DB) return next();
	const { env, meter } = sharedMeteredEnv(raw);
	c.env = env;
	try {
		await next();
	} finally {
		// Awaited, not waitUntil: the next status read sees it, and the count is one statement.
		await flushUsage(raw.DB, meter, new Date());
	}
});
