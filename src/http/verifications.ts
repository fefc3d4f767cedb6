// On-demand verification of one snapshot (dashboard "Vérifier", CLI `verify --server`): runs the
// VerifyWorkflow restricted to that snapshot and reports the result by run id.
import { Hono } from "hono";
import { isSnapshotId } from "../snapshots/format";
import { readManifest } from "../snapshots/store";
import { fetchVerificationRun } from "../db/verification-runs";
import type { VerifyParams } from "../jobs/verify-workflow";
import { logEvent } from "../log";
import { requireAdmin } from "./auth";
import { ApiError } from "./errors";
import { primaryStore } from "../snapshots/r2-store";

export const verificationRoutes = new Hono<{ Bindings: Env }>();

const RUN_ID = /^verify-(manual-\d{8}T\d{6}Z-[0-9a-f]{6}|\d{4}-\d{2}-\d{2})$/;

function buildManualVerifyId(now: Date): string {
	const stamp = now.toISOString().replace(/[-:]/g, "").slice(0, 15);
	const random = [...crypto.getRandomValues(new Uint8Array(3))].map((b) => b.toString(16).padStart(2, "0")).join("");
	return `verify-manual-${stamp}Z-${random}`;
}

verificationRoutes.post("/api/admin/snapshots/:id/verify", requireAdmin, async (c) => {
	const snapshotId = c.req.param("id");
	if (!isSnapshotId(snapshotId)) {
		throw new ApiError(400, "invalid_id", "Not a snapshot id.", { id: "expected YYYY-MM-DDTHHMMSSZ-xxxx" });
	}
	const read = await readManifest(primaryStore(c.env), snapshotId);
	if (!read.ok && read.reason === "missing") throw new ApiError(404, "not_found", "No such snapshot.");
	const now = new Date();
	const id = buildManualVerifyId(now);
	await c.env.VERIFY_WORKFLOW.create({ id, params: { scheduledTime: now.getTime(), snapshotId } satisfies VerifyParams });
	logEvent("verify_requested", { runId: id, snapshotId });
	const statusUrl = `/api/admin/verifications/${id}`;
	return c.json({ id, snapshotId, status: "queued", statusUrl }, 202, { Location: statusUrl });
});

verificationRoutes.get("/api/admin/verifications/:id", requireAdmin, async (c) => {
	const id = c.req.param("id");
	if (!RUN_ID.test(id)) throw new ApiError(400, "invalid_id", "Not a verification run id.", { id: "expected verify-…" });
	const run = await fetchVerificationRun(c.env.DB, id);
	if (!run) {
		// Either created and its first step has not recorded it yet, or never created at all.
		const exists = await c.env.VERIFY_WORKFLOW.get(id).then(
			() => true,
			() => false,
		);
		if (!exists) throw new ApiError(404, "not_found", "No such verification run.");
		return c.json({ id, status: "queued" });
	}
	return c.json({ ...run, status: run.status === "running" ? "running" : run.status });
});
