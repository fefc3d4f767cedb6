// The backup admin API through the real app: manual trigger, run status, one-at-a-time (409),
// snapshot listing and the manifest/chunk/download endpoints, with auth and bad input.
import { introspectWorkflow } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { manifestKey, serializeManifest, sha256Hex, type Manifest } from "../src/snapshots/format";
import { gunzip, parseRecordLines } from "../src/snapshots/codec";
import { MANIFEST_SHA_META } from "../src/snapshots/store";
import { writeSnapshot } from "./helpers/snapshot";
import { ADMIN, insertMetadata, insertSubmissions, resetStorage, sha256HexOf } from "./backup-helpers";

const BASE = "http://example.com";

beforeEach(async () => {
	await resetStorage();
});

function api(path: string, init: RequestInit = {}) {
	return exports.default.fetch(`${BASE}${path}`, { ...init, headers: { ...ADMIN, ...(init.headers ?? {}) } });
}

/** POST a manual backup and wait (through the Workflow introspector) for it to finish. */
async function backupNow(): Promise<{ id: string; snapshotId: string }> {
	const introspector = await introspectWorkflow(env.BACKUP_WORKFLOW);
	try {
		await introspector.modifyAll(async (m) => m.disableRetryDelays());
		const res = await api("/api/admin/backups", { method: "POST" });
		expect(res.status).toBe(202);
		const body = (await res.json()) as { id: string; statusUrl: string };
		expect(body.statusUrl).toBe(`/api/admin/backups/${body.id}`);
		for (const instance of await introspector.get()) await instance.waitForStatus("complete");
		const status = (await (await api(body.statusUrl)).json()) as { snapshotId: string };
		return { id: body.id, snapshotId: status.snapshotId };
	} finally {
		await introspector.dispose();
	}
}

describe("admin backup API: authentication", () => {
	for (const [method, path] of [
		["POST", "/api/admin/backups"],
		["GET", "/api/backup-cron"],
		["GET", "/api/admin/backups/manual-20261125T020000Z-aaaaaa"],
		["GET", "/api/admin/snapshots"],
		["GET", "/api/admin/snapshots/2026-11-25T020000Z-abc/manifest"],
		["GET", "/api/admin/snapshots/2026-11-25T020000Z-abc/chunks/1"],
		["GET", "/api/admin/snapshots/2026-11-25T020000Z-abc/download"],
	] as const) {
		it(`${method} ${path} requires the admin token and changes nothing without it`, async () => {
			const res = await exports.default.fetch(`${BASE}${path}`, { method, headers: { Authorization: "Bearer wrong-token-wrong-token-wrong" } });
			expect(res.status).toBe(401);
			expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
			expect((await env.DB.prepare("SELECT count(*) AS n FROM backup_runs").first<{ n: number }>())!.n).toBe(0);
		});
	}
});

describe("admin backup API: manual backups", () => {
	it("POST starts a backup: 202, then the status reports it complete with its counts", async () => {
		await insertMetadata();
		await insertSubmissions(25);
		const { id, snapshotId } = await backupNow();
		const status = (await (await api(`/api/admin/backups/${id}`)).json()) as Record<string, unknown>;
		expect(status).toMatchObject({ id, status: "complete", stage: "done", trigger: "manual", error: null, snapshotId });
		// 25 submissions + 2 roles + 2 counters + 1 audit + 1 erasure + 1 erased id + this run.
		expect(status.rows).toBe(33);
		expect(status.chunks).toBe(1);
	});

	it("a trigger while a backup runs gets 409 with the running one's id (POST and the GET alias)", async () => {
		const introspector = await introspectWorkflow(env.BACKUP_WORKFLOW);
		try {
			// The first run's begin step fails once and waits its 10 s retry delay: it is running.
			await introspector.modifyAll(async (m) => m.mockStepError({ name: "begin" }, new Error("transient"), 1));
			const first = await api("/api/admin/backups", { method: "POST" });
			expect(first.status).toBe(202);
			const { id } = (await first.json()) as { id: string };
			const second = await api("/api/admin/backups", { method: "POST" });
			expect(second.status).toBe(409);
			expect(await second.json()).toMatchObject({ error: { code: "backup_running" }, id });
			const alias = await api("/api/backup-cron");
			expect(alias.status).toBe(409);
			expect(await alias.json()).toMatchObject({ id });
			const running = (await (await api(`/api/admin/backups/${id}`)).json()) as { status: string };
			expect(["queued", "running"]).toContain(running.status);
			for (const instance of await introspector.get()) await instance.waitForStatus("complete");
		} finally {
			await introspector.dispose();
		}
		expect((await env.DB.prepare("SELECT count(*) AS n FROM backup_runs").first<{ n: number }>())!.n).toBe(1);
	});

	it("GET /api/backup-cron (alias) starts a backup with the admin token", async () => {
		const introspector = await introspectWorkflow(env.BACKUP_WORKFLOW);
		try {
			const res = await api("/api/backup-cron");
			expect(res.status).toBe(202);
			for (const instance of await introspector.get()) await instance.waitForStatus("complete");
		} finally {
			await introspector.dispose();
		}
	});

	it("a bad run id is a 400 naming the field; an unknown one is a 404", async () => {
		const bad = await api("/api/admin/backups/..%2Fetc");
		expect(bad.status).toBe(400);
		expect(await bad.json()).toMatchObject({ error: { code: "invalid_id", fields: { id: expect.any(String) } } });
		const unknown = await api("/api/admin/backups/manual-20261125T020000Z-zzzzzz");
		expect(unknown.status).toBe(404);
	});
});

describe("admin backup API: snapshots", () => {
	it("the list is empty when there is no snapshot", async () => {
		const res = await api("/api/admin/snapshots");
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ snapshots: [] });
	});

	it("lists snapshots newest first, and serves manifest, chunks and download as stored", async () => {
		await insertSubmissions(40);
		const a = await backupNow();
		await insertSubmissions(5, 41);
		const b = await backupNow();
		// An incomplete folder (no manifest) is not a snapshot.
		await env.R2_BUCKET.put("snapshots/2026-01-01T000000Z-partial/chunk-000001.ndjson.gz", "x");

		const list = (await (await api("/api/admin/snapshots")).json()) as { snapshots: Record<string, unknown>[] };
		expect(list.snapshots.map((s) => s.id)).toEqual([b.snapshotId, a.snapshotId].sort().reverse());
		const newest = list.snapshots.find((s) => s.id === b.snapshotId)!;
		expect(newest).toMatchObject({ trigger: "manual", verified: true, chunks: 1 });
		expect((newest.rows as Record<string, number>).submissions).toBe(45);

		const mres = await api(`/api/admin/snapshots/${b.snapshotId}/manifest`);
		expect(mres.status).toBe(200);
		const mbytes = new Uint8Array(await mres.arrayBuffer());
		const stored = await env.R2_BUCKET.get(`snapshots/${b.snapshotId}/manifest.json`);
		expect(mbytes).toEqual(new Uint8Array(await stored!.arrayBuffer()));
		expect(await sha256HexOf(mbytes)).toBe(stored!.customMetadata!["manifest-sha256"]);
		const manifest = JSON.parse(new TextDecoder().decode(mbytes)) as Manifest;

		// What `sha256sum chunk-000001.ndjson.gz` prints equals the manifest.
		const parts: Uint8Array[] = [];
		for (const c of manifest.chunks) {
			const cres = await api(`/api/admin/snapshots/${b.snapshotId}/chunks/${c.n}`);
			expect(cres.status).toBe(200);
			const bytes = new Uint8Array(await cres.arrayBuffer());
			expect(await sha256HexOf(bytes)).toBe(c.sha256);
			parts.push(bytes);
		}

		const dres = await api(`/api/admin/snapshots/${b.snapshotId}/download`);
		expect(dres.status).toBe(200);
		expect(dres.headers.get("Content-Disposition")).toContain(`${b.snapshotId}.ndjson.gz`);
		const whole = new Uint8Array(await dres.arrayBuffer());
		expect(whole).toEqual(new Uint8Array(parts.flatMap((p) => [...p])));
		const records = parseRecordLines(new TextDecoder().decode(gunzip(whole)));
		expect(records).toHaveLength(manifest.rows);
	});

	it("downloads a multi-chunk snapshot as one valid .ndjson.gz stream", async () => {
		await insertSubmissions(60);
		const introspector = await introspectWorkflow(env.BACKUP_WORKFLOW);
		let snapshotId = "";
		try {
			await env.BACKUP_WORKFLOW.create({
				id: "manual-20261125T020000Z-multic",
				params: { trigger: "manual", requestedAt: Date.parse("2026-11-25T02:00:00Z"), chunkBytes: 1024 },
			});
			for (const instance of await introspector.get()) await instance.waitForStatus("complete");
			snapshotId = ((await (await api("/api/admin/backups/manual-20261125T020000Z-multic")).json()) as { snapshotId: string }).snapshotId;
		} finally {
			await introspector.dispose();
		}
		const manifest = (await (await api(`/api/admin/snapshots/${snapshotId}/manifest`)).json()) as Manifest;
		expect(manifest.chunks.length).toBeGreaterThan(1);
		const whole = new Uint8Array(await (await api(`/api/admin/snapshots/${snapshotId}/download`)).arrayBuffer());
		expect(whole.byteLength).toBe(manifest.bytes);
		const records = parseRecordLines(new TextDecoder().decode(gunzip(whole)));
		expect(records.filter((r) => r.table === "submissions")).toHaveLength(60);
	});

	it("bad ids and chunk numbers are 400s naming the field; unknown ones are 404s", async () => {
		for (const path of ["/api/admin/snapshots/nope/manifest", "/api/admin/snapshots/nope/download", "/api/admin/snapshots/nope/chunks/1"]) {
			const res = await api(path);
			expect(res.status, path).toBe(400);
			expect(await res.json()).toMatchObject({ error: { code: "invalid_id", fields: { id: expect.any(String) } } });
		}
		for (const n of ["0", "abc", "-1", "1234567"]) {
			const res = await api(`/api/admin/snapshots/2026-11-25T020000Z-abc/chunks/${n}`);
			expect(res.status, n).toBe(400);
			expect(await res.json()).toMatchObject({ error: { code: "invalid_chunk", fields: { n: expect.any(String) } } });
		}
		for (const path of [
			"/api/admin/snapshots/2026-11-25T020000Z-abc/manifest",
			"/api/admin/snapshots/2026-11-25T020000Z-abc/download",
			"/api/admin/snapshots/2026-11-25T020000Z-abc/chunks/1",
		]) {
			expect((await api(path)).status, path).toBe(404);
		}
	});

	it("a manifest listing a chunk outside its snapshot folder gets 409 chunk_outside_snapshot, and nothing is served", async () => {
		const other = await writeSnapshot(env.R2_BUCKET, { time: new Date("2026-11-24T02:00:00Z"), tables: { submissions: { rows: [{ seq: 1, id: "other-secret" }] } } });
		await env.R2_BUCKET.put("private/notes.txt", "not a snapshot");
		for (const outside of [other.chunks[0]!.key, "private/notes.txt", `snapshots/${other.snapshotId}/manifest.json`]) {
			const m = await writeSnapshot(env.R2_BUCKET, { time: new Date("2026-11-25T02:00:00Z"), tables: { submissions: { rows: [{ seq: 1, id: "a" }] } } });
			// The manifest is rewritten with a key outside its folder, and its SHA-256 updated, so that
			// only the folder check can refuse it.
			const tampered = { ...m, chunks: [{ ...m.chunks[0]!, key: outside }] };
			const text = serializeManifest(tampered);
			await env.R2_BUCKET.put(manifestKey(m.snapshotId), text, { customMetadata: { [MANIFEST_SHA_META]: sha256Hex(text) } });
			for (const path of [`/api/admin/snapshots/${m.snapshotId}/chunks/1`, `/api/admin/snapshots/${m.snapshotId}/download`]) {
				const res = await api(path);
				expect(res.status, `${path} -> ${outside}`).toBe(409);
				expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
				const body = (await res.json()) as { error: { code: string; message: string } };
				expect(body.error.code).toBe("chunk_outside_snapshot");
				expect(body.error.message).toContain("outside the snapshot folder");
				expect(JSON.stringify(body)).not.toContain("other-secret");
			}
		}
		// The snapshot whose chunk was pointed at is still served from its own manifest.
		expect((await api(`/api/admin/snapshots/${other.snapshotId}/chunks/1`)).status).toBe(200);
	});
});
