// Admin restore API: POST /api/admin/restore (dry-run | merge | replace, always via the
// RestoreWorkflow), GET /api/admin/restores[/:id] (progress, report), POST /api/admin/restore/undo.
import { Hono } from "hono";
import { randomHex } from "../questionnaire/erasure";
import { undoReplace, verifyManifest } from "../restore/load";
import { buildRestoreId, isRestoreId, restoreRequestSchema } from "../restore/plan";
import { getConfig } from "../config";
import { logEvent } from "../log";
import { isTrusted } from "../snapshots/signature";
import { insertAuditEntry } from "../db/audit-log";
import { requireAdmin } from "./auth";
import { ApiError, parseOr400, readJsonBody } from "./errors";
import { primaryStore } from "../snapshots/r2-store";
import { describeBlocker, findDataLockBlocker } from "../jobs/data-lock";
import { holdDataLock } from "./data-lock";

export const restoreRoutes = new Hono<{ Bindings: Env }>();

type RunRow = {
	id: string;
	snapshot_id: string;
	mode: string;
	status: string;
	stage: string | null;
	requested_at: string;
	finished_at: string | null;
	chunks_total: number;
	chunks_verified: number;
	chunks_loaded: number;
	rows_total: number;
	rows_written: number;
	rows_skipped_erased: number;
	undo_available: number;
	undone_at: string | null;
	report: string | null;
	error: string | null;
};

/** The public view of a restore run (ids and counts only). */
function toView(r: RunRow) {
	const report = r.report ? (JSON.parse(r.report) as Record<string, unknown>) : null;
	if (report) delete report.swapMaxSeq;
	return {
		id: r.id,
		snapshotId: r.snapshot_id,
		mode: r.mode,
		status: r.status,
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
		error: r.error,
	};
}

/**
 * Write-mode restores (and undo) run one at a time. A run older than an hour whose Workflow
 * instance died without recording its outcome (errored, terminated, or never created) is marked
 * failed here, so it cannot block every later restore.
 */
export async function findActiveWrite(env: Env, now: Date): Promise<string | null> {
	const db = env.DB;
	const row = await db
		.prepare(`SELECT id, requested_at FROM restore_runs WHERE mode <> 'dry-run' AND status IN ('queued', 'running') LIMIT 1`)
		.first<{ id: string; requested_at: string }>();
	if (!row) return null;
	// A run younger than an hour is trusted (its instance may not even be created yet).
	if (now.getTime() - Date.parse(row.requested_at) < 3600_000) return row.id;
	let dead: string | null = null;
	try {
		const { status } = await (await env.RESTORE_WORKFLOW.get(row.id)).status();
		if (status === "errored" || status === "terminated") dead = `workflow ${status}`;
	} catch {
		dead = "workflow instance missing";
	}
	if (!dead) return row.id;
	await db
		.prepare(`UPDATE restore_runs SET status = 'failed', stage = 'stopped', finished_at = ?2, error = ?3 WHERE id = ?1`)
		.bind(row.id, now.toISOString(), dead)
		.run();
	return null;
}

restoreRoutes.post("/api/admin/restore", requireAdmin, async (c) => {
	const { snapshotId, mode, allowUnsigned } = parseOr400(
		restoreRequestSchema,
		await readJsonBody(c.req.raw),
		"invalid_request",
		"Invalid restore request.",
	);
	const db = c.env.DB;
	// The manifest is checked now so that an obvious refusal is immediate; chunks are verified
	// by the Workflow before its first write.
	const signingKey = getConfig(c.env).BACKUP_SIGNING_KEY;
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
			const pending = await db.prepare(`SELECT id FROM restore_runs WHERE undo_available = 1 LIMIT 1`).first<{ id: string }>();
			if (pending) {
				throw new ApiError(
					409,
					"undo_pending",
					`Restore ${pending.id} can still be undone. Undo it, or run a backup first (which keeps the current data and releases the undo copy).`,
				);
			}
		}
	}
	if (mode !== "dry-run") {
		const blocker = await findDataLockBlocker(c.env, { kind: mode }, new Date());
		const busy = blocker && describeBlocker(blocker);
		if (busy) throw new ApiError(409, busy.code, busy.message);
	}
	const now = new Date();
	const id = buildRestoreId(now, randomHex(4));
	// One statement: two write-mode requests racing past the check above cannot both be recorded
	// (two replaces would share, and wreck, the same staging tables).
	const inserted = await db
		.prepare(
			`INSERT INTO restore_runs (id, snapshot_id, mode, status, stage, requested_at, chunks_total, rows_total)
			 SELECT ?1, ?2, ?3, 'queued', 'queued', ?4, ?5, ?6
			 WHERE ?3 = 'dry-run' OR NOT EXISTS (
			   SELECT 1 FROM restore_runs WHERE mode <> 'dry-run' AND status IN ('queued', 'running'))`,
		)
		.bind(id, snapshotId, mode, now.toISOString(), manifest.chunks.length, manifest.rows)
		.run();
	if (inserted.meta.changes !== 1) {
		const other = await findActiveWrite(c.env, now);
		throw new ApiError(409, "restore_in_progress", `Restore ${other ?? "(another)"} is still running; wait for it to finish.`);
	}
	try {
		await c.env.RESTORE_WORKFLOW.create({ id, params: { runId: id, snapshotId, mode, allowUnsigned } });
	} catch (err) {
		await db.prepare(`UPDATE restore_runs SET status = 'failed', stage = 'stopped', error = 'could not start the workflow' WHERE id = ?1`).bind(id).run();
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
	return c.json({ id, snapshotId, mode, status: "queued", statusUrl }, 202, { Location: statusUrl });
});

restoreRoutes.get("/api/admin/restores", requireAdmin, async (c) => {
	const { results } = await c.env.DB.prepare(`SELECT * FROM restore_runs ORDER BY requested_at DESC LIMIT 20`).all<RunRow>();
	return c.json({ restores: results.map(toView) });
});

restoreRoutes.get("/api/admin/restores/:id", requireAdmin, async (c) => {
	const id = c.req.param("id");
	if (!isRestoreId(id)) throw new ApiError(400, "invalid_request", "Invalid restore id.", { id: "must be a restore id" });
	const row = await c.env.DB.prepare(`SELECT * FROM restore_runs WHERE id = ?1`).bind(id).first<RunRow>();
	if (!row) throw new ApiError(404, "not_found", `No restore ${id}.`);
	return c.json(toView(row));
});

restoreRoutes.post("/api/admin/restore/undo", requireAdmin, holdDataLock("undo"), async (c) => {
	const active = await findActiveWrite(c.env, new Date());
	if (active) throw new ApiError(409, "restore_in_progress", `Restore ${active} is still running; wait for it to finish.`);
	const undone = await undoReplace(c.env.DB, new Date().toISOString());
	if (!undone) {
		throw new ApiError(404, "nothing_to_undo", "No replace can be undone (none happened, or a backup since then released the kept data).");
	}
	logEvent("restore_undone", { runId: undone.runId });
	return c.json({ undone: undone.runId });
});
