// Admin import API: recovery when the account (or the bucket) was lost. `npm run admin -- push`
// sends a snapshot from the administrator's copy, chunk by chunk, then its manifest; the Worker
// checks everything (src/offsite/import.ts) and commits it signed by this deployment.
import { z } from "@hono/zod-openapi";
import { insertAuditEntry } from "../db/audit-log";
import { catalogueCommitted } from "../catalogue/catalogue";
import { logEvent } from "../log";
import { ImportError, commitImport, importChunk } from "../offsite/import";
import { primaryStore } from "../snapshots/r2-store";
import { ApiError } from "./errors";
import { createAdminRoute, createRouter, onInvalid } from "./router";
import { errorResponse, jsonResponse, NOT_A_SNAPSHOT_ID, SERVER_ERROR, SnapshotIdParam } from "./schemas";

export const importRoutes = createRouter();

/** A chunk is a few MiB; a manifest a few KiB per chunk. Anything larger is refused unread. */
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

const STATUS: Record<ImportError["code"], 409 | 422> = { snapshot_exists: 409, invalid_chunk: 422, invalid_manifest: 422 };

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
	.strictObject({ key: z.string(), bytes: z.number().int(), sha256: z.string(), rows: z.number().int() })
	.openapi("ChunkImported");

importRoutes.openapi(
	createAdminRoute({
		method: "put",
		path: "/api/admin/imports/{id}/chunks/{n}",
		tags: ["admin"],
		summary: "Recovery: store one chunk of a snapshot pushed from an administrator's copy (gzip NDJSON)",
		request: {
			params: z.object({ id: SnapshotIdParam, n: z.coerce.number().int().min(1).max(999_999).openapi({ param: { name: "n", in: "path" } }) }),
			body: { required: true, content: { "application/gzip": { schema: z.string().openapi({ format: "binary" }) } } },
		},
		responses: {
			201: jsonResponse(ChunkImportedSchema, "Checked (gzip, every record) and stored."),
			400: errorResponse("`invalid_id`, or `empty_body`."),
			409: errorResponse("`snapshot_exists`: this snapshot is already complete here; it is never overwritten."),
			413: errorResponse("`payload_too_large`."),
			422: errorResponse("`invalid_chunk`: not gzip, or a line is not a record (the message says which)."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id, n } = c.req.valid("param");
		const bytes = await readBody(c.req.raw, MAX_CHUNK_BYTES);
		try {
			return c.json(await importChunk(primaryStore(c.env), id, n, bytes), 201);
		} catch (err) {
			throw toApiError(err);
		}
	},
	onInvalid((fields) => ("n" in fields ? { code: "invalid_chunk", message: "Not a chunk number." } : NOT_A_SNAPSHOT_ID)),
);

const SnapshotImportedSchema = z
	.strictObject({ snapshotId: z.string(), rows: z.number().int(), chunks: z.number().int(), contentDigest: z.string() })
	.openapi("SnapshotImported");

importRoutes.openapi(
	createAdminRoute({
		method: "put",
		path: "/api/admin/imports/{id}/manifest",
		tags: ["admin"],
		summary: "Recovery: commit a pushed snapshot (its manifest, checked against every stored chunk)",
		request: {
			params: z.object({ id: SnapshotIdParam }),
			body: { required: true, content: { "application/json": { schema: z.unknown().openapi({ description: "The snapshot's manifest (format docs/backup-format.md), unencrypted." }) } } },
		},
		responses: {
			201: jsonResponse(SnapshotImportedSchema, "Checked and committed: the snapshot is listed, verifiable and restorable."),
			400: errorResponse("`invalid_id`, or `invalid_json`."),
			409: errorResponse("`snapshot_exists`."),
			413: errorResponse("`payload_too_large`."),
			422: errorResponse("`invalid_manifest`: unreadable, encrypted, or not matching the stored chunks (the message says what)."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		// The JSON body was already read by the route's validator: take it from the request's cache.
		const declared = Number(c.req.header("Content-Length") ?? "0");
		if (declared > MAX_MANIFEST_BYTES) throw new ApiError(413, "payload_too_large", `The body is larger than ${MAX_MANIFEST_BYTES} bytes.`);
		const text = await c.req.text();
		let manifest;
		try {
			manifest = await commitImport(primaryStore(c.env), id, text, { signingKey: c.var.config.BACKUP_SIGNING_KEY });
		} catch (err) {
			throw toApiError(err);
		}
		const at = new Date().toISOString();
		await catalogueCommitted(c.env.DB, manifest, { signingKey: c.var.config.BACKUP_SIGNING_KEY }, new Date(at));
		await insertAuditEntry(c.env.DB, { at, action: "snapshot_import", details: { snapshotId: id, rows: manifest.rows, chunks: manifest.chunks.length } });
		logEvent("snapshot_imported", { snapshotId: id, rows: manifest.rows, chunks: manifest.chunks.length });
		return c.json({ snapshotId: id, rows: manifest.rows, chunks: manifest.chunks.length, contentDigest: manifest.contentDigest }, 201);
	},
	onInvalid(NOT_A_SNAPSHOT_ID),
);
