// The import API behind `npm run admin -- push`: chunks checked on arrival, the manifest checked
// against every stored chunk before it is written (signed by this deployment), nothing committed
// is ever overwritten, and every refusal leaves no snapshot behind.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { encodeChunk, gzip } from "../src/snapshots/codec";
import { combineTableDigests, digestRows, manifestKey, serializeManifest, sha256Hex, type ChunkEntry, type Manifest } from "../src/snapshots/format";
import { r2SnapshotStore } from "../src/snapshots/r2-store";
import { readManifest } from "../src/snapshots/store";
import { fetchCatalogue } from "../src/db/snapshot-catalogue";
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

const putChunk = (n: number, body: Uint8Array, id = ID) =>
	api(`/api/admin/imports/${id}/chunks/${n}`, { method: "PUT", headers: { "Content-Type": "application/gzip" }, body });
const putManifest = (m: Manifest | string) =>
	api(`/api/admin/imports/${ID}/manifest`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: typeof m === "string" ? m : serializeManifest(m) });

beforeEach(async () => {
	await clearSnapshots(env.R2_BUCKET);
});

describe("snapshot import (push)", () => {
	it("stores checked chunks, then commits the manifest signed by this deployment; audited", async () => {
		const { manifest, chunk } = build();
		const c = await putChunk(1, chunk);
		expect(c.status).toBe(201);
		expect(await c.json()).toEqual({ key: manifest.chunks[0]!.key, bytes: chunk.byteLength, sha256: sha256Hex(chunk), rows: 2 });
		const before = await count(env.DB, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'snapshot_import'");
		const m = await putManifest(manifest);
		expect(m.status).toBe(201);
		expect(await m.json()).toEqual({ snapshotId: ID, rows: 2, chunks: 1, contentDigest: manifest.contentDigest });
		const read = await readManifest(r2SnapshotStore(env.R2_BUCKET), ID, { signingKey: env.BACKUP_SIGNING_KEY });
		expect(read.ok && read.signature).toBe("valid");
		// The catalogue knows it at once (status and the list need not read it).
		const entry = (await fetchCatalogue(env.DB)).find((e) => e.snapshotId === ID);
		expect(entry).toMatchObject({ rows: 2, chunks: 1, signature: "valid", tables: { submissions: 2 }, goneAt: null });
		expect(read.ok && entry!.manifestSha256).toBe(read.ok ? sha256Hex(read.text) : "");
		expect(await count(env.DB, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'snapshot_import'")).toBe(before + 1);
		// Never overwritten once committed.
		expect((await putChunk(1, chunk)).status).toBe(409);
		expect((await putManifest(manifest)).status).toBe(409);
	});

	it("refuses a chunk that is not gzip NDJSON records (422) and stores nothing", async () => {
		for (const bad of [new TextEncoder().encode("not gzip"), gzip("not json\n"), gzip('{"table":"t"}\n')]) {
			const res = await putChunk(1, bad);
			expect(res.status).toBe(422);
			expect((await res.json<{ error: { code: string } }>()).error.code).toBe("invalid_chunk");
		}
		expect(await env.R2_BUCKET.head(`snapshots/${ID}/chunk-000001.ndjson.gz`)).toBeNull();
	});

	it("refuses a manifest that does not match the stored chunks, and commits nothing", async () => {
		const { manifest, chunk } = build();
		await putChunk(1, chunk);
		expect((await putManifest("{")).status).toBe(400);
		const cases: Array<[string, Manifest | string]> = [
			["not a manifest", "{}"],
			["another digest", { ...manifest, tables: { submissions: { ...manifest.tables.submissions!, digest: "0".repeat(64) } } }],
			["another row count", { ...manifest, chunks: [{ ...manifest.chunks[0]!, rows: 3, tables: { submissions: 3 } }] }],
			["a missing chunk", { ...manifest, chunks: [...manifest.chunks, { ...manifest.chunks[0]!, n: 2, key: `snapshots/${ID}/chunk-000002.ndjson.gz` }] }],
			["a key outside its folder", { ...manifest, chunks: [{ ...manifest.chunks[0]!, key: "snapshots/2026-01-01T000000Z-other/chunk-000001.ndjson.gz" }] }],
			["encrypted", { ...manifest, encryption: { scheme: "age", recipients: ["age1x"] } }],
		];
		for (const [name, m] of cases) {
			const res = await putManifest(m);
			expect(res.status, name).toBe(422);
		}
		expect(await env.R2_BUCKET.head(manifestKey(ID))).toBeNull();
	});

	it("answers bad ids and numbers with the envelope", async () => {
		expect((await putChunk(0, gzip("x"))).status).toBe(400);
		expect((await putChunk(1, gzip("x"), "not-an-id")).status).toBe(400);
		expect((await putChunk(1, new Uint8Array(0))).status).toBe(400);
	});
});
