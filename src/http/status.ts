// GET /api/admin/status: the backup system at a glance for administrators (admin token required).
import { z } from "@hono/zod-openapi";
import { logEvent } from "../log";
import { fetchBackupStatus } from "../monitor/status";
import { fetchPlatformReport } from "../monitor/platform";
import { PlatformReportSchema } from "./platform-schema";
import { fetchPreviousCompleteRun, fetchRun, type BackupRun } from "../db/backup-runs";
import { explainFailure, type PreviousGood } from "../backup/explain";
import { createAdminRoute, createRouter } from "./router";
import { IsoTime, jsonResponse, SERVER_ERROR } from "./schemas";

const nullableTime = IsoTime.nullable();

const RunProgressSchema = z
	.strictObject({
		stage: z.string().openapi({ description: "queued, lock, begin, export, manifest, finish, done (or the stage that failed)." }),
		stageText: z.strictObject({ fr: z.string(), en: z.string() }),
		rows: z.number().int().openapi({ description: "Rows read and checked so far." }),
		rowsTotal: z.number().int().optional().openapi({ description: "Rows counted at the start (estimate for tables updated in place)." }),
		chunks: z.number().int().openapi({ description: "Chunks written to R2 and read back so far." }),
		elapsedSeconds: z.number().int(),
	})
	.openapi("BackupRunProgress");

/** A backup run as the status and GET /api/admin/backups/:id show it. */
export const BackupRunSchema = z
	.strictObject({
		id: z.string(),
		trigger: z.enum(["scheduled", "manual"]),
		status: z.enum(["queued", "running", "complete", "failed"]),
		stage: z.string().nullable(),
		rows: z.number().int(),
		bytes: z.number().int(),
		chunks: z.number().int(),
		snapshotId: z.string().nullable(),
		startedAt: IsoTime,
		finishedAt: nullableTime,
		error: z.string().nullable(),
		progress: RunProgressSchema.optional().openapi({
			description: "Where the run stands (GET /api/admin/backups/:id): stage in words, rows and chunks done, elapsed time.",
		}),
		explanation: z
			.strictObject({ fr: z.string(), en: z.string() })
			.nullable()
			.optional()
			.openapi({
				description:
					"A failed run in plain words: what could not be done, which previous backup is intact (by its local date), what to do next. `error` keeps the technical detail.",
			}),
	})
	.openapi("BackupRun");

const ChannelHealthSchema = z.strictObject({
	channel: z.string(),
	configured: z.boolean(),
	health: z.enum(["ok", "failing", "unused", "misconfigured"]),
	lastAttemptAt: nullableTime,
	lastEventType: z.string().nullable(),
	lastError: z.string().nullable(),
	lastSuccessAt: nullableTime,
	failuresLast7Days: z.number().int(),
});

const Bilingual = z.strictObject({ fr: z.string(), en: z.string() });

/** The one verdict at the top of the dashboard, the CLI status and the e-mails (docs/verdict.md). */
export const VerdictSchema = z
	.strictObject({
		level: z.enum(["ok", "warning", "problem"]).openapi({ description: "The worst reason's level; \"ok\" when there is none." }),
		label: Bilingual.openapi({ description: "The level in words: « Tout va bien » / « Attention » / « Problème »." }),
		summary: Bilingual.openapi({ description: "One sentence: the newest verified backup's local date when all is well, else the worst reason." }),
		reasons: z
			.array(
				z.strictObject({
					code: z.string().openapi({ description: "Stable rule name, e.g. stale, last_run_failed, no_channel (docs/verdict.md)." }),
					level: z.enum(["warning", "problem"]),
					text: Bilingual.openapi({ description: "What is wrong, one plain sentence; backups named by their local date (TIMEZONE)." }),
					action: Bilingual.openapi({ description: "What to do about it." }),
				}),
			)
			.openapi({ description: "Every reason, worst first; empty when the level is \"ok\"." }),
	})
	.openapi("Verdict");

export const BackupStatusSchema = z
	.strictObject({
		now: IsoTime,
		timezone: z.string().openapi({
			description: "The organisation's time zone (TIMEZONE, IANA name, default Europe/Paris): clients show every date in it; ids stay in UTC.",
			example: "Europe/Paris",
		}),
		lastRun: BackupRunSchema.omit({ chunks: true }).nullable(),
		newestSnapshot: z.strictObject({ snapshotId: z.string(), finishedAt: IsoTime, ageHours: z.number() }).nullable(),
		stale: z.boolean(),
		thresholdHours: z.number(),
		alert: z
			.strictObject({
				status: z.enum(["ok", "alerting"]),
				since: IsoTime,
				lastSentAt: nullableTime,
				createdAt: IsoTime,
			})
			.nullable(),
		schedule: z.string(),
		nextScheduledRun: nullableTime,
		snapshots: z.strictObject({
			count: z.number().int(),
			totalBytes: z.number().int(),
			ignored: z
				.array(z.strictObject({ snapshotId: z.string(), reason: z.enum(["future", "unsigned", "invalid", "other-key"]) }))
				.openapi({ description: "Readable snapshots not counted: not authenticated by BACKUP_SIGNING_KEY, or dated in the future." }),
			pending: z.number().int().openapi({
				description: "Snapshot folders not catalogued yet (their manifests are read a few per call; 0 in the steady state).",
			}),
		}),
		signing: z.strictObject({ configured: z.boolean() }).openapi({ description: "Whether manifests are signed and checked." }),
		offsite: z
			.strictObject({
				encrypted: z.boolean(),
				target: z.string(),
				newest: z.strictObject({ snapshotId: z.string(), at: IsoTime, ageHours: z.number() }).nullable(),
				stale: z.boolean(),
				error: z.string().nullable(),
			})
			.nullable()
			.openapi({ description: "The copy outside Cloudflare (null when none is configured): its newest snapshot and age." }),
		channels: z.array(ChannelHealthSchema),
		retention: z.strictObject({
			keepDaily: z.number().int(),
			keepWeekly: z.number().int(),
			keepMonthly: z.number().int(),
			freezeDropPct: z.number(),
			maxRemovePct: z.number(),
		}),
		verification: z
			.strictObject({
				id: z.string(),
				status: z.string(),
				finishedAt: nullableTime,
				snapshotsChecked: z.number().int(),
				snapshotsCorrupt: z.number().int(),
				drillStatus: z.string().nullable(),
				drillSnapshotId: z.string().nullable(),
				// Read back from the run's stored details: extra keys are possible.
				corrupt: z.array(z.looseObject({ snapshotId: z.string(), chunk: z.string().nullable(), reason: z.string() })),
				coverage: z
					.strictObject({ chunksRead: z.number().int(), chunksTotal: z.number().int(), cycleRuns: z.number().int(), fr: z.string(), en: z.string() })
					.nullable()
					.openapi({ description: "Share of the retained snapshots' chunks that run re-read (a rotating sample past its budget); null for older runs." }),
				error: z.string().nullable(),
			})
			.nullable(),
		platform: PlatformReportSchema,
		verdict: VerdictSchema,
	})
	.openapi("BackupStatus");

export const statusRoutes = createRouter();

/** The previous good backup of a failed run (undefined when it cannot be read: then not named). */
export async function fetchPreviousGood(db: D1Database, run: BackupRun): Promise<PreviousGood> {
	if (run.status !== "failed") return undefined;
	try {
		const prev = await fetchPreviousCompleteRun(db, run.startedAt);
		return prev ? { startedAt: prev.startedAt } : null;
	} catch {
		return undefined;
	}
}

/** A failed last run carries its explanation in words (two small reads, only after a failure). */
async function explainLastRun<R extends { id: string; status: string }>(db: D1Database, lastRun: R | null, now: Date, timeZone: string) {
	if (!lastRun || lastRun.status !== "failed") return lastRun;
	const run = await fetchRun(db, lastRun.id);
	if (!run) return lastRun;
	return { ...lastRun, explanation: explainFailure(run, await fetchPreviousGood(db, run), timeZone, now) };
}

statusRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/status",
		tags: ["admin"],
		summary: "The backup system at a glance",
		responses: { 200: jsonResponse(BackupStatusSchema, "Runs, snapshots, staleness, channels, verification."), 500: SERVER_ERROR },
	}),
	async (c) => {
		// The request time is "now" for ages and the next run.
		const now = new Date();
		const status = await fetchBackupStatus(c.env, c.var.config, now);
		const platform = await fetchPlatformReport(c.env.DB, c.var.config, now, status.snapshots.totalBytes);
		logEvent("admin_status", { stale: status.stale, snapshots: status.snapshots.count, platformWarnings: platform.warnings.length });
		return c.json({ ...status, lastRun: await explainLastRun(c.env.DB, status.lastRun, now, c.var.config.TIMEZONE), timezone: c.var.config.TIMEZONE, platform }, 200, { "Cache-Control": "no-store" });
	},
);
