// GET /api/admin/status: the backup system at a glance for administrators (admin token required).
import { z } from "@hono/zod-openapi";
import { logEvent } from "../log";
import { fetchBackupStatus } from "../monitor/status";
import { createAdminRoute, createRouter } from "./router";
import { IsoTime, jsonResponse, SERVER_ERROR } from "./schemas";

const nullableTime = IsoTime.nullable();

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

export const BackupStatusSchema = z
	.strictObject({
		now: IsoTime,
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
	})
	.openapi("BackupStatus");

export const statusRoutes = createRouter();

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
		const status = await fetchBackupStatus(c.env, c.var.config, new Date());
		logEvent("admin_status", { stale: status.stale, snapshots: status.snapshots.count });
		return c.json(status, 200, { "Cache-Control": "no-store" });
	},
);
