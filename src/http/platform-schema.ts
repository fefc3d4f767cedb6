// The `platform` object of GET /api/admin/status: the Cloudflare plan, its limits, and this
// deployment's figures against them (src/platform/budget.ts builds it).
import { z } from "@hono/zod-openapi";

const Words = z.strictObject({ fr: z.string(), en: z.string() });

const FigureSchema = z
	.strictObject({
		key: z
			.enum(["backupSteps", "verifySteps", "d1RowsReadToday", "d1RowsWrittenToday", "d1SizeBytes", "r2BytesStored", "r2ClassAMonth", "r2ClassBMonth", "cronTriggers"])
			.openapi({ description: "Which figure." }),
		label: Words.openapi({ description: "What it is, in French and English." }),
		value: z.number().openapi({ description: "This deployment's figure, as the application counted it." }),
		limit: z.number().nullable().openapi({ description: "The plan's limit (or R2's free tier); null when the plan sets none (Paid: D1 rows are billed, not capped)." }),
		unit: z.enum(["steps", "rows", "bytes", "operations", "triggers"]),
		percent: z.number().nullable().openapi({ description: "value / limit in %, one decimal; null without a limit." }),
		warning: z.boolean().openapi({ description: "Above 80 % of the limit." }),
	})
	.openapi("PlatformFigure");

export const PlatformReportSchema = z
	.strictObject({
		plan: z.enum(["free", "paid"]).openapi({ description: "CLOUDFLARE_PLAN." }),
		limits: z
			.strictObject({
				cpuMsPerInvocation: z.number(),
				stepsPerInstance: z.number(),
				d1QueriesPerInvocation: z.number(),
				d1RowsWrittenPerDay: z.number().nullable(),
				d1RowsReadPerDay: z.number().nullable(),
				cronTriggers: z.number(),
				d1DatabaseBytes: z.number(),
				r2StorageBytes: z.number(),
				r2ClassAPerMonth: z.number(),
				r2ClassBPerMonth: z.number(),
			})
			.openapi({ description: "The plan's published limits (docs/cloudflare-plans.md); R2's are its free tier." }),
		figures: z.array(FigureSchema).openapi({
			description:
				"Steps of the latest backup and verification instance; D1 rows read and written today (UTC) and the database size; R2 bytes stored, Class A and B operations this month; cron triggers used. Counted by the application itself: Cloudflare's own console, wrangler and other Workers of the account are not seen.",
		}),
		warnings: z
			.array(z.strictObject({ key: z.string(), message: Words }))
			.openapi({ description: "One per figure above 80 % of its limit: what it means and what to do." }),
	})
	.openapi("PlatformReport", { description: "The Cloudflare plan's budget and this deployment's use of it." });
