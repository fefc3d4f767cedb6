// ExportWorkflow: the CSV export of every submission as a job, for data too large for one request
// (docs/decisions.md, "Exports are jobs"). One step per page of submissions (keyset on seq, up to
// the last seq stored when the job began), each page one object under exports/<id>/, then a small
// manifest written last; the file is served by GET /api/admin/exports/{id}/file, the parts read
// and passed on one after the other. Progress lives beside the parts (exports/<id>/progress.json).
import { NonRetryableError } from "cloudflare:workflows";
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { getConfig } from "../config";
import { fetchMaxSubmissionSeq, fetchSubmissionCount, fetchSubmissionPage } from "../db/submissions";
import { describeError, logError, logEvent } from "../log";
import { CSV_EXPORT_PAGE_ROWS, EXPORT_PIECE_BYTES, PLAN_LIMITS } from "../platform/plans";
import { buildCsvFileName, buildCsvHeader, buildCsvRecord, CSV_BOM, type CsvOptions } from "../questionnaire/csv";
import { questionnaire } from "../questionnaire/definition";
import {
	appendExportPage,
	buildExportId,
	deleteOldExports,
	exportPieceKey,
	putExportManifest,
	putExportProgress,
	type ExportFormat,
	type ExportLocale,
	type ExportProgress,
	type ExportRequest,
} from "../snapshots/exports";
import { primaryStore } from "../snapshots/r2-store";
import { markSteps } from "./step-marks";

/** Where the job stands between steps (and what a chained instance starts from). */
export type ExportCursorState = {
	/** This instance's number in the chain (1, 2, …). */
	index: number;
	/** The last seq stored when the job began: rows arriving later are left for the next export. */
	maxSeq: number;
	rowsTotal: number;
	/** Rows with seq <= cursor are written. */
	cursor: number;
	/** Number of the next page (step names). */
	part: number;
	rows: number;
	bytes: number;
	/** Largest piece, fixed when the job begins; bytes of each piece so far. */
	pieceBytes: number;
	pieces: number[];
};

export type ExportParams = {
	request: ExportRequest;
	/** Overrides (tests, benchmarks): submissions per step, steps per instance, bytes per piece. */
	pageRows?: number;
	stepsPerInstance?: number;
	pieceBytes?: number;
	/** Set in a chained instance. */
	continuation?: ExportCursorState;
};

export const CSV_CONTENT_TYPE = "text/csv; charset=utf-8";

/** R2 and D1 hiccups are retried; a page is deterministic, so a retry writes the same object. */
const STEP = { retries: { limit: 3, delay: "5 seconds", backoff: "exponential" }, timeout: "5 minutes" } as const;
/** Steps kept for the manifest, the failure record and the hand-over. */
const RESERVED_STEPS = 4;

/** A short random suffix ([a-z0-9]{8}). */
function randomSuffix(): string {
	return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
}

/** Pure: the CSV options of a request. */
export function csvOptionsOf(r: Pick<ExportRequest, "format" | "locale" | "timeZone">): CsvOptions {
	return { format: r.format, locale: r.locale, timeZone: r.timeZone };
}

/**
 * Start a CSV export: its progress is written ("queued") before the Workflow instance is created,
 * so that the status can be read as soon as the id is returned. `now` is the request's time.
 */
export async function startCsvExport(
	env: Env,
	input: { format: ExportFormat; locale: ExportLocale; timeZone: string },
	now: Date,
	overrides: Pick<ExportParams, "pageRows" | "stepsPerInstance" | "pieceBytes"> = {},
): Promise<ExportRequest> {
	const id = buildExportId(now, randomSuffix());
	const request: ExportRequest = {
		id,
		kind: "csv",
		...input,
		requestedAt: now.toISOString(),
		fileName: buildCsvFileName(csvOptionsOf(input), now),
	};
	await putExportProgress(primaryStore(env), {
		...request,
		status: "queued",
		rows: 0,
		rowsTotal: null,
		pieces: 0,
		bytes: 0,
		instance: id,
		finishedAt: null,
		error: null,
	});
	await env.EXPORT_WORKFLOW.create({ id, params: { request, ...overrides } });
	logEvent("export_started", { id, format: input.format, locale: input.locale });
	return request;
}

/** The hourly clean-up: export files older than EXPORT_KEEP_DAYS, a bounded number per call. */
export async function cleanupExports(env: Pick<Env, "R2_BUCKET">, now: Date): Promise<string[]> {
	const deleted = await deleteOldExports(primaryStore(env), now);
	if (deleted.length > 0) logEvent("exports_deleted", { count: deleted.length });
	return deleted;
}

/**
 * Pure: the job's verdict on an unfinished export from its Workflow instance's status: an instance
 * that errored or was terminated means the export failed (even when it could not record it).
 */
export function isExportInstanceDead(status: string): boolean {
	return status === "errored" || status === "terminated";
}

/** Where an unfinished export's instance stands ("unknown" when it cannot be read). */
export async function fetchExportInstanceStatus(env: Pick<Env, "EXPORT_WORKFLOW">, instance: string): Promise<string> {
	try {
		return (await (await env.EXPORT_WORKFLOW.get(instance)).status()).status;
	} catch {
		return "unknown";
	}
}

export class ExportWorkflow extends WorkflowEntrypoint<Env, ExportParams> {
	override async run(event: Readonly<WorkflowEvent<ExportParams>>, workflowStep: WorkflowStep): Promise<unknown> {
		const step = markSteps(workflowStep, this.env, "export", event.instanceId);
		const env = this.env;
		const { request } = event.payload;
		const { id } = request;
		const store = primaryStore(env);
		const options = csvOptionsOf(request);
		const encoder = new TextEncoder();
		const progressOf = (s: ExportCursorState, status: ExportProgress["status"], error: string | null = null): ExportProgress => ({
			...request,
			status,
			rows: s.rows,
			rowsTotal: s.rowsTotal,
			pieces: s.pieces.length,
			bytes: s.bytes,
			instance: event.instanceId,
			finishedAt: status === "failed" ? new Date().toISOString() : null,
			error,
		});
		let state: ExportCursorState | undefined = event.payload.continuation;
		try {
			const plan = getConfig(env).CLOUDFLARE_PLAN;
			const pageRows = event.payload.pageRows ?? CSV_EXPORT_PAGE_ROWS[plan];
			const stepsPerInstance = event.payload.stepsPerInstance ?? PLAN_LIMITS[plan].stepsPerInstance;
			if (stepsPerInstance < RESERVED_STEPS + 2) throw new NonRetryableError(`${stepsPerInstance} steps per instance cannot hold one page`);
			// Steps taken by this instance (run() replays deterministically, so does this count).
			let stepsTaken = 0;
			if (!state) {
				stepsTaken++;
				state = await step.do("begin", STEP, async () => {
					const maxSeq = await fetchMaxSubmissionSeq(env.DB);
					const rowsTotal = maxSeq === 0 ? 0 : await fetchSubmissionCount(env.DB, maxSeq);
					// Piece 0 begins with the BOM (once, at the very start) and the header line.
					const head = encoder.encode(CSV_BOM + buildCsvHeader(questionnaire, options));
					await store.put(exportPieceKey(id, 0), head, { contentType: CSV_CONTENT_TYPE });
					const s: ExportCursorState = {
						index: 1,
						maxSeq,
						rowsTotal,
						cursor: 0,
						part: 1,
						rows: 0,
						bytes: head.byteLength,
						pieceBytes: event.payload.pieceBytes ?? EXPORT_PIECE_BYTES[plan],
						pieces: [head.byteLength],
					};
					await putExportProgress(store, progressOf(s, "running"));
					return s;
				});
			}
			while (state.cursor < state.maxSeq) {
				if (stepsTaken + 1 + RESERVED_STEPS > stepsPerInstance) {
					const next = `${id}-part${state.index + 1}`;
					const handOver: ExportCursorState = { ...state, index: state.index + 1 };
					await step.do(`continue in ${next}`, STEP, async () => {
						try {
							await env.EXPORT_WORKFLOW.create({ id: next, params: { ...event.payload, continuation: handOver } });
						} catch (err) {
							// A retried step finds the instance its first attempt created.
							const exists = await env.EXPORT_WORKFLOW.get(next).then(
								() => true,
								() => false,
							);
							if (!exists) throw err;
						}
					});
					return { status: "continued", next };
				}
				stepsTaken++;
				const from: ExportCursorState = state;
				state = await step.do(`page ${from.part}`, STEP, async () => {
					const rows = await fetchSubmissionPage(env.DB, { cursor: from.cursor, limit: pageRows, order: "asc", maxSeq: from.maxSeq });
					// Fewer rows than asked: nothing is left up to maxSeq (rows erased meanwhile included).
					const cursor = rows.length < pageRows ? from.maxSeq : rows[rows.length - 1]!.seq;
					if (rows.length === 0) return { ...from, cursor };
					let text = "";
					for (const r of rows) text += buildCsvRecord(questionnaire, r, options);
					const bytes = encoder.encode(text);
					const pieces = await appendExportPage(store, id, from.pieces, bytes, from.pieceBytes, CSV_CONTENT_TYPE);
					const s: ExportCursorState = {
						...from,
						cursor,
						part: from.part + 1,
						rows: from.rows + rows.length,
						bytes: from.bytes + bytes.byteLength,
						pieces,
					};
					await putExportProgress(store, progressOf(s, "running"));
					return s;
				});
			}
			const done: ExportCursorState = state;
			await step.do("finish", STEP, async () => {
				await putExportManifest(store, {
					...request,
					format_name: "cafes-partenaires-export",
					version: 1,
					status: "complete",
					contentType: CSV_CONTENT_TYPE,
					rows: done.rows,
					// Rows erased while the job ran are not in the file: the total is what was written.
					rowsTotal: done.rows,
					bytes: done.bytes,
					pieces: done.pieces,
					finishedAt: new Date().toISOString(),
				});
			});
			logEvent("export_complete", { id, rows: done.rows, bytes: done.bytes, pieces: done.pieces.length });
			return { status: "complete", rows: done.rows, bytes: done.bytes };
		} catch (err) {
			const error = describeError(err);
			logError("export_failed", { id, error });
			const last = state ?? { index: 1, maxSeq: 0, rowsTotal: 0, cursor: 0, part: 0, rows: 0, bytes: 0, pieceBytes: 0, pieces: [] };
			await step.do("record failure", STEP, async () => {
				await putExportProgress(store, progressOf(last, "failed", error));
			});
			throw err;
		}
	}
}
