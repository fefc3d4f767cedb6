// The import API behind `npm run admin -- push`: chunks stored with their declared SHA-256 checked,
// the manifest checked for form and handed to the import job, which reads every part back before
// the manifest is written (signed by this deployment); nothing committed is ever overwritten, and
// every refusal — by the request or by the job — leaves no snapshot behind.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { encodeChunk, gzip, sealMembers } from "../src/snapshots/codec";
import { combineTableDigests, digestRows, manifestKey, serializeManifest, sha256Hex, type ChunkEntry, type Manifest } from "../src/snapshots/format";
import { r2SnapshotStore } from "../src/snapshots/r2-store";
import { readManifest } from "../src/snapshots/store";
import { fetchCatalogue } from "../src/db/snapshot-catalogue";
import { isImportActive, startImport } from "../src/jobs/import-workflow";
import { commitImportedManifest, fetchImportsInProgress, importChunk, putImportStatus, putPendingManifest } from "../src/offsite/import";
import { api, count } from "./helpers/restore-snapshot";
import { clearSnapshots } from "./helpers/snapshot";

const ID = "2026-11-30T020000Z-pushed1";
const rows = [
	{ seq: 1, id: "s1", answers: "{}" },
	{ seq: 2, id: "s2", answers: "{}" },
];

function build(): { manifest: Manifest; chunk: Uint8Array } {
	const chunk = encodeChunk(rows.map((row) => ({ table: "submissions", row })));
	const entry: ChunkEntry = { n: 1, key: `snapshots/${ID}/chunk-000001.ndjson.gz`, bytes: chunk.byteLength, sha256: sha256Hex(chunk), rows: 2, tables: { submissions: 2 } };
	const tables = { submissions: { rows: 2, digest: digestRows("submissions", rows), bound: 2 } };
	const manifest: Manifest = {
		format: "cafes-partenaires-snapshot",
		version: 1,
		snapshotId: ID,
		trigger: "scheduled",
		runId: "scheduled-2026-11-30",
		startedAt: "2026-11-30T02:00:00.000Z",
		finishedAt: "2026-11-30T02:00:05.000Z",
		appVersion: "test",
		schemaVersion: "test",
		tables,
		rows: 2,
		bytes: chunk.byteLength,
		chunks: [entry],
		contentDigest: combineTableDigests(tables),
		compression: "gzip",
		encryption: null,
	};
	return { manifest, chunk };
}

type ImportView = {
	snapshotId: string;
	status: "queued" | "running" | "done" | "failed";
	progress: { parts: { done: number; total: number } };
	error: string | null;
	statusUrl: string;
	rows: number | null;
	chunks: number | null;
	contentDigest: string | null;
};

const putChunk = (n: number, body: Uint8Array, id = ID, sha256?: string) =>
	api(`/api/admin/imports/${id}/chunks/${n}`, {
		method: "PUT",
		headers: { "Content-Type": "application/gzip", ...(sha256 ? { "X-Chunk-Sha256": sha256 } : {}) },
		body,
	});
const putManifest = (m: Manifest | string) =>
	api(`/api/admin/imports/${ID}/manifest`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: typeof m === "string" ? m : serializeManifest(m) });

/** Poll the status URL until the job has ended (the local Workflows engine runs it meanwhile). */
async function waitForImport(url = `/api/admin/imports/${ID}`): Promise<ImportView> {
	for (let i = 0; i < 2000; i++) {
		const res = await api(url);
		expect(res.status).toBe(200);
		const view = await res.json<ImportView>();
		if (view.status === "done" || view.status === "failed") return view;
		await new Promise((r) => setTimeout(r, 25));
	}
	throw new Error("the import did not end");
}

/** Push the manifest, then follow its job to its end. */
async function importManifest(m: Manifest | string): Promise<ImportView> {
	const res = await putManifest(m);
	expect(res.status, await res.clone().text()).toBe(202);
	const started = await res.json<ImportView>();
	expect(started.statusUrl).toBe(`/api/admin/imports/${ID}`);
	return waitForImport(started.statusUrl);
}

beforeEach(async () => {
	await clearSnapshots(env.R2_BUCKET);
	await env.R2_BUCKET.delete([`imports/${ID}/status.json`, `imports/${ID}/manifest.json`]);
	await env.DB.prepare("DELETE FROM snapshot_catalogue WHERE snapshot_id = ?").bind(ID).run();
});

describe("snapshot import (push)", () => {
	it("stores chunks, then the job checks them and commits the manifest signed by this deployment; audited", async () => {
		const { manifest, chunk } = build();
		const c = await putChunk(1, chunk, ID, sha256Hex(chunk));
		expect(c.status).toBe(201);
		expect(await c.json()).toEqual({ key: manifest.chunks[0]!.key, bytes: chunk.byteLength, sha256: sha256Hex(chunk) });
		const before = await count(env.DB, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'snapshot_import'");
		const view = await importManifest(manifest);
		expect(view).toMatchObject({ status: "done", error: null, progress: { parts: { done: 1, total: 1 } }, rows: 2, chunks: 1, contentDigest: manifest.contentDigest });
		const read = await readManifest(r2SnapshotStore(env.R2_BUCKET), ID, { signingKey: env.BACKUP_SIGNING_KEY });
		expect(read.ok && read.signature).toBe("valid");
		// The catalogue knows it at once (status and the list need not read it).
		const entry = (await fetchCatalogue(env.DB)).find((e) => e.snapshotId === ID);
		expect(entry).toMatchObject({ rows: 2, chunks: 1, signature: "valid", tables: { submissions: 2 }, goneAt: null });
		expect(read.ok && entry!.manifestSha256).toBe(read.ok ? sha256Hex(read.text) : "");
		expect(await count(env.DB, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'snapshot_import'")).toBe(before + 1);
		// The pushed manifest kept aside for the job is gone; the folder holds only the snapshot.
		expect(await env.R2_BUCKET.head(`imports/${ID}/manifest.json`)).toBeNull();
		// Never overwritten once committed.
		expect((await putChunk(1, chunk)).status).toBe(409);
		expect((await putManifest(manifest)).status).toBe(409);
	});

	it("checks a chunk with parts one part per step, and removes strays before committing", async () => {
		const more = Array.from({ length: 6 }, (_, i) => ({ seq: i + 1, id: `s${i + 1}`, answers: `{"q":${i}}` }));
		const members = [0, 2, 4].map((i) => gzip(more.slice(i, i + 2).map((row) => `${JSON.stringify({ table: "submissions", row })}\n`).join("")));
		const sealed = sealMembers(members);
		const parts = members.map((m, i) => ({ offset: members.slice(0, i).reduce((a, b) => a + b.byteLength, 0), bytes: m.byteLength, sha256: sha256Hex(m), rows: 2 }));
		const entry: ChunkEntry = { n: 1, key: `snapshots/${ID}/chunk-000001.ndjson.gz`, bytes: sealed.bytes.byteLength, sha256: sha256Hex(sealed.bytes), rows: 6, tables: { submissions: 6 }, parts };
		const tables = { submissions: { rows: 6, digest: digestRows("submissions", more), bound: 6 } };
		const { manifest } = build();
		const m: Manifest = { ...manifest, tables, rows: 6, bytes: entry.bytes, chunks: [entry], contentDigest: combineTableDigests(tables) };
		expect((await putChunk(1, sealed.bytes, ID, entry.sha256)).status).toBe(201);
		expect((await putChunk(2, gzip("stray\n"))).status).toBe(201);
		const view = await importManifest(m);
		expect(view).toMatchObject({ status: "done", progress: { parts: { done: 3, total: 3 } }, rows: 6 });
		expect(await env.R2_BUCKET.head(`snapshots/${ID}/chunk-000002.ndjson.gz`)).toBeNull();
	});

	it("refuses a chunk whose SHA-256 is not the one declared (422) and stores nothing", async () => {
		const { chunk } = build();
		for (const sha of ["0".repeat(64), "not-a-sha"]) {
			const res = await putChunk(1, chunk, ID, sha);
			expect(res.status).toBe(422);
			expect((await res.json<{ error: { code: string } }>()).error.code).toBe("invalid_chunk");
		}
		expect(await env.R2_BUCKET.head(`snapshots/${ID}/chunk-000001.ndjson.gz`)).toBeNull();
	});

	it("the job refuses chunks that are not gzip NDJSON records, and commits nothing", async () => {
		const { manifest } = build();
		for (const bad of [new TextEncoder().encode("not gzip"), gzip("not json\n"), gzip('{"table":"t"}\n')]) {
			expect((await putChunk(1, bad, ID, sha256Hex(bad))).status).toBe(201);
			const m: Manifest = { ...manifest, bytes: bad.byteLength, chunks: [{ ...manifest.chunks[0]!, bytes: bad.byteLength, sha256: sha256Hex(bad) }] };
			const view = await importManifest(m);
			expect(view.status).toBe("failed");
			expect(view.error).toMatch(/chunk 1/);
			expect(await env.R2_BUCKET.head(manifestKey(ID))).toBeNull();
		}
	});

	it("refuses a manifest that does not match the stored chunks, and commits nothing", async () => {
		const { manifest, chunk } = build();
		await putChunk(1, chunk);
		expect((await putManifest("{")).status).toBe(400);
		// Refused by the request itself: nothing to read.
		const refusedNow: Array<[string, Manifest | string]> = [
			["not a manifest", "{}"],
			["a key outside its folder", { ...manifest, chunks: [{ ...manifest.chunks[0]!, key: "snapshots/2026-01-01T000000Z-other/chunk-000001.ndjson.gz" }] }],
			["encrypted", { ...manifest, encryption: { scheme: "age", recipients: ["age1x"] } }],
		];
		for (const [name, m] of refusedNow) {
			const res = await putManifest(m);
			expect(res.status, name).toBe(422);
			expect((await res.json<{ error: { code: string } }>()).error.code, name).toBe("invalid_manifest");
		}
		// Refused by the job, once it has read the chunks.
		const refusedByJob: Array<[string, Manifest, RegExp]> = [
			["another digest", { ...manifest, tables: { submissions: { ...manifest.tables.submissions!, digest: "0".repeat(64) } }, contentDigest: combineTableDigests({ submissions: { ...manifest.tables.submissions!, digest: "0".repeat(64) } }) }, /digest/],
			["a content digest not matching its tables", { ...manifest, contentDigest: "0".repeat(64) }, /content digest/],
			["another row count", { ...manifest, chunks: [{ ...manifest.chunks[0]!, rows: 3, tables: { submissions: 3 } }] }, /records/],
			["another table count", { ...manifest, chunks: [{ ...manifest.chunks[0]!, tables: { submissions: 1, roles: 1 } }] }, /records per table/],
			["a missing chunk", { ...manifest, chunks: [...manifest.chunks, { ...manifest.chunks[0]!, n: 2, key: `snapshots/${ID}/chunk-000002.ndjson.gz` }] }, /chunk 2: not pushed/],
			["another size", { ...manifest, chunks: [{ ...manifest.chunks[0]!, bytes: manifest.chunks[0]!.bytes + 1 }] }, /bytes pushed/],
			["another SHA-256", { ...manifest, chunks: [{ ...manifest.chunks[0]!, sha256: "0".repeat(64) }] }, /SHA-256/],
		];
		for (const [name, m, why] of refusedByJob) {
			const view = await importManifest(m);
			expect(view.status, name).toBe("failed");
			expect(view.error, name).toMatch(why);
			expect(await env.R2_BUCKET.head(manifestKey(ID)), name).toBeNull();
		}
		expect((await fetchCatalogue(env.DB)).find((e) => e.snapshotId === ID)).toBeUndefined();
	});

	it("answers bad ids and numbers with the envelope; an import never started is 404", async () => {
		expect((await putChunk(0, gzip("x"))).status).toBe(400);
		expect((await putChunk(1, gzip("x"), "not-an-id")).status).toBe(400);
		expect((await putChunk(1, new Uint8Array(0))).status).toBe(400);
		const none = await api(`/api/admin/imports/${ID}`);
		expect(none.status).toBe(404);
		expect((await none.json<{ error: { code: string } }>()).error.code).toBe("not_found");
		expect((await api("/api/admin/imports/not-an-id")).status).toBe(400);
	});

	it("the commit checks the chunks again: one removed since its parts were read leaves no manifest", async () => {
		const { manifest, chunk } = build();
		const store = r2SnapshotStore(env.R2_BUCKET);
		await importChunk(store, ID, 1, chunk, sha256Hex(chunk));
		const sha = await putPendingManifest(store, ID, serializeManifest(manifest));
		await env.R2_BUCKET.delete(manifest.chunks[0]!.key);
		await expect(commitImportedManifest(store, ID, sha, { signingKey: env.BACKUP_SIGNING_KEY })).rejects.toThrow(/chunk 1: changed or removed/);
		expect(await env.R2_BUCKET.head(manifestKey(ID))).toBeNull();
	});

	it("an import being checked protects its folder from the backup's clean-up; a finished one does not", async () => {
		const store = r2SnapshotStore(env.R2_BUCKET);
		const status = { snapshotId: ID, status: "running" as const, progress: { parts: { done: 0, total: 1 } }, error: null, instance: "i", startedAt: "", finishedAt: null, rows: null, chunks: null, contentDigest: null };
		await putImportStatus(store, status);
		expect([...(await fetchImportsInProgress(store))]).toEqual([ID]);
		await putImportStatus(store, { ...status, status: "failed", error: "x" });
		expect([...(await fetchImportsInProgress(store))]).toEqual([]);
	});

	it("continues in a chained instance when one cannot hold every part, and still commits once", async () => {
		const rowsOf = (from: number) => Array.from({ length: 6 }, (_, i) => ({ seq: from + i, id: `s${from + i}`, answers: "{}" }));
		const all = [...rowsOf(1), ...rowsOf(7)];
		const entries: ChunkEntry[] = [];
		for (const [k, rs] of [rowsOf(1), rowsOf(7)].entries()) {
			const members = [0, 2, 4].map((i) => gzip(rs.slice(i, i + 2).map((row) => `${JSON.stringify({ table: "submissions", row })}\n`).join("")));
			const sealed = sealMembers(members);
			const entry: ChunkEntry = {
				n: k + 1,
				key: `snapshots/${ID}/chunk-00000${k + 1}.ndjson.gz`,
				bytes: sealed.bytes.byteLength,
				sha256: sealed.sha256,
				rows: 6,
				tables: { submissions: 6 },
				parts: sealed.ranges.map((r) => ({ ...r, rows: 2 })),
			};
			expect((await putChunk(k + 1, sealed.bytes, ID, entry.sha256)).status).toBe(201);
			entries.push(entry);
		}
		const tables = { submissions: { rows: 12, digest: digestRows("submissions", all), bound: 12 } };
		const m: Manifest = { ...build().manifest, tables, rows: 12, bytes: entries[0]!.bytes + entries[1]!.bytes, chunks: entries, contentDigest: combineTableDigests(tables) };
		// 8 steps per instance: plan, entries and chunk 1's 3 parts here; chunk 2 in the next one.
		await startImport(env, ID, serializeManifest(m), 6, new Date(), { stepsPerInstance: 8 });
		const view = await waitForImport();
		expect(view).toMatchObject({ status: "done", progress: { parts: { done: 6, total: 6 } }, rows: 12, chunks: 2 });
		expect((view as ImportView & { instance: string }).instance).toMatch(/-part2$/);
		const read = await readManifest(r2SnapshotStore(env.R2_BUCKET), ID, { signingKey: env.BACKUP_SIGNING_KEY });
		expect(read.ok && read.signature).toBe("valid");
	});

	it("an import is under way only while its status and its instance both say so", () => {
		const status = { snapshotId: ID, status: "running" as const, progress: { parts: { done: 0, total: 1 } }, error: null, instance: "i", startedAt: "", finishedAt: null, rows: null, chunks: null, contentDigest: null };
		const cases: Array<[typeof status | undefined, string, boolean]> = [
			[undefined, "running", false],
			[status, "running", true],
			[status, "queued", true],
			[status, "waiting", true],
			[status, "errored", false],
			[status, "terminated", false],
			[status, "unknown", false],
			[{ ...status, status: "done" as never }, "running", false],
			[{ ...status, status: "failed" as never }, "running", false],
		];
		for (const [s, instance, active] of cases) expect(isImportActive(s, instance), `${s?.status} / ${instance}`).toBe(active);
	});
});

