// Retention pins (issue 11): GET /api/admin/pins[?status=active|released|all], GET
// /api/admin/pins/:id, POST /api/admin/pins/:id/release. A pin holds every snapshot from before
// a data loss until an administrator releases it; each pin says why, in French and English.
import { Hono } from "hono";
import { z } from "zod";
import { logEvent } from "../log";
import { buildPinView } from "../retention/pin-text";
import { fetchKnownPins, isPinId, releasePin } from "../retention/pins";
import { requireAdmin } from "./auth";
import { ApiError, parseOr400, readJsonBody } from "./errors";

export const pinRoutes = new Hono<{ Bindings: Env }>();

/** Unknown parameters are refused so that a typo is not silently ignored. */
const listQuery = z.strictObject({
	status: z.enum(["active", "released", "all"], { error: "must be active, released or all" }).optional(),
});

/** Nothing to say when releasing: the body is empty or `{}` (a field would be a mistake, refused). */
const releaseBody = z.strictObject({});

function checkPinId(id: string): void {
	if (!isPinId(id)) throw new ApiError(400, "invalid_id", "Not a pin id.", { id: "expected pin-YYYY-MM-DDTHHMMSSZ-xxxx" });
}

pinRoutes.get("/api/admin/pins", requireAdmin, async (c) => {
	const { status = "all" } = parseOr400(listQuery, c.req.query(), "invalid_query", "Invalid query parameters.", "query");
	// D1 and the R2 mirror merged: a pin survives the loss of D1.
	const { pins } = await fetchKnownPins(c.env.R2_BUCKET, c.env.DB);
	const shown = pins.filter((p) => status === "all" || (status === "active") === (p.releasedAt === null));
	return c.json({ pins: shown.map(buildPinView) });
});

pinRoutes.get("/api/admin/pins/:id", requireAdmin, async (c) => {
	const id = c.req.param("id");
	checkPinId(id);
	const pin = (await fetchKnownPins(c.env.R2_BUCKET, c.env.DB)).pins.find((p) => p.id === id);
	if (!pin) throw new ApiError(404, "not_found", "No such pin.");
	return c.json(buildPinView(pin));
});

pinRoutes.post("/api/admin/pins/:id/release", requireAdmin, async (c) => {
	const id = c.req.param("id");
	checkPinId(id);
	parseOr400(releaseBody, await readJsonBody(c.req.raw), "invalid_request", "Releasing a pin takes no fields.");
	const { outcome, pin } = await releasePin(c.env.R2_BUCKET, c.env.DB, id, new Date());
	if (outcome === "not_found" || !pin) throw new ApiError(404, "not_found", "No such pin.");
	if (outcome === "already_released") {
		throw new ApiError(409, "already_released", `This pin was already released at ${pin.releasedAt}.`);
	}
	logEvent("retention_pin_released", { pinId: id, snapshots: pin.snapshotIds.length });
	return c.json(buildPinView(pin));
});
