// Export jobs: POST /api/admin/exports starts the CSV export of every submission as a Workflow
// (src/jobs/export-workflow.ts), GET /api/admin/exports/{id} says how far it got, and
// GET /api/admin/exports/{id}/file streams the finished file, its parts passed on one by one.
import { z } from "@hono/zod-openapi";
import { CSV_CONTENT_TYPE, fetchExportInstanceStatus, isExportInstanceDead, startCsvExport } from "../jobs/export-workflow";
import { CSV_FORMATS } from "../questionnaire/csv";
import { exportPieceKey, isExportId, pumpExportFile, readExportState, type ExportState } from "../snapshots/exports";
import { primaryStore } from "../snapshots/r2-store";
import { describeError, logError } from "../log";
import { ApiError } from "./errors";
import { createAdminRoute, createRouter, jsonBody, onInvalid } from "./router";
import { errorResponse, IsoTime, jsonResponse, SERVER_ERROR } from "./schemas";

export const exportRoutes = createRouter();

const ExportRequestSchema = z
	.strictObject({
		kind: z.literal("csv", { error: 'must be "csv"' }).openapi({ description: "What to export: `csv`, every submission." }),
		format: z
			.enum(CSV_FORMATS, { error: 'must be "excel" or "raw"' })
			.optional()
			.default("excel")
			.openapi({ description: "`excel` (default: for a spreadsheet, as GET /api/admin/submissions.csv) or `raw` (for tools)." }),
		lang: z.enum(["fr", "en"], { error: 'must be "fr" or "en"' }).optional().openapi({ description: "Headers and answers' language (default: LOCALE)." }),
	})
	.openapi("ExportRequest");

const ExportIdParam = z
	.string()
	.refine(isExportId, "expected csv-YYYY-MM-DDTHHMMSSZ-xxxxxxxx")
	.openapi({ param: { name: "id", in: "path" }, example: "csv-2026-12-03T052400Z-ab12cd34" });

const NOT_AN_EXPORT_ID = { code: "invalid_id", message: "Not an export id." };

const ExportSchema = z
	.strictObject({
		id: z.string(),
		kind: z.literal("csv"),
		format: z.enum(CSV_FORMATS),
		lang: z.enum(["fr", "en"]),
		status: z.enum(["queued", "running", "complete", "failed"]),
		progress: z.strictObject({
			rows: z.number().int().openapi({ description: "Submissions written so far." }),
			rowsTotal: z.number().int().nullable().openapi({ description: "Submissions to write (null until the job has begun)." }),
		}),
		requestedAt: IsoTime,
		finishedAt: IsoTime.nullable(),
		fileName: z.string(),
		bytes: z.number().int().nullable().openapi({ description: "Size of the finished file." }),
		downloadUrl: z.string().nullable().openapi({ description: "Where to download the file, once `status` is `complete`." }),
		pieces: z
			.number()
			.int()
			.nullable()
			.openapi({
				description:
					"Once complete: how many pieces the file is served in. `downloadUrl?piece=0` … `?piece=pieces-1`, concatenated in order, are the file; each piece stays within one request's CPU budget (the whole file at once may not, for a large file).",
			}),
		error: z.string().nullable(),
	})
	.openapi("Export");

type ExportView = z.output<typeof ExportSchema>;

const ExportStartedSchema = ExportSchema.extend({ statusUrl: z.string().openapi({ description: "GET it to follow the job." }) }).openapi(
	"ExportStarted",
);

const statusUrlOf = (id: string) => `/api/admin/exports/${id}`;

/** The public view of an export, from its stored state (and its instance, when unfinished). */
function toView(state: ExportState, instanceStatus: string | null): ExportView {
	if (state.done) {
		const m = state.manifest;
		return {
			id: m.id,
			kind: "csv",
			format: m.format,
			lang: m.locale,
			status: "complete",
			progress: { rows: m.rows, rowsTotal: m.rowsTotal },
			requestedAt: m.requestedAt,
			finishedAt: m.finishedAt,
			fileName: m.fileName,
			bytes: m.bytes,
			downloadUrl: `${statusUrlOf(m.id)}/file`,
			pieces: m.pieces.length,
			error: null,
		};
	}
	const p = state.progress;
	// An instance that died without recording it (out of retries, terminated) is a failure too.
	const dead = p.status !== "failed" && instanceStatus !== null && isExportInstanceDead(instanceStatus);
	return {
		id: p.id,
		kind: "csv",
		format: p.format,
		lang: p.locale,
		status: dead ? "failed" : p.status,
		progress: { rows: p.rows, rowsTotal: p.rowsTotal },
		requestedAt: p.requestedAt,
		finishedAt: p.finishedAt,
		fileName: p.fileName,
		bytes: null,
		downloadUrl: null,
		pieces: null,
		error: dead ? "The export job stopped without finishing." : p.error,
	};
}

async function fetchStateOr404(env: Env, id: string): Promise<ExportState> {
	const state = await readExportState(primaryStore(env), id);
	if (!state) throw new ApiError(404, "export_not_found", `No export ${id} (exports are deleted after 7 days).`);
	return state;
}

exportRoutes.openapi(
	createAdminRoute({
		method: "post",
		path: "/api/admin/exports",
		tags: ["admin"],
		summary: "Start an export job: every submission as a CSV file, made in the background",
		middleware: [jsonBody] as const,
		request: { body: { required: true, content: { "application/json": { schema: ExportRequestSchema } } } },
		responses: {
			202: jsonResponse(ExportStartedSchema, "Queued; follow it at `statusUrl` (also in Location)."),
			400: errorResponse("`invalid_json`, or `invalid_request` (`fields` names each wrong field)."),
			415: errorResponse("`unsupported_media_type`: the body must be application/json."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { format, lang } = c.req.valid("json");
		const config = c.var.config;
		const request = await startCsvExport(c.env, { format, locale: lang ?? config.LOCALE, timeZone: config.TIMEZONE }, new Date());
		const statusUrl = statusUrlOf(request.id);
		const view = toView(
			{
				done: false,
				progress: { ...request, status: "queued", rows: 0, rowsTotal: null, pieces: 0, bytes: 0, instance: request.id, finishedAt: null, error: null },
			},
			null,
		);
		return c.json({ ...view, statusUrl }, 202, { Location: statusUrl, "Cache-Control": "no-store" });
	},
);

exportRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/exports/{id}",
		tags: ["admin"],
		summary: "Where an export job stands: status, rows written of rows to write, the download address when complete",
		request: { params: z.object({ id: ExportIdParam }) },
		responses: {
			200: jsonResponse(ExportSchema, "The export."),
			400: errorResponse("`invalid_id`: not an export id."),
			404: errorResponse("`export_not_found`: no such export (or deleted after 7 days)."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		const state = await fetchStateOr404(c.env, id);
		const instance = state.done || state.progress.status === "failed" ? null : await fetchExportInstanceStatus(c.env, state.progress.instance);
		return c.json(toView(state, instance), 200, { "Cache-Control": "no-store" });
	},
	onInvalid(NOT_AN_EXPORT_ID),
);

exportRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/exports/{id}/file",
		tags: ["admin"],
		summary: "The finished export file (CSV, UTF-8 with BOM), streamed; or one piece of it (`?piece=k`)",
		request: {
			params: z.object({ id: ExportIdParam }),
			query: z.strictObject({
				piece: z
					.string()
					.regex(/^\d{1,9}$/, "must be a whole number")
					.transform(Number)
					.optional()
					.openapi({ description: "0-based piece number (see `pieces` in the export's status); the whole file when absent." }),
			}),
		},
		responses: {
			200: { description: "The file, as an attachment.", content: { "text/csv": { schema: z.string().openapi({ format: "binary" }) } } },
			400: errorResponse("`invalid_id`: not an export id; `invalid_query`: `piece` is not a piece of this file."),
			404: errorResponse("`export_not_found`: no such export (or deleted after 7 days)."),
			409: errorResponse("`export_not_ready`: the job has not finished (or failed); see GET /api/admin/exports/{id}."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		const { piece } = c.req.valid("query");
		const state = await fetchStateOr404(c.env, id);
		if (!state.done) {
			const failed = state.progress.status === "failed";
			throw new ApiError(
				409,
				"export_not_ready",
				failed ? `Export ${id} failed; start a new one.` : `Export ${id} is not finished yet (${state.progress.rows} rows written); try again when its status is complete.`,
			);
		}
		const manifest = state.manifest;
		if (piece !== undefined && piece >= manifest.pieces.length) {
			throw new ApiError(400, "invalid_query", `This file has ${manifest.pieces.length} piece(s), numbered from 0.`, {
				piece: `must be below ${manifest.pieces.length}`,
			});
		}
		const headers = {
			"Content-Type": CSV_CONTENT_TYPE,
			"Content-Disposition": `attachment; filename="${manifest.fileName}"`,
			"Cache-Control": "no-store",
			"X-Content-Type-Options": "nosniff",
			"X-Export-Pieces": String(manifest.pieces.length),
		};
		const store = primaryStore(c.env);
		if (piece !== undefined) {
			// One piece is one object: its body is returned as it is stored (nothing to pass on here).
			const obj = await store.getStream(exportPieceKey(id, piece));
			if (!obj || obj.size !== manifest.pieces[piece]) throw new Error(`export ${id}: piece ${piece} is missing or not its recorded size`);
			return new Response(obj.body, { headers: { ...headers, "Content-Length": String(obj.size) } });
		}
		// FixedLengthStream: the client gets a Content-Length, and a missing piece is an error, not a short file.
		const { readable, writable } = new FixedLengthStream(manifest.bytes);
		c.executionCtx.waitUntil(
			pumpExportFile(store, manifest, writable).catch(async (err: unknown) => {
				// The 200 is already sent: the download fails (short of its Content-Length), the log says why.
				logError("export_download_failed", { id, error: describeError(err) });
				await writable.abort(err).catch(() => undefined);
			}),
		);
		return new Response(readable, { headers });
	},
	onInvalid((fields) => ("id" in fields ? NOT_AN_EXPORT_ID : { code: "invalid_query", message: "A query parameter is wrong or unknown." })),
);
