// Retention pins: GET /api/admin/pins[?status=active|released|all], GET /api/admin/pins/{id},
// POST /api/admin/pins/{id}/release. A pin holds every snapshot from before a data loss until an
// administrator releases it; each pin says why, in French and English.
import { z } from "@hono/zod-openapi";
import { logEvent } from "../log";
import { buildPinView, type PinView } from "../retention/pin-text";
import { fetchKnownPins, isPinId, releasePin } from "../retention/pins";
import { primaryStore } from "../snapshots/r2-store";
import { ApiError } from "./errors";
import { createAdminRoute, createRouter, jsonBody, onInvalid } from "./router";
import { errorResponse, IsoTime, jsonResponse, SERVER_ERROR } from "./schemas";

export const pinRoutes = createRouter();

export const PinSchema = z
	.looseObject({
		id: z.string(),
		createdAt: IsoTime,
		detectedIn: z.string().openapi({ description: "The first snapshot taken after the loss." }),
		lastBefore: z.string().openapi({ description: "The last snapshot that still held the lost rows." }),
		snapshotIds: z.array(z.string()).openapi({ description: "Every snapshot the pin keeps, oldest first." }),
		tables: z.array(z.looseObject({ table: z.string() })),
		reason: z.string(),
		alertedAt: IsoTime.nullable(),
		releasedAt: IsoTime.nullable(),
		active: z.boolean(),
		message: z.strictObject({ fr: z.string(), en: z.string() }),
	})
	.openapi("RetentionPin");

const PinIdParam = z
	.string()
	.refine(isPinId, "expected pin-YYYY-MM-DDTHHMMSSZ-xxxx")
	.openapi({ param: { name: "id", in: "path" }, example: "pin-2026-12-02T100000Z-abc123" });
const NOT_A_PIN_ID = { code: "invalid_id", message: "Not a pin id." };

const view = (p: PinView): z.output<typeof PinSchema> => p;

pinRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/pins",
		tags: ["admin"],
		summary: "Retention pins (snapshots kept after a data loss), newest first",
		request: {
			query: z.strictObject({
				status: z.enum(["active", "released", "all"], { error: "must be active, released or all" }).optional(),
			}),
		},
		responses: {
			200: jsonResponse(z.strictObject({ pins: z.array(PinSchema) }), "The pins, with their explanation."),
			400: errorResponse("`invalid_query`."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { status = "all" } = c.req.valid("query");
		// D1 and the R2 mirror merged: a pin survives the loss of D1.
		const { pins } = await fetchKnownPins(primaryStore(c.env), c.env.DB);
		const shown = pins.filter((p) => status === "all" || (status === "active") === (p.releasedAt === null));
		return c.json({ pins: shown.map((p) => view(buildPinView(p))) }, 200);
	},
);

pinRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/pins/{id}",
		tags: ["admin"],
		summary: "One retention pin",
		request: { params: z.object({ id: PinIdParam }) },
		responses: {
			200: jsonResponse(PinSchema, "The pin and its explanation."),
			400: errorResponse("`invalid_id`."),
			404: errorResponse("`not_found`."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		const pin = (await fetchKnownPins(primaryStore(c.env), c.env.DB)).pins.find((p) => p.id === id);
		if (!pin) throw new ApiError(404, "not_found", "No such pin.");
		return c.json(view(buildPinView(pin)), 200);
	},
	onInvalid(NOT_A_PIN_ID),
);

pinRoutes.openapi(
	createAdminRoute({
		method: "post",
		path: "/api/admin/pins/{id}/release",
		tags: ["admin"],
		summary: "Release a pin: normal retention applies again to the snapshots it held (audited)",
		middleware: [jsonBody] as const,
		request: {
			params: z.object({ id: PinIdParam }),
			body: { required: false, content: { "application/json": { schema: z.strictObject({}).openapi({ description: "Nothing: `{}` or no body." }) } } },
		},
		responses: {
			200: jsonResponse(PinSchema, "Released."),
			400: errorResponse("`invalid_id`, or `invalid_request` (releasing takes no fields)."),
			404: errorResponse("`not_found`."),
			409: errorResponse("`already_released`."),
			415: errorResponse("`unsupported_media_type`."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		const { outcome, pin } = await releasePin(primaryStore(c.env), c.env.DB, id, new Date());
		if (outcome === "not_found" || !pin) throw new ApiError(404, "not_found", "No such pin.");
		if (outcome === "already_released") {
			throw new ApiError(409, "already_released", `This pin was already released at ${pin.releasedAt}.`);
		}
		logEvent("retention_pin_released", { pinId: id, snapshots: pin.snapshotIds.length });
		return c.json(view(buildPinView(pin)), 200);
	},
	onInvalid((fields) => ("id" in fields ? NOT_A_PIN_ID : { code: "invalid_request", message: "Releasing a pin takes no fields." })),
);
