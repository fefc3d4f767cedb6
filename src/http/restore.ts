// Admin restore API: POST /api/admin/restore (dry-run | merge | replace, always via the
// RestoreWorkflow), GET /api/admin/restores[/:id] (progress, report), GET /api/admin/restore/undo
// (can the last replace be undone, and until when), POST /api/admin/restore/undo.
import { z } from "@hono/zod-openapi";
import { randomHex } from "../questionnaire/erasure";
import { undoReplace, verifyManifest } from "../restore/load";
import { buildRestoreId, isRestoreId, restoreRequestSchema } from "../restore/plan";
import { checkWriteBudget } from "../restore/budget";
import { buildRestoreSummary, type DryRunCounts } from "../restore/summary";
import { findActiveWrite } from "../restore/runs";
import { describeBlocker, findDataLockBlocker } from "../jobs/data-lock";
import { holdDataLock } from "./data-lock";
import {
	fetchRecentRestoreRuns,
	fetchLatestFinishedReplace,
	fetchRestoreRun,
	fetchUndoableRunId,
	insertRestoreRunIfFree,
	markRestoreRunFailed,
	type RestoreRunRow,
} from "../db/restore-runs";
import { logEvent } from "../log";
import { nextRunAfter } from "../monitor/schedule";
import { insertAuditEntry } from "../db/audit-log";
import { primaryStore } from "../snapshots/r2-store";
import { isTrusted } from "../snapshots/signature";
import { ApiError } from "./errors";
import { createAdminRoute, createRouter, jsonBody, onInvalid } from "./router";
import { errorResponse, IsoTime, jsonResponse, SERVER_ERROR } from "./schemas";

export const restoreRoutes = createRouter();

const WordsSchema = z.strictObject({ fr: z.string(), en: z.string() });
const RestoreSummarySchema = z
	.strictObject({
		fr: z.string(),
		en: z.string(),
		merge: WordsSchema,
		replace: WordsSchema,
		confirm: z.strictObject({ merge: WordsSchema, replace: WordsSchema }),
		blocked: z.boolean().openapi({ description: "Merge and replace would be refused (rows failing their checks)." }),
	})
	.openapi("RestoreSummary");

/** The public view of a restore run (ids and counts only). */
const RestoreRunSchema = z
	.strictObject({
		id: z.string(),
		snapshotId: z.string(),
		mode: z.enum(["dry-run", "merge", "replace"]),
		status: z.enum(["queued", "running", "complete", "failed"]),
		stage: z.string().nullable(),
		requestedAt: IsoTime,
		finishedAt: IsoTime.nullable(),
		progress: z.strictObject({
			chunksTotal: z.number().int(),
			chunksVerified: z.number().int(),
			chunksLoaded: z.number().int(),
			rowsTotal: z.number().int(),
			rowsWritten: z.number().int(),
			rowsSkippedErased: z.number().int(),
		}),
		undoAvailable: z.boolean(),
		undoneAt: IsoTime.nullable(),
		report: z
			.record(z.string(), z.unknown())
			.nullable()
			.openapi({ description: "When finished: per-table differences (dry run) or what was written." }),
		summary: RestoreSummarySchema.nullable().optional().openapi({
			description:
				"A finished dry run in words (the backup by its local date, what each mode would do, answers first) and the confirmation texts repeating its numbers; null otherwise.",
		}),
		error: z.string().nullable(),
	})
	.openapi("RestoreRun");

type RestoreRunView = z.output<typeof RestoreRunSchema>;

function toView(r: RestoreRunRow, words?: { timeZone: string; now: Date }): RestoreRunView {
	const report = r.report ? (JSON.parse(r.report) as Record<string, unknown>) : null;
	if (report) delete report.swapMaxSeq;
	// A finished dry run concludes in words, computed here once for the dashboard and the CLI.
	const summary =
		words && report && r.mode === "dry-run" && r.status === "complete" && report.tables
			? buildRestoreSummary(r.snapshot_id, report as DryRunCounts, words.timeZone, words.now)
			: null;
	return {
		id: r.id,
		snapshotId: r.snapshot_id,
		mode: r.mode as RestoreRunView["mode"],
		status: r.status as RestoreRunView["status"],
		stage: r.stage,
		requestedAt: r.requested_at,
		finishedAt: r.finished_at,
		progress: {
			chunksTotal: r.chunks_total,
			chunksVerified: r.chunks_verified,
			chunksLoaded: r.chunks_loaded,
			rowsTotal: r.rows_total,
			rowsWritten: r.rows_written,
			rowsSkippedErased: r.rows_skipped_erased,
		},
		undoAvailable: r.undo_available === 1,
		undoneAt: r.undone_at,
		report,
		...(words ? { summary } : {}),
		error: r.error,
	};
}

const RestoreStartedSchema = z
	.strictObject({
		id: z.string(),
		snapshotId: z.string(),
		mode: z.enum(["dry-run", "merge", "replace"]),
		status: z.literal("queued"),
		statusUrl: z.string(),
	})
	.openapi("RestoreStarted");

restoreRoutes.openapi(
	createAdminRoute({
		method: "post",
		path: "/api/admin/restore",
		tags: ["admin"],
		summary: "Start a restore: dry run (default), merge or replace",
		middleware: [jsonBody] as const,
		request: { body: { required: true, content: { "application/json": { schema: restoreRequestSchema } } } },
		responses: {
			202: jsonResponse(RestoreStartedSchema, "Queued; follow it at `statusUrl` (also in Location)."),
			400: errorResponse("`invalid_json`, or `invalid_request` (`fields` names each wrong field)."),
			404: errorResponse("`snapshot_not_found`: no complete snapshot with this id."),
			409: errorResponse(
				"`restore_in_progress`, `undo_pending`, `backup_in_progress`, `erasure_in_progress`, `undo_in_progress`, or `daily_write_limit`: on the Free plan the rows this restore would write (from the newest dry run of the snapshot, else its row count) do not fit in what is left of today's D1 write limit; the message says when or how to proceed.",
			),
			415: errorResponse("`unsupported_media_type`: the body must be application/json."),
			422: errorResponse("`snapshot_invalid`: the manifest is refused (the message says why; an unauthenticated one needs `allowUnsigned: true`)."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { snapshotId, mode, allowUnsigned } = c.req.valid("json");
		const db = c.env.DB;
		// The manifest is checked now so that an obvious refusal is immediate; chunks are verified
		// by the Workflow before its first write.
		const signingKey = c.var.config.BACKUP_SIGNING_KEY;
		const manifest = await verifyManifest(primaryStore(c.env), snapshotId, { signingKey, allowUnsigned });
		if (!manifest.ok) {
			const missing = manifest.reason.includes("has no manifest");
			throw new ApiError(
				missing ? 404 : 422,
				missing ? "snapshot_not_found" : "snapshot_invalid",
				missing ? `No complete snapshot ${snapshotId} (no manifest).` : `Snapshot refused: ${manifest.reason}`,
			);
		}
		if (mode !== "dry-run") {
			const active = await findActiveWrite(c.env, new Date());
			if (active) throw new ApiError(409, "restore_in_progress", `Restore ${active} is still running; wait for it to finish.`);
			if (mode === "replace") {
				const pending = await fetchUndoableRunId(db);
				if (pending) {
					throw new ApiError(
						409,
						"undo_pending",
						`Restore ${pending} can still be undone. Undo it, or run a backup first (which keeps the current data and releases the undo copy).`,
					);
				}
			}
		}
		if (mode !== "dry-run") {
			// D1's daily write limit (Free): refuse now what could not finish today (nothing written).
			const budget = await checkWriteBudget(
				db,
				c.var.config.CLOUDFLARE_PLAN,
				{ snapshotId, mode, rows: manifest.rows, chunks: manifest.chunks.length },
				new Date(),
			);
			if (!budget.ok) throw new ApiError(409, "daily_write_limit", budget.message.en);
		}
		if (mode !== "dry-run") {
			// One lock discipline for every writer (docs/decisions.md, "The data lock").
			const blocker = await findDataLockBlocker(c.env, { kind: mode }, new Date());
			const busy = blocker && describeBlocker(blocker);
			if (busy) throw new ApiError(409, busy.code, busy.message);
		}
		const now = new Date();
		const id = buildRestoreId(now, randomHex(4));
		const recorded = await insertRestoreRunIfFree(db, {
			id,
			snapshotId,
			mode,
			requestedAt: now.toISOString(),
			chunksTotal: manifest.chunks.length,
			rowsTotal: manifest.rows,
		});
		if (!recorded) {
			const other = await findActiveWrite(c.env, now);
			throw new ApiError(409, "restore_in_progress", `Restore ${other ?? "(another)"} is still running; wait for it to finish.`);
		}
		try {
			await c.env.RESTORE_WORKFLOW.create({ id, params: { runId: id, snapshotId, mode, allowUnsigned } });
		} catch (err) {
			await markRestoreRunFailed(db, id, "could not start the workflow");
			throw err;
		}
		logEvent("restore_requested", { runId: id, mode, chunks: manifest.chunks.length });
		if (!isTrusted(manifest.signature)) {
			// The override is the administrator's decision: keep a durable trace of it.
			logEvent("restore_unsigned_override", { runId: id, snapshotId, mode, signature: manifest.signature });
			await insertAuditEntry(db, {
				at: now.toISOString(),
				action: "restore_unsigned_override",
				details: { runId: id, snapshotId, mode, signature: manifest.signature },
			});
		}
		const statusUrl = `/api/admin/restores/${id}`;
		return c.json({ id, snapshotId, mode, status: "queued" as const, statusUrl }, 202, { Location: statusUrl });
	},
	onInvalid({ code: "invalid_request", message: "Invalid restore request." }),
);

restoreRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/restores",
		tags: ["admin"],
		summary: "The 20 most recent restores, newest first",
		responses: { 200: jsonResponse(z.strictObject({ restores: z.array(RestoreRunSchema) }), "The runs."), 500: SERVER_ERROR },
	}),
	async (c) => c.json({ restores: (await fetchRecentRestoreRuns(c.env.DB, 20)).map((r) => toView(r)) }, 200),
);

restoreRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/restores/{id}",
		tags: ["admin"],
		summary: "One restore: progress, then its report",
		request: {
			params: z.object({
				id: z
					.string()
					.refine(isRestoreId, "must be a restore id")
					.openapi({ param: { name: "id", in: "path" }, example: "restore-2026-11-25t103000z-1a2b3c4d" }),
			}),
		},
		responses: {
			200: jsonResponse(RestoreRunSchema, "The run."),
			400: errorResponse("`invalid_request`: not a restore id."),
			404: errorResponse("`not_found`: no such restore."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		const row = await fetchRestoreRun(c.env.DB, id);
		if (!row) throw new ApiError(404, "not_found", `No restore ${id}.`);
		return c.json(toView(row, { timeZone: c.var.config.TIMEZONE, now: new Date() }), 200);
	},
	onInvalid({ code: "invalid_request", message: "Invalid restore id." }),
);

restoreRoutes.openapi(
	createAdminRoute({
		method: "post",
		path: "/api/admin/restore/undo",
		tags: ["admin"],
		summary: "Undo the last replace (while its undo copy is kept)",
		middleware: [holdDataLock("undo")] as const,
		responses: {
			200: jsonResponse(z.strictObject({ undone: z.string() }), "The restore that was undone."),
			404: errorResponse("`nothing_to_undo`."),
			409: errorResponse("`restore_in_progress`, `backup_in_progress`, `erasure_in_progress` or `undo_in_progress`."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const active = await findActiveWrite(c.env, new Date());
		if (active) throw new ApiError(409, "restore_in_progress", `Restore ${active} is still running; wait for it to finish.`);
		const undone = await undoReplace(c.env.DB, new Date().toISOString());
		if (!undone) {
			throw new ApiError(404, "nothing_to_undo", "No replace can be undone (none happened, or a backup since then released the kept data).");
		}
		logEvent("restore_undone", { runId: undone.runId });
		return c.json({ undone: undone.runId }, 200);
	},
);

/** Whether the last replace can be undone, so that a client can offer (or explain) the undo. */
const UndoStateSchema = z
	.strictObject({
		available: z.boolean().openapi({ description: "True when POST /api/admin/restore/undo would bring the replaced data back." }),
		reason: z.enum(["no_replace", "undone", "released"]).nullable().openapi({
			description:
				"Why nothing can be undone (null when available): `no_replace` no replace has finished yet; `undone` the last replace was already undone; `released` a successful backup since then released the kept data.",
		}),
		replace: z
			.strictObject({ id: z.string(), snapshotId: z.string(), finishedAt: IsoTime.nullable(), undoneAt: IsoTime.nullable() })
			.nullable()
			.openapi({ description: "The last finished replace (null when none)." }),
		nextBackupAt: IsoTime.nullable().openapi({
			description: "The next automatic backup: the undo stays possible until the next successful backup (automatic or manual).",
		}),
	})
	.openapi("UndoState");

restoreRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/restore/undo",
		tags: ["admin"],
		summary: "Can the last replace be undone, and until when",
		responses: { 200: jsonResponse(UndoStateSchema, "The undo's state (changes nothing)."), 500: SERVER_ERROR },
	}),
	async (c) => {
		const row = await fetchLatestFinishedReplace(c.env.DB);
		const available = row?.undo_available === 1;
		const reason = available ? null : !row ? "no_replace" : row.undone_at ? "undone" : "released";
		return c.json(
			{
				available,
				reason,
				replace: row ? { id: row.id, snapshotId: row.snapshot_id, finishedAt: row.finished_at, undoneAt: row.undone_at } : null,
				nextBackupAt: nextRunAfter(c.var.config.SCHEDULE_BACKUP, new Date()),
			} as const,
			200,
			{ "Cache-Control": "no-store" },
		);
	},
);
