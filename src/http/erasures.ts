// POST /api/admin/erasures: honour a right-to-erasure request, by submission id or by e-mail.
// Deletes the submissions and records ids + a salted hash of the e-mail, never the data.
import { z } from "@hono/zod-openapi";
import { buildErasureId, erasureRequestSchema, hashEmail, normaliseEmail, randomHex } from "../questionnaire/erasure";
import { buildEraseStatements, fetchSubmissionTables, findSubmissionIdsByEmail, submissionExists } from "../db/erasures";
import { findActiveWrite } from "../restore/runs";
import { logEvent } from "../log";
import { ApiError } from "./errors";
import { holdDataLock } from "./data-lock";
import { createAdminRoute, createRouter, jsonBody, onInvalid } from "./router";
import { errorResponse, jsonResponse, SERVER_ERROR } from "./schemas";

export const erasureRoutes = createRouter();

const ErasureRecordedSchema = z
	.strictObject({ id: z.string(), erasedSubmissions: z.array(z.string()) })
	.openapi("ErasureRecorded");

erasureRoutes.openapi(
	createAdminRoute({
		method: "post",
		path: "/api/admin/erasures",
		tags: ["admin"],
		summary: "Erase a respondent's submissions (by submission id or by e-mail)",
		middleware: [holdDataLock("erasure"), jsonBody] as const,
		request: { body: { required: true, content: { "application/json": { schema: erasureRequestSchema } } } },
		responses: {
			201: jsonResponse(ErasureRecordedSchema, "Erased and recorded (ids and a salted hash of the address only)."),
			400: errorResponse("`invalid_json`, or `invalid_request`: give exactly one of submissionId or email."),
			404: errorResponse("`not_found`: no submission matches."),
			409: errorResponse("`restore_in_progress`, `backup_in_progress` (a replace or undo holds the data lock)…: repeat once it has finished."),
			415: errorResponse("`unsupported_media_type`: the body must be application/json."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { submissionId, email } = c.req.valid("json");
		const db = c.env.DB;
		// A merge or replace in progress may still write this respondent's rows from chunks not yet
		// loaded, where no lookup can see them: erase once it has finished (docs/erasure.md).
		const restoring = await findActiveWrite(c.env, new Date());
		if (restoring) {
			throw new ApiError(409, "restore_in_progress", `Restore ${restoring} is running; repeat this request once it has finished.`);
		}
		const tables = await fetchSubmissionTables(db);
		const ids =
			email !== undefined
				? await findSubmissionIdsByEmail(db, normaliseEmail(email), tables)
				: (await submissionExists(db, submissionId!, tables))
					? [submissionId!]
					: [];
		// Nothing matches: record nothing (an entry without ids would only hold a hash of an address).
		if (ids.length === 0) throw new ApiError(404, "not_found", "No submission matches this request.");
		const now = new Date();
		const salt = email !== undefined ? randomHex(16) : null;
		const entry = {
			id: buildErasureId(now, randomHex(4)),
			requestedAt: now.toISOString(),
			submissionIds: ids,
			emailHash: email !== undefined ? hashEmail(email, salt!) : null,
			emailSalt: salt,
		};
		await db.batch(buildEraseStatements(db, entry, tables));
		logEvent("erasure_recorded", { erasureId: entry.id, submissions: ids.length, by: email !== undefined ? "email" : "id" });
		return c.json({ id: entry.id, erasedSubmissions: ids }, 201);
	},
	onInvalid({ code: "invalid_request", message: "Give exactly one of submissionId or email." }),
);
