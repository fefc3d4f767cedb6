// GET /api/admin/retention: a dry run of the retention policy now — what would be kept, removed,
// and why. Changes nothing. Optional keepDaily/keepWeekly/keepMonthly preview a policy change.
import { z } from "@hono/zod-openapi";
import { runRetention } from "../retention/job";
import { buildFateOf, parseRetentionReason } from "../retention/reason";
import { PinSchema } from "./pins";
import { createAdminRoute, createRouter } from "./router";
import { errorResponse, IsoTime, jsonResponse, SERVER_ERROR } from "./schemas";

export const retentionRoutes = createRouter();

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

const DecisionSchema = z.looseObject({
	id: z.string(),
	time: IsoTime,
	keep: z.boolean(),
	reasons: z.array(z.string()),
	verified: z.boolean(),
	fate: z.enum(["keep", "remove", "remove_later"]).openapi({
		description: "What will really happen: kept; removed by this run; or `remove_later`, kept now only because at most `limits.maxRemovePct` % of the snapshots go per run.",
	}),
	why: z
		.array(
			z.looseObject({
				code: z.enum(["daily", "weekly", "monthly", "newest", "future", "pinned", "in_use", "held", "deferred", "outside", "other"]),
			}),
		)
		.openapi({
			description:
				"`reasons` as data, in the same order, for clients to word: `daily`/`weekly`/`monthly` with `period` (UTC: 2026-12-02, 2026-W49, 2026-11), `newest`, `future`, `pinned` with `detectedIn`, `in_use` with `reader` and `runId`, `held`, `deferred` with `maxRemovePct`, `outside`, `other` with `text`.",
		}),
});

/** The dry run's answer (a RetentionSummary, see src/retention/job.ts). */
const RetentionSummarySchema = z
	.looseObject({
		dryRun: z.boolean(),
		now: IsoTime,
		policy: z.strictObject({ keepDaily: z.number().int(), keepWeekly: z.number().int(), keepMonthly: z.number().int() }),
		limits: z.strictObject({ maxRemovePct: z.number() }),
		kept: z.number().int(),
		removed: z.number().int(),
		frozen: z.boolean(),
		pins: z.array(PinSchema).openapi({ description: "Pins holding snapshots now (a new one included)." }),
		newPin: z.union([PinSchema, z.null()]).openapi({ description: "The pin this run would create, when a loss is seen." }),
		readers: z.array(z.looseObject({})).openapi({ description: "Runs (restores, verifications) reading snapshots now: what they read is kept." }),
		held: z.string().nullable(),
		locked: z.array(z.string()),
		failed: z.array(z.string()),
		snapshots: z.array(DecisionSchema),
		unreadable: z.array(z.strictObject({ id: z.string(), reason: z.string() })),
		incomplete: z.number().int(),
		alert: z.looseObject({}).nullable(),
	})
	.openapi("RetentionSummary");

retentionRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/retention",
		tags: ["admin"],
		summary: "Dry run of the retention policy now (changes nothing)",
		request: { query: querySchema },
		responses: {
			200: jsonResponse(RetentionSummarySchema, "What would be kept and removed, and why."),
			400: errorResponse("`invalid_query`: a parameter is wrong or unknown (`fields` names it)."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const summary = await runRetention(c.env, {
			now: new Date(),
			backupStatus: "complete",
			dryRun: true,
			policy: c.req.valid("query"),
		});
		const snapshots = summary.snapshots.map((d) => {
			const why = d.reasons.map(parseRetentionReason);
			return { ...d, fate: buildFateOf(d.keep, why), why };
		});
		return c.json({ ...summary, snapshots }, 200);
	},
);
