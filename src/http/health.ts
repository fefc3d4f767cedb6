// Public liveness endpoint: the version and whether a recent verified backup exists (its age),
// nothing else (no data, no configuration, no snapshot ids).
import { Hono } from "hono";
import { getConfig } from "../config";
import { fetchBackupHealth } from "../monitor/status";
import { APP_VERSION } from "../version";

export const healthRoutes = new Hono<{ Bindings: Env }>();

healthRoutes.get("/api/health", async (c) => {
	const backup = await fetchBackupHealth(c.env, getConfig(c.env), new Date());
	return c.json({ ok: true, version: APP_VERSION, backup }, 200, { "Cache-Control": "no-store" });
});
