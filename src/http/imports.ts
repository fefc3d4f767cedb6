// Admin import API: recovery when the account (or the bucket) was lost. `npm run admin -- push`
// sends a snapshot from the administrator's copy, chunk by chunk (each stored with its declared
// SHA-256 checked, nothing decoded), then its manifest (checked for form), which starts the import
// job (src/jobs/import-workflow.ts): every part read back and checked, one per step, then the
// manifest committed signed by this deployment. GET /api/admin/imports/{id} follows the job.
import { z } from "@hono/zod-openapi";
import { fetchImportInstanceStatus, isImportActive, startImport } from "../jobs/import-workflow";
import { checkImportManifest, fetchImportStatus, ImportError, importChunk } from "../offsite/import";
import { partsOf } from "../snapshots/format";
import { primaryStore } from "../snapshots/r2-store";
import { ApiError } from "./errors";
import { createAdminRoute, createRouter, onInvalid } from "./router";
import { errorResponse, jsonResponse, NOT_A_SNAPSHOT_ID, SERVER_ERROR, SnapshotIdParam } from "./schemas";

export const importRoutes = createRouter();

/** A chunk is a few MiB; a manifest a few KiB per chunk. Anything larger is refused unread. */
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

const STATUS: Record<ImportError["code"], 409 | 422> = { snapshot_exists: 409, import_running: 409, invalid_chunk: 422, invalid_manifest: 422 };

function toApiError(err: unknown): unknown {
	return err instanceof ImportError ? new ApiError(STATUS[err.code], err.code, err.message) : err;
}

async function readBody(req: Request, max: number): Promise<Uint8Array> {
	const declared = Number(req.headers.get("Content-Length") ?? "0");
	if (declared > max) throw new ApiError(413, "payload_too_large", `The body is larger than ${max} bytes.`);
	const bytes = new Uint8Array(await req.arrayBuffer());
	if (bytes.byteLength > max) throw new ApiError(413, "payload_too_large", `The body is larger than ${max} bytes.`);
	if (bytes.byteLength === 0) throw new ApiError(400, "empty_body", "The body is empty.");
	return bytes;
}

const ChunkImportedSchema = z
	.strictObject({
		key: z.string().openapi({ description: "Where the chunk is stored." }),
		bytes: z.number().int(),
		sha256: z.string().openapi({ description: "SHA-256 of the stored bytes (the declared one, checked by the store)." }),
	})
	.openapi("ChunkImported");

importRoutes.openapi(
	createAdminRoute({
		method: "put",
		path: "/api/admin/imports/{id}/chunks/{n}",
		tags: ["admin"],
		summary: "Recovery: store one chunk of a snapshot pushed from an administrator's copy (gzip NDJSON)",
		description:
			"Only the cheap checks are made here (size, the SHA-256 declared in `X-Chunk-Sha256`, checked by the store on arrival); the records are read by the import job the manifest starts.",
		request: {
			params: z.object({ id: SnapshotIdParam, n: z.coerce.number().int().min(1).max(999_999).openapi({ param: { name: "n", in: "path" } }) }),
			headers: z.object({
				"x-chunk-sha256": z.string().optional().openapi({ description: "SHA-256 of the body (lowercase hex), as the manifest will name it. Without it the Worker computes it." }),
			}),
			body: { required: true, content: { "application/gzip": { schema: z.string().openapi({ format: "binary" }) } } },
		},
		responses: {
			201: jsonResponse(ChunkImportedSchema, "Stored (its SHA-256 checked); its records are checked by the import job."),
			400: errorResponse("`invalid_id`, or `empty_body`."),
			409: errorResponse("`snapshot_exists`: this snapshot is already complete here; it is never overwritten."),
			413: errorResponse("`payload_too_large`."),
			422: errorResponse("`invalid_chunk`: the body's SHA-256 is not the one declared (nothing stored), or a bad chunk number."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id, n } = c.req.valid("param");
		const declared = c.req.header("X-Chunk-Sha256")?.trim().toLowerCase() || undefined;
		const bytes = await readBody(c.req.raw, MAX_CHUNK_BYTES);
		try {
			return c.json(await importChunk(primaryStore(c.env), id, n, bytes, declared), 201);
		} catch (err) {
			throw toApiError(err);
		}
	},
	onInvalid((fields) => ("n" in fields ? { code: "invalid_chunk", message: "Not a chunk number." } : NOT_A_SNAPSHOT_ID)),
);

const ImportStatusSchema = z
	.strictObject({
		snapshotId: z.string(),
		status: z.enum(["queued", "running", "done", "failed"]).openapi({ description: "`done`: committed (listed, verifiable, restorable); `failed`: refused, nothing committed (see `error`)." }),
		progress: z.strictObject({ parts: z.strictObject({ done: z.number().int(), total: z.number().int() }) }).openapi({ description: "Parts of chunks read back and checked so far." }),
		error: z.string().nullable().openapi({ description: "Why the import was refused or failed (plain sentence)." }),
		statusUrl: z.string().openapi({ description: "Where to follow the job (this resource)." }),
		instance: z.string().openapi({ description: "The import Workflow instance doing the work (for the logs)." }),
		startedAt: z.string(),
		finishedAt: z.string().nullable(),
		rows: z.number().int().nullable().openapi({ description: "Once done: rows committed." }),
		chunks: z.number().int().nullable(),
		contentDigest: z.string().nullable(),
	})
	.openapi("ImportStatus");

const statusUrlOf = (id: string) => `/api/admin/imports/${id}`;

importRoutes.openapi(
	createAdminRoute({
		method: "put",
		path: "/api/admin/imports/{id}/manifest",
		tags: ["admin"],
		summary: "Recovery: check a pushed snapshot's manifest and start the job that checks every stored chunk, then commits it",
		request: {
			params: z.object({ id: SnapshotIdParam }),
			body: { required: true, content: { "application/json": { schema: z.unknown().openapi({ description: "The snapshot's manifest (format docs/backup-format.md), unencrypted." }) } } },
		},
		responses: {
			202: jsonResponse(ImportStatusSchema, "Manifest accepted: the import job started; follow `statusUrl` until `done` or `failed`."),
			400: errorResponse("`invalid_id`, or `invalid_json`."),
			409: errorResponse("`snapshot_exists`, or `import_running` (a push of this snapshot is being checked)."),
			413: errorResponse("`payload_too_large`."),
			422: errorResponse("`invalid_manifest`: unreadable, encrypted, or naming chunks outside this snapshot (the message says what)."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		// The JSON body was already read by the route's validator: take it from the request's cache.
		const declared = Number(c.req.header("Content-Length") ?? "0");
		if (declared > MAX_MANIFEST_BYTES) throw new ApiError(413, "payload_too_large", `The body is larger than ${MAX_MANIFEST_BYTES} bytes.`);
		const text = await c.req.text();
		const store = primaryStore(c.env);
		let partsTotal = 0;
		try {
			const manifest = await checkImportManifest(store, id, text);
			for (const chunk of manifest.chunks) partsTotal += partsOf(chunk).length;
			const current = await fetchImportStatus(store, id);
			if (current && isImportActive(current, await fetchImportInstanceStatus(c.env, current.instance))) {
				throw new ImportError("import_running", `snapshot ${id} is being checked by a previous push; wait for it to end`);
			}
		} catch (err) {
			throw toApiError(err);
		}
		const status = await startImport(c.env, id, text, partsTotal, new Date());
		return c.json(viewOf(status), 202);
	},
	onInvalid(NOT_A_SNAPSHOT_ID),
);

function viewOf(s: Awaited<ReturnType<typeof fetchImportStatus>> & object): z.infer<typeof ImportStatusSchema> {
	return {
		snapshotId: s.snapshotId,
		status: s.status,
		progress: s.progress,
		error: s.error,
		statusUrl: statusUrlOf(s.snapshotId),
		instance: s.instance,
		startedAt: s.startedAt,
		finishedAt: s.finishedAt,
		rows: s.rows,
		chunks: s.chunks,
		contentDigest: s.contentDigest,
	};
}

importRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/imports/{id}",
		tags: ["admin"],
		summary: "Recovery: where the import job of a pushed snapshot stands",
		request: { params: z.object({ id: SnapshotIdParam }) },
		responses: {
			200: jsonResponse(ImportStatusSchema, "The import's status: `done` with what was committed, or `failed` with why."),
			400: errorResponse("`invalid_id`."),
			404: errorResponse("`not_found`: no manifest was pushed for this snapshot."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		const status = await fetchImportStatus(primaryStore(c.env), id);
		if (!status) throw new ApiError(404, "not_found", `No import of snapshot ${id} was started.`);
		// A job whose instance died cannot record its failure: say so rather than "running" forever.
		if (status.status === "queued" || status.status === "running") {
			const instance = await fetchImportInstanceStatus(c.env, status.instance);
			if (!isImportActive(status, instance)) return c.json(viewOf({ ...status, status: "failed", error: "the import job stopped unexpectedly; push again" }), 200);
		}
		return c.json(viewOf(status), 200);
	},
	onInvalid(NOT_A_SNAPSHOT_ID),
);
