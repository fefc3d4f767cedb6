// Administrator reads of the submissions: a paginated JSON listing (cursor on seq) and a CSV
// export streamed page by page, so memory stays bounded whatever the number of rows.
import { z } from "@hono/zod-openapi";
import { fetchMaxSubmissionSeq, fetchSubmissionPage, parseStoredJson, type SubmissionRow } from "../db/submissions";
import { describeError, logError, logEvent } from "../log";
import { buildCsvFileName, buildCsvHeader, buildCsvRecord, CSV_BOM, CSV_FORMATS, type CsvOptions } from "../questionnaire/csv";
import { questionnaire as defaultQuestionnaire, type Questionnaire } from "../questionnaire/definition";
import type { Locale } from "../questionnaire/validate";
import { createAdminRoute, createRouter } from "./router";
import { errorResponse, IsoTime, jsonResponse, SERVER_ERROR } from "./schemas";

export const ADMIN_PAGE_MAX = 200;

/** The CSV export's query: ?format=excel (default) | raw, ?lang=fr|en (default: LOCALE). docs/questionnaire.md */
const csvQuery = z.strictObject({
	format: z.enum(CSV_FORMATS, { error: 'must be "excel" or "raw"' }).optional().default("excel"),
	lang: z.enum(["fr", "en"], { error: 'must be "fr" or "en"' }).optional(),
});
/** Rows read from D1 per step of the CSV export. */
export const CSV_PAGE_SIZE = 500;

const wholeNumber = (min: number, max: number) =>
	z
		.string()
		.regex(/^\d{1,15}$/, "must be a whole number")
		.transform(Number)
		.pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/**
 * The listing's query: ?limit=1..200 (50), ?cursor=<next_cursor of the previous page>, ?order=desc|asc.
 * Unknown parameters are refused, so that a typo is not silently ignored.
 */
const listQuery = z.strictObject({
	limit: wholeNumber(1, ADMIN_PAGE_MAX).optional().default(50).openapi({ description: `Rows per page, 1 to ${ADMIN_PAGE_MAX}.` }),
	cursor: wholeNumber(0, Number.MAX_SAFE_INTEGER)
		.optional()
		.openapi({ description: "`next_cursor` of the previous page." }),
	order: z.enum(["desc", "asc"], { error: 'must be "desc" or "asc"' }).optional().default("desc"),
});

const ListedSubmissionSchema = z
	.strictObject({
		seq: z.number().int(),
		id: z.string(),
		received_at: IsoTime,
		questionnaire_version: z.string(),
		role: z.strictObject({ key: z.string(), label: z.string() }).nullable(),
		answers: z.unknown().openapi({ description: "The answers as stored, by question id." }),
		validation: z.unknown().openapi({ description: "How the submission was checked when it arrived." }),
	})
	.openapi("ListedSubmission");

const SubmissionListSchema = z.strictObject({
	submissions: z.array(ListedSubmissionSchema),
	next_cursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last page." }),
});

/** A stored row as the listing shows it (answers and validation parsed back from JSON). */
function toListedSubmission(row: SubmissionRow): z.output<typeof ListedSubmissionSchema> {
	return {
		seq: row.seq,
		id: row.id,
		received_at: row.received_at,
		questionnaire_version: row.questionnaire_version,
		role: row.role_key ? { key: row.role_key, label: row.role_label ?? row.role_key } : null,
		answers: parseStoredJson(row.answers, "answers", row.seq),
		validation: parseStoredJson(row.validation, "validation", row.seq),
	};
}

/**
 * The CSV export as a stream: BOM and header, then rows in seq order, read CSV_PAGE_SIZE at a
 * time, up to `maxSeq` (taken when the export starts, so rows arriving meanwhile are left for the
 * next export instead of making the end move).
 */
export function streamSubmissionsCsv(
	db: D1Database,
	def: Questionnaire,
	options: CsvOptions & { maxSeq: number; pageSize?: number },
): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	const pageSize = options.pageSize ?? CSV_PAGE_SIZE;
	let cursor = 0;
	let rows = 0;
	return new ReadableStream<Uint8Array>(
		{
			start(controller) {
				controller.enqueue(encoder.encode(CSV_BOM + buildCsvHeader(def, options)));
			},
			async pull(controller) {
				try {
					const page = await fetchSubmissionPage(db, { cursor, limit: pageSize, order: "asc", maxSeq: options.maxSeq });
					if (page.length > 0) {
						controller.enqueue(encoder.encode(page.map((r) => buildCsvRecord(def, r, options)).join("")));
						cursor = page[page.length - 1]!.seq;
						rows += page.length;
					}
					if (page.length < pageSize) {
						logEvent("submissions_exported", { rows });
						controller.close();
					}
				} catch (err) {
					// The 200 status is already sent: the download ends early, and the log says why.
					logError("submissions_export_failed", { rows, error: describeError(err) });
					controller.error(err);
				}
			},
		},
		{ highWaterMark: 0 },
	);
}

/** The administrator routes over submissions for one definition (the default one in production). */
export function createAdminSubmissionRoutes(def: Questionnaire) {
	const routes = createRouter();

	routes.openapi(
		createAdminRoute({
			method: "get",
			path: "/api/admin/submissions",
			tags: ["admin"],
			summary: "Submissions, one page at a time (cursor on seq)",
			request: { query: listQuery },
			responses: {
				200: jsonResponse(SubmissionListSchema, "One page of submissions."),
				400: errorResponse("`invalid_query`: a parameter is wrong or unknown (`fields` names it)."),
				500: SERVER_ERROR,
			},
		}),
		async (c) => {
			const { limit, cursor, order } = c.req.valid("query");
			// One row more than asked says whether another page follows.
			const rows = await fetchSubmissionPage(c.env.DB, { cursor, limit: limit + 1, order });
			const page = rows.slice(0, limit);
			return c.json(
				{
					submissions: page.map(toListedSubmission),
					next_cursor: rows.length > limit ? String(page[page.length - 1]!.seq) : null,
				},
				200,
				{ "Cache-Control": "no-store" },
			);
		},
	);

	routes.openapi(
		createAdminRoute({
			method: "get",
			path: "/api/admin/submissions.csv",
			tags: ["admin"],
			summary: "Every submission as CSV (UTF-8 with BOM, streamed): for a spreadsheet (excel, default) or for tools (raw)",
			request: { query: csvQuery },
			responses: {
				200: { description: "The CSV file, one row per submission.", content: { "text/csv": { schema: z.string() } } },
				400: errorResponse("`invalid_query`: `fields` names the wrong parameter."),
				500: SERVER_ERROR,
			},
		}),
		async (c) => {
			const { format, lang } = c.req.valid("query");
			const config = c.var.config;
			const options: CsvOptions = { format, locale: lang ?? config.LOCALE, timeZone: config.TIMEZONE };
			// Read before answering, so that a database failure is a 500 rather than a cut-off file.
			const maxSeq = await fetchMaxSubmissionSeq(c.env.DB);
			return new Response(streamSubmissionsCsv(c.env.DB, def, { ...options, maxSeq }), {
				headers: {
					"Content-Type": "text/csv; charset=utf-8",
					"Content-Disposition": `attachment; filename="${buildCsvFileName(options, new Date())}"`,
					"Cache-Control": "no-store",
					"X-Content-Type-Options": "nosniff",
				},
			});
		},
	);

	return routes;
}

export const adminSubmissionRoutes = createAdminSubmissionRoutes(defaultQuestionnaire);
