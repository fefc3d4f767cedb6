// POST /api/admin/erasures: honour a right-to-erasure request, by submission id or by e-mail.
// Deletes the submissions and records ids + a salted hash of the e-mail, never the data.
import { Hono } from "hono";
import { buildErasureId, erasureRequestSchema, hashEmail, normaliseEmail, randomHex } from "../questionnaire/erasure";
import { buildEraseStatements, fetchSubmissionTables, findSubmissionIdsByEmail, submissionExists } from "../db/erasures";
import { logEvent } from "../log";
import { requireAdmin } from "./auth";
import { findActiveWrite } from "./restore";
import { holdDataLock } from "./data-lock";
import { ApiError, parseOr400, readJsonBody } from "./errors";

export const erasureRoutes = new Hono<{ Bindings: Env }>();

erasureRoutes.post("/api/admin/erasures", requireAdmin, holdDataLock("erasure"), async (c) => {
	const { submissionId, email } = parseOr400(
		erasureRequestSchema,
		await readJsonBody(c.req.raw),
		"invalid_request",
		"Give exactly one of submissionId or email.",
	);
	const db = c.env.DB;
	// A merge or replace in progress may still write this respondent's rows from chunks not yet
	// loaded, where no lookup can see them: erase once it has finished (docs/erasure.md).
	const restoring = await findActiveWrite(c.env, new Date());
	if (restoring) {
		throw new ApiError(409, "restore_in_progress", `Restore ${restoring} is running; repeat this request once it has finished.`);
	}
	const tables = await fetchSubmissionTables(db);
	const ids = email !== undefined
		? await findSubmissionIdsByEmail(db, normaliseEmail(email), tables)
		: (await submissionExists(db, submissionId!, tables)) ? [submissionId!] : [];
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
});
