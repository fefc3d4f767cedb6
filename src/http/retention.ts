// GET /api/admin/retention: a dry run of the retention policy now — what would be kept, removed,
// and why. Changes nothing. Optional keepDaily/keepWeekly/keepMonthly preview a policy change.
import { Hono } from "hono";
import { z } from "zod";
import { runRetention } from "../retention/job";
import { requireAdmin } from "./auth";
import { parseOr400 } from "./errors";

export const retentionRoutes = new Hono<{ Bindings: Env }>();

const count = (max: number) =>
	z
		.string()
		.regex(/^\d+$/, "must be a whole number")
		.transform(Number)
		.pipe(z.number().int().min(0).max(max, `must be at most ${max}`))
		.optional();

/** Query of the dry run; unknown parameters are refused so that a typo is not silently ignored. */
const querySchema = z.strictObject({
	keepDaily: count(3650).pipe(z.number().min(1, "must be at least 1").optional()),
	keepWeekly: count(520),
	keepMonthly: count(1200),
});

retentionRoutes.get("/api/admin/retention", requireAdmin, async (c) => {
	const policy = parseOr400(querySchema, c.req.query(), "invalid_query", "Invalid query parameters.", "query");
	const summary = await runRetention(c.env, {
		now: new Date(),
		backupStatus: "complete",
		dryRun: true,
		policy,
	});
	return c.json(summary);
});
