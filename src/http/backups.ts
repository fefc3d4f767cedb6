// Admin routes of the backup engine: start a backup, follow a run, and read snapshots straight
// from R2 (never only from D1, so that the backups stay readable when D1 is lost).
import { Hono, type Context } from "hono";
import { isSnapshotId, manifestKey, type Manifest } from "../snapshots/format";
import { MANIFEST_SHA_META, listSnapshotFolders, readManifest } from "../snapshots/store";
import { fetchBackupRun, isRunId, startManualBackup } from "../jobs/backup-trigger";
import type { BackupRun } from "../db/backup-runs";
import { getConfig } from "../config";
import { requireAdmin } from "./auth";
import { ApiError } from "./errors";
import { primaryStore } from "../snapshots/r2-store";
import { isTrusted, type SignatureStatus } from "../snapshots/signature";

export const backupRoutes = new Hono<{ Bindings: Env }>();

backupRoutes.use("/api/admin/backups", requireAdmin);
backupRoutes.use("/api/admin/backups/*", requireAdmin);
backupRoutes.use("/api/admin/snapshots", requireAdmin);
backupRoutes.use("/api/admin/snapshots/*", requireAdmin);
backupRoutes.use("/api/backup-cron", requireAdmin);

/** The public shape of a run (GET /api/admin/backups/:id). */
export function buildRunBody(run: BackupRun) {
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
	};
}

/** The listing entry of one snapshot (GET /api/admin/snapshots). */
export function buildSnapshotSummary(m: Manifest, verified: boolean, signature: SignatureStatus = "no-key") {
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

async function start(c: Context<{ Bindings: Env }>) {
	const result = await startManualBackup(c.env, new Date());
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

backupRoutes.post("/api/admin/backups", start);
// The original open path, kept as an alias for existing bookmarks and scripts; now admin-only.
backupRoutes.get("/api/backup-cron", start);

backupRoutes.get("/api/admin/backups/:id", async (c) => {
	const id = c.req.param("id");
	if (!isRunId(id)) {
		throw new ApiError(400, "invalid_id", "Not a backup run id.", {
			id: "expected scheduled-YYYY-MM-DD or manual-YYYYMMDDTHHMMSSZ-xxxxxx",
		});
	}
	const run = await fetchBackupRun(c.env, id, new Date());
	if (!run) throw new ApiError(404, "not_found", "No such backup run.");
	return c.json(buildRunBody(run));
});

backupRoutes.get("/api/admin/snapshots", async (c) => {
	const store = primaryStore(c.env);
	const keyring = { signingKey: getConfig(c.env).BACKUP_SIGNING_KEY };
	const ids = (await listSnapshotFolders(store)).reverse();
	const snapshots: ReturnType<typeof buildSnapshotSummary>[] = [];
	for (let i = 0; i < ids.length; i += 8) {
		const reads = await Promise.all(ids.slice(i, i + 8).map((id) => readManifest(store, id, keyring)));
		// Folders without a manifest are incomplete runs (not snapshots); bad manifests are skipped
		// here and reported by the weekly verification.
		for (const r of reads) if (r.ok) snapshots.push(buildSnapshotSummary(r.manifest, true, r.signature));
	}
	return c.json({ snapshots });
});

function snapshotIdParam(c: Context<{ Bindings: Env }>): string {
	const id = c.req.param("id") ?? "";
	if (!isSnapshotId(id)) {
		throw new ApiError(400, "invalid_id", "Not a snapshot id.", { id: "expected YYYY-MM-DDTHHMMSSZ-xxxx" });
	}
	return id;
}

async function fetchManifestOr404(env: Env, id: string) {
	const read = await readManifest(primaryStore(env), id);
	if (!read.ok && read.reason === "missing") throw new ApiError(404, "not_found", "No such snapshot.");
	if (!read.ok) throw new ApiError(409, "snapshot_unreadable", read.message);
	return read;
}

backupRoutes.get("/api/admin/snapshots/:id/manifest", async (c) => {
	const id = snapshotIdParam(c);
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
});

backupRoutes.get("/api/admin/snapshots/:id/chunks/:n", async (c) => {
	const id = snapshotIdParam(c);
	const nText = c.req.param("n");
	if (!/^[1-9]\d{0,5}$/.test(nText)) {
		throw new ApiError(400, "invalid_chunk", "Not a chunk number.", { n: "expected a whole number from 1 to 999999" });
	}
	const { manifest } = await fetchManifestOr404(c.env, id);
	const entry = manifest.chunks[Number(nText) - 1];
	if (!entry) throw new ApiError(404, "not_found", `The snapshot has ${manifest.chunks.length} chunk(s).`);
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
});

backupRoutes.get("/api/admin/snapshots/:id/download", async (c) => {
	const id = snapshotIdParam(c);
	const { manifest } = await fetchManifestOr404(c.env, id);
	const store = primaryStore(c.env);
	const entries = manifest.chunks;
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
});
