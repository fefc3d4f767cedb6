// GET /api/admin/status: the backup system at a glance for administrators (admin token required).
import { Hono } from "hono";
import { getConfig } from "../config";
import { logEvent } from "../log";
import { fetchBackupStatus } from "../monitor/status";
import { requireAdmin } from "./auth";

export const statusRoutes = new Hono<{ Bindings: Env }>();

statusRoutes.get("/api/admin/status", requireAdmin, async (c) => {
	const config = getConfig(c.env);
	// The request time is "now" for ages and the next run.
	const status = await fetchBackupStatus(c.env, config, new Date());
	logEvent("admin_status", { stale: status.stale, snapshots: status.snapshots.count });
	return c.json(status, 200, { "Cache-Control": "no-store" });
});
