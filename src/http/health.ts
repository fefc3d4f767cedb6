// Public liveness endpoint: the version and whether a recent verified backup exists (its age),
// nothing else (no data, no configuration, no snapshot ids). Anyone may call it, so its R2 reads
// are cached: at most one listing a minute per isolate.
import { createRoute, z } from "@hono/zod-openapi";
import type { Config } from "../config";
import { fetchBackupHealth } from "../monitor/status";
import { APP_VERSION } from "../version";
import { createRouter } from "./router";
import { jsonResponse, SERVER_ERROR } from "./schemas";

/** How long one answer about the backups is reused. */
export const HEALTH_CACHE_MS = 60_000;

export type BackupHealth = Awaited<ReturnType<typeof fetchBackupHealth>>;

type CachedHealth = { at: number; health: Promise<BackupHealth> };

/** One entry per env object, that is per isolate in production (tests may bring their own env). */
const healthCache = new WeakMap<Env, CachedHealth>();

/**
 * The backup health at `now` (the request time), from a cache at most HEALTH_CACHE_MS old. An
 * answer from before `now` is reused, one "from the future" (the clock went back) is not. The
 * promise itself is cached, so requests arriving together share one R2 listing. The age it
 * reports is rounded to 0.1 h (6 min), so a minute-old answer says the same thing.
 */
export function fetchCachedBackupHealth(env: Env, config: Config, now: Date): Promise<BackupHealth> {
	const t = now.getTime();
	const cached = healthCache.get(env);
	if (cached && t >= cached.at && t - cached.at < HEALTH_CACHE_MS) return cached.health;
	// fetchBackupHealth never rejects: a failed read is "not ok", cached like any answer.
	const health = fetchBackupHealth(env, config, now);
	healthCache.set(env, { at: t, health });
	return health;
}

export const HealthSchema = z
	.strictObject({
		ok: z.literal(true),
		version: z.string(),
		backup: z.strictObject({
			ok: z.boolean().openapi({ description: "A verified snapshot exists and is not older than BACKUP_MAX_AGE_HOURS." }),
			ageHours: z.number().nullable().openapi({ description: "Age of the newest verified snapshot, in hours (one decimal)." }),
		}),
	})
	.openapi("Health");

export const healthRoutes = createRouter();

healthRoutes.openapi(
	createRoute({
		method: "get",
		path: "/api/health",
		tags: ["public"],
		summary: "Liveness and backup freshness (answer cached up to a minute)",
		responses: { 200: jsonResponse(HealthSchema, "The Worker answers."), 500: SERVER_ERROR },
	}),
	async (c) => {
		const backup = await fetchCachedBackupHealth(c.env, c.var.config, new Date());
		return c.json({ ok: true as const, version: APP_VERSION, backup }, 200, { "Cache-Control": "no-store" });
	},
);
