// On-demand verification of one snapshot (dashboard "Vérifier", CLI `verify --server`): runs the
// VerifyWorkflow restricted to that snapshot and reports the result by run id.
import { z } from "@hono/zod-openapi";
import { readManifest } from "../snapshots/store";
import { fetchVerificationRun } from "../db/verification-runs";
import type { VerifyParams } from "../jobs/verify-workflow";
import { logEvent } from "../log";
import { ApiError } from "./errors";
import { primaryStore } from "../snapshots/r2-store";
import { createAdminRoute, createRouter, onInvalid } from "./router";
import { errorResponse, IsoTime, jsonResponse, NOT_A_SNAPSHOT_ID, SERVER_ERROR, SnapshotIdParam } from "./schemas";

export const verificationRoutes = createRouter();

const RUN_ID = /^verify-(manual-\d{8}T\d{6}Z-[0-9a-f]{6}|\d{4}-\d{2}-\d{2})$/;

function buildManualVerifyId(now: Date): string {
	const stamp = now.toISOString().replace(/[-:]/g, "").slice(0, 15);
	const random = [...crypto.getRandomValues(new Uint8Array(3))].map((b) => b.toString(16).padStart(2, "0")).join("");
	return `verify-manual-${stamp}Z-${random}`;
}

const VerificationStartedSchema = z
	.strictObject({ id: z.string(), snapshotId: z.string(), status: z.literal("queued"), statusUrl: z.string() })
	.openapi("VerificationStarted");

/** A verification run: queued (its first step has not recorded it yet), or as recorded in D1. */
const VerificationRunSchema = z
	.union([
		z.strictObject({ id: z.string(), status: z.literal("queued") }),
		z.strictObject({
			id: z.string(),
			scheduledTime: IsoTime,
			status: z.enum(["running", "ok", "failed", "error"]),
			startedAt: IsoTime,
			finishedAt: IsoTime.nullable(),
			snapshotsTotal: z.number().int(),
			snapshotsChecked: z.number().int(),
			snapshotsCorrupt: z.number().int(),
			chunksChecked: z.number().int(),
			bytesChecked: z.number().int(),
			drillSnapshotId: z.string().nullable(),
			drillStatus: z.enum(["ok", "mismatch", "error", "skipped"]).nullable(),
			details: z.unknown().openapi({ description: "What was found, e.g. `corrupt`: [{ snapshotId, chunk, reason }]." }),
			error: z.string().nullable(),
		}),
	])
	.openapi("VerificationRun");

verificationRoutes.openapi(
	createAdminRoute({
		method: "post",
		path: "/api/admin/snapshots/{id}/verify",
		tags: ["admin"],
		summary: "Verify one snapshot now (every chunk re-read and checked)",
		request: { params: z.object({ id: SnapshotIdParam }) },
		responses: {
			202: jsonResponse(VerificationStartedSchema, "Queued; follow it at `statusUrl` (also in Location)."),
			400: errorResponse("`invalid_id`: not a snapshot id."),
			404: errorResponse("`not_found`: no such snapshot."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id: snapshotId } = c.req.valid("param");
		const read = await readManifest(primaryStore(c.env), snapshotId);
		if (!read.ok && read.reason === "missing") throw new ApiError(404, "not_found", "No such snapshot.");
		const now = new Date();
		const id = buildManualVerifyId(now);
		await c.env.VERIFY_WORKFLOW.create({ id, params: { scheduledTime: now.getTime(), snapshotId } satisfies VerifyParams });
		logEvent("verify_requested", { runId: id, snapshotId });
		const statusUrl = `/api/admin/verifications/${id}`;
		return c.json({ id, snapshotId, status: "queued" as const, statusUrl }, 202, { Location: statusUrl });
	},
	onInvalid(NOT_A_SNAPSHOT_ID),
);

verificationRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/verifications/{id}",
		tags: ["admin"],
		summary: "One verification run",
		request: {
			params: z.object({
				id: z
					.string()
					.regex(RUN_ID, "expected verify-…")
					.openapi({ param: { name: "id", in: "path" }, example: "verify-2026-11-29" }),
			}),
		},
		responses: {
			200: jsonResponse(VerificationRunSchema, "The run."),
			400: errorResponse("`invalid_id`: not a verification run id."),
			404: errorResponse("`not_found`: no such run."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		const run = await fetchVerificationRun(c.env.DB, id);
		if (!run) {
			// Either created and its first step has not recorded it yet, or never created at all.
			const exists = await c.env.VERIFY_WORKFLOW.get(id).then(
				() => true,
				() => false,
			);
			if (!exists) throw new ApiError(404, "not_found", "No such verification run.");
			return c.json({ id, status: "queued" as const }, 200);
		}
		return c.json(run, 200);
	},
	onInvalid({ code: "invalid_id", message: "Not a verification run id." }),
);
