// Admin routes of the backup engine: start a backup, follow a run, and read snapshots straight
// from R2 (never only from D1, so that the backups stay readable when D1 is lost).
import { z } from "@hono/zod-openapi";
import { isChunkKeyOf, manifestKey, type Manifest } from "../snapshots/format";
import { MANIFEST_SHA_META, listSnapshotFolders, readManifest } from "../snapshots/store";
import { fetchBackupRun, isRunId, startManualBackup } from "../jobs/backup-trigger";
import type { BackupRun } from "../db/backup-runs";
import { buildRunProgress, explainFailure, type PreviousGood } from "../backup/explain";
import { ApiError } from "./errors";
import { CatalogueUnavailable, reconcileCatalogue, type CatalogueEntry } from "../catalogue/catalogue";
import { describeError, logError } from "../log";
import { primaryStore } from "../snapshots/r2-store";
import { isTrusted, type SignatureStatus } from "../snapshots/signature";
import { createAdminRoute, createRouter, onInvalid, type AppContext } from "./router";
import { ErrorBodySchema, errorResponse, IsoTime, jsonResponse, NOT_A_SNAPSHOT_ID, SERVER_ERROR, SnapshotIdParam } from "./schemas";
import { BackupRunSchema, fetchPreviousGood } from "./status";

export const backupRoutes = createRouter();

/**
 * The public shape of a run (GET /api/admin/backups/:id): with its progress, and for a failed run
 * its explanation in words (naming the previous good backup when `previous` is given).
 */
export function buildRunBody(
	run: BackupRun,
	extra?: { now: Date; timeZone: string; previous?: PreviousGood },
): z.output<typeof BackupRunSchema> {
	return {
		id: run.id,
		trigger: run.trigger,
		status: run.status,
		stage: run.stage,
		rows: run.rows,
		bytes: run.bytes,
		chunks: run.chunks,
		snapshotId: run.snapshotId,
		startedAt: run.startedAt,
		finishedAt: run.finishedAt,
		error: run.error,
		...(extra
			? {
					progress: buildRunProgress(run, extra.now),
					explanation: run.status === "failed" ? explainFailure(run, extra.previous, extra.timeZone, extra.now) : null,
				}
			: {}),
	};
}

export const SnapshotSummarySchema = z
	.strictObject({
		id: z.string(),
		time: IsoTime,
		finishedAt: IsoTime,
		trigger: z.enum(["scheduled", "manual"]),
		rows: z.record(z.string(), z.number().int()).openapi({ description: "Rows per table." }),
		totalRows: z.number().int(),
		bytes: z.number().int(),
		chunks: z.number().int(),
		verified: z.boolean(),
		signature: z.enum(["valid", "unsigned", "invalid", "other-key", "no-key"]).openapi({
			description: "valid/no-key: trusted; unsigned/other-key/invalid: reported, restorable only with allowUnsigned.",
		}),
		formatVersion: z.number().int(),
		encrypted: z.boolean(),
	})
	.openapi("SnapshotSummary");

/** The listing entry of one snapshot (GET /api/admin/snapshots). */
export function buildSnapshotSummary(
	m: Manifest,
	verified: boolean,
	signature: SignatureStatus = "no-key",
): z.output<typeof SnapshotSummarySchema> {
	const rowsPerTable: Record<string, number> = {};
	for (const [t, s] of Object.entries(m.tables)) rowsPerTable[t] = s.rows;
	return {
		id: m.snapshotId,
		time: m.startedAt,
		finishedAt: m.finishedAt,
		trigger: m.trigger,
		rows: rowsPerTable,
		totalRows: m.rows,
		bytes: m.bytes,
		chunks: m.chunks.length,
		// The manifest is written only after every chunk was read back and matched, and its
		// own SHA-256 has just been checked against its metadata.
		verified: verified && isTrusted(signature),
		// valid / no-key (trusted); unsigned / other-key / invalid (reported, restorable only with an override).
		signature,
		formatVersion: m.version,
		encrypted: m.encryption !== null,
	};
}

/** The listing entry of one catalogued snapshot (the same fields, from the catalogue). */
export function buildCatalogueSummary(e: CatalogueEntry): z.output<typeof SnapshotSummarySchema> {
	return {
		id: e.snapshotId,
		time: e.startedAt,
		finishedAt: e.finishedAt,
		trigger: e.trigger,
		rows: e.tables,
		totalRows: e.rows,
		bytes: e.bytes,
		chunks: e.chunks,
		verified: isTrusted(e.signature),
		signature: e.signature,
		formatVersion: e.formatVersion,
		encrypted: e.encrypted,
	};
}

const BackupStartedSchema = z.strictObject({ id: z.string(), statusUrl: z.string() }).openapi("BackupStarted");
const BackupRunningSchema = z
	.strictObject({ error: ErrorBodySchema.shape.error, id: z.string(), statusUrl: z.string() })
	.openapi("BackupAlreadyRunning");

const startResponses = {
	202: jsonResponse(BackupStartedSchema, "The backup is queued; follow it at `statusUrl`."),
	409: jsonResponse(BackupRunningSchema, "`backup_running`: another backup is queued or running (its id and status URL are given)."),
	500: SERVER_ERROR,
};

async function start(c: AppContext) {
	// The request's origin lets the e-mails link this deployment's dashboard (without DASHBOARD_URL).
	const result = await startManualBackup(c.env, new Date(), undefined, new URL(c.req.url).origin);
	if (!result.started) {
		return c.json(
			{
				error: { code: "backup_running", message: "A backup is already running; wait for it to finish." },
				id: result.runningId,
				statusUrl: `/api/admin/backups/${result.runningId}`,
			},
			409,
		);
	}
	return c.json({ id: result.id, statusUrl: `/api/admin/backups/${result.id}` }, 202);
}

backupRoutes.openapi(
	createAdminRoute({ method: "post", path: "/api/admin/backups", tags: ["admin"], summary: "Start a manual backup", responses: startResponses }),
	start,
);

// The original open path, kept as an alias for existing bookmarks and scripts; now admin-only.
backupRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/backup-cron",
		tags: ["admin"],
		summary: "Start a manual backup (historical alias of POST /api/admin/backups)",
		deprecated: true,
		responses: startResponses,
	}),
	start,
);

const RunIdParams = z.object({
	id: z
		.string()
		.refine(isRunId, "expected scheduled-YYYY-MM-DD or manual-YYYYMMDDTHHMMSSZ-xxxxxx")
		.openapi({ param: { name: "id", in: "path" }, example: "scheduled-2026-11-25" }),
});

backupRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/backups/{id}",
		tags: ["admin"],
		summary: "One backup run: progress while it runs, then its outcome (a failure explained in words; a dead run is reconciled to failed)",
		request: { params: RunIdParams },
		responses: {
			200: jsonResponse(BackupRunSchema, "The run."),
			400: errorResponse("`invalid_id`: not a backup run id."),
			404: errorResponse("`not_found`: no such run."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		const now = new Date();
		const run = await fetchBackupRun(c.env, id, now);
		if (!run) throw new ApiError(404, "not_found", "No such backup run.");
		const previous = await fetchPreviousGood(c.env.DB, run);
		return c.json(buildRunBody(run, { now, timeZone: c.var.config.TIMEZONE, previous }), 200, { "Cache-Control": "no-store" });
	},
	onInvalid({ code: "invalid_id", message: "Not a backup run id." }),
);

backupRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/snapshots",
		tags: ["admin"],
		summary: "Complete snapshots in R2, newest first",
		responses: {
			200: jsonResponse(z.strictObject({ snapshots: z.array(SnapshotSummarySchema) }), "Every snapshot with a valid manifest."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const store = primaryStore(c.env);
		const keyring = { signingKey: c.var.config.BACKUP_SIGNING_KEY };
		// The catalogue, reconciled within bounds (unknown manifests read, at most 20 per call).
		// Folders without a manifest are incomplete runs (not snapshots); bad manifests are skipped
		// here and reported by the weekly verification.
		const view = await reconcileCatalogue(store, c.env.DB, keyring, new Date()).catch((err: unknown) => {
			if (!(err instanceof CatalogueUnavailable)) throw err;
			logError("catalogue_unavailable", { error: describeError(err) });
			return null;
		});
		if (view) return c.json({ snapshots: view.entries.map(buildCatalogueSummary) }, 200);
		// D1 unavailable: read the manifests themselves (the bucket is the source of truth).
		const ids = (await listSnapshotFolders(store)).reverse();
		const snapshots: z.output<typeof SnapshotSummarySchema>[] = [];
		for (let i = 0; i < ids.length; i += 8) {
			const reads = await Promise.all(ids.slice(i, i + 8).map((id) => readManifest(store, id, keyring)));
			for (const r of reads) if (r.ok) snapshots.push(buildSnapshotSummary(r.manifest, true, r.signature));
		}
		return c.json({ snapshots }, 200);
	},
);

async function fetchManifestOr404(env: Env, id: string) {
	const read = await readManifest(primaryStore(env), id);
	if (!read.ok && read.reason === "missing") throw new ApiError(404, "not_found", "No such snapshot.");
	if (!read.ok) throw new ApiError(409, "snapshot_unreadable", read.message);
	return read;
}

/**
 * A manifest is data read from the bucket: a chunk key outside the snapshot's own folder is
 * refused (the same rule restore applies), so the API never serves another object of the bucket.
 */
function assertChunkInFolder(id: string, entry: { n: number; key: string }): void {
	if (!isChunkKeyOf(id, entry.key)) {
		throw new ApiError(
			409,
			"chunk_outside_snapshot",
			`The manifest of ${id} lists chunk ${entry.n} outside the snapshot folder; it is not served.`,
		);
	}
}

const SnapshotParams = z.object({ id: SnapshotIdParam });
const binary = (description: string, type: string) => ({
	description,
	content: { [type]: { schema: z.string().openapi({ format: "binary" }) } },
});

backupRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/snapshots/{id}/manifest",
		tags: ["admin"],
		summary: "The manifest as stored (its SHA-256 in X-Manifest-Sha256)",
		request: { params: SnapshotParams },
		responses: {
			200: binary("The stored manifest bytes, unchanged (see docs/backup-format.md).", "application/json"),
			400: errorResponse("`invalid_id`: not a snapshot id."),
			404: errorResponse("`not_found`: no such snapshot."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		const obj = await primaryStore(c.env).getStream(manifestKey(id));
		if (!obj) throw new ApiError(404, "not_found", "No such snapshot.");
		// The stored bytes, unchanged; the expected SHA-256 travels in a header.
		return new Response(obj.body, {
			headers: {
				"Content-Type": "application/json; charset=utf-8",
				"Content-Length": String(obj.size),
				...(obj.metadata[MANIFEST_SHA_META] ? { "X-Manifest-Sha256": obj.metadata[MANIFEST_SHA_META] } : {}),
			},
		});
	},
	onInvalid(NOT_A_SNAPSHOT_ID),
);

const ChunkParams = z.object({
	id: SnapshotIdParam,
	n: z
		.string()
		.regex(/^[1-9]\d{0,5}$/, "expected a whole number from 1 to 999999")
		.transform(Number)
		.openapi({ param: { name: "n", in: "path" }, example: "1" }),
});

backupRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/snapshots/{id}/chunks/{n}",
		tags: ["admin"],
		summary: "One chunk as stored (its SHA-256 in X-Chunk-Sha256)",
		request: { params: ChunkParams },
		responses: {
			200: binary("The chunk's stored bytes (gzip of NDJSON records).", "application/gzip"),
			400: errorResponse("`invalid_id` or `invalid_chunk`."),
			404: errorResponse("`not_found` (no such snapshot or chunk number) or `chunk_missing`."),
			409: errorResponse("`snapshot_unreadable`, or `chunk_outside_snapshot`: the manifest lists a key outside the snapshot folder."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id, n } = c.req.valid("param");
		const { manifest } = await fetchManifestOr404(c.env, id);
		const entry = manifest.chunks[n - 1];
		if (!entry) throw new ApiError(404, "not_found", `The snapshot has ${manifest.chunks.length} chunk(s).`);
		assertChunkInFolder(id, entry);
		const obj = await primaryStore(c.env).getStream(entry.key);
		if (!obj) throw new ApiError(404, "chunk_missing", "The chunk listed in the manifest is missing from storage.");
		const name = entry.key.slice(entry.key.lastIndexOf("/") + 1);
		return new Response(obj.body, {
			headers: {
				"Content-Type": "application/gzip",
				"Content-Length": String(obj.size),
				"Content-Disposition": `attachment; filename="${id}-${name}"`,
				"X-Chunk-Sha256": entry.sha256,
			},
		});
	},
	onInvalid((fields) => ("id" in fields ? NOT_A_SNAPSHOT_ID : { code: "invalid_chunk", message: "Not a chunk number." })),
);

backupRoutes.openapi(
	createAdminRoute({
		method: "get",
		path: "/api/admin/snapshots/{id}/download",
		tags: ["admin"],
		summary: "The whole snapshot as one .ndjson.gz (chunks concatenated)",
		request: { params: SnapshotParams },
		responses: {
			200: binary("Every chunk in order: one valid gzip stream of NDJSON records.", "application/gzip"),
			400: errorResponse("`invalid_id`: not a snapshot id."),
			404: errorResponse("`not_found`: no such snapshot."),
			409: errorResponse("`snapshot_unreadable`, or `chunk_outside_snapshot`: the manifest lists a key outside the snapshot folder."),
			500: SERVER_ERROR,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		const { manifest } = await fetchManifestOr404(c.env, id);
		const store = primaryStore(c.env);
		const entries = manifest.chunks;
		// Every key is checked before the first byte goes out (the status cannot change after).
		for (const entry of entries) assertChunkInFolder(id, entry);
		// Concatenated gzip members are one valid .ndjson.gz; stream one chunk at a time.
		// FixedLengthStream: the client gets a Content-Length and a short stream is an error.
		const { readable, writable } = new FixedLengthStream(manifest.bytes);
		const pump = async () => {
			for (const entry of entries) {
				const obj = await store.getStream(entry.key);
				if (!obj) throw new Error(`chunk ${entry.n} is missing`);
				await obj.body.pipeTo(writable, { preventClose: true });
			}
			await writable.close();
		};
		c.executionCtx.waitUntil(
			pump().catch(async (err: unknown) => {
				await writable.abort(err).catch(() => undefined);
			}),
		);
		const ext = manifest.encryption ? ".ndjson.gz.age" : ".ndjson.gz";
		return new Response(readable, {
			headers: {
				"Content-Type": "application/gzip",
				"Content-Disposition": `attachment; filename="snapshot-${id}${ext}"`,
			},
		});
	},
	onInvalid(NOT_A_SNAPSHOT_ID),
);
