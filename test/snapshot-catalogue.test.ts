// The snapshot catalogue (src/catalogue/): filled by the backup's commit, read by status, the
// snapshot list and the hourly check instead of every manifest; reconciled against R2 within
// bounds (unknown manifests read at most 20 per call; a manifest removed behind its back noticed
// by the hourly check's HEADs).
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { MAX_MANIFEST_READS, planReconcile, reconcileCatalogue, type CatalogueEntry } from "../src/catalogue/catalogue";
import { fetchCatalogue } from "../src/db/snapshot-catalogue";
import { runHourlyMonitor } from "../src/monitor/hourly";
import { manifestKey, sha256Hex, snapshotPrefix } from "../src/snapshots/format";
import { r2SnapshotStore } from "../src/snapshots/r2-store";
import { MANIFEST_SHA_META, readManifest } from "../src/snapshots/store";
import { insertSubmissions, resetStorage, runBackup, snapshotIdOfRun } from "./backup-helpers";
import { writeSnapshot } from "./helpers/snapshot";
import { api } from "./helpers/restore-snapshot";

const store = () => r2SnapshotStore(env.R2_BUCKET);
const keyring = () => ({ signingKey: env.BACKUP_SIGNING_KEY });
type Status = { snapshots: { count: number; totalBytes: number; pending: number }; newestSnapshot: { snapshotId: string } | null };

beforeEach(resetStorage);

describe("the snapshot catalogue", () => {
	it("is filled by a backup's commit with what the manifest says, and status answers from it", async () => {
		await insertSubmissions(12);
		const runId = "manual-20261203T020000Z-cat001";
		await runBackup(runId, { trigger: "manual", requestedAt: Date.now() - 60_000 });
		const snapshotId = await snapshotIdOfRun(runId);
		const read = await readManifest(store(), snapshotId, keyring());
		if (!read.ok) throw new Error(read.message);

		const [entry] = await fetchCatalogue(env.DB);
		expect(entry).toMatchObject({
			snapshotId,
			trigger: "manual",
			rows: read.manifest.rows,
			bytes: read.manifest.bytes,
			chunks: read.manifest.chunks.length,
			tables: Object.fromEntries(Object.entries(read.manifest.tables).map(([t, s]) => [t, s.rows])),
			signature: "valid",
			goneAt: null,
		} satisfies Partial<CatalogueEntry>);
		expect(entry!.manifestSha256).toBe(sha256Hex(read.text));
		expect(entry!.manifestSha256).toBe((await store().head(manifestKey(snapshotId)))!.metadata[MANIFEST_SHA_META]);
		expect(read.manifest.tables.submissions!.rows).toBe(12);

		const status = await (await api("/api/admin/status")).json<Status>();
		expect(status.snapshots).toEqual({ count: 1, totalBytes: read.manifest.bytes, ignored: [], pending: 0 });
		expect(status.newestSnapshot?.snapshotId).toBe(snapshotId);
		// The list says the same, from the catalogue.
		const list = await (await api("/api/admin/snapshots")).json<{ snapshots: Array<{ id: string; totalRows: number; verified: boolean }> }>();
		expect(list.snapshots).toEqual([expect.objectContaining({ id: snapshotId, totalRows: read.manifest.rows, verified: true })]);
	});

	it("status does not read the manifest; the hourly check notices one removed behind its back", async () => {
		const m = await writeSnapshot(env.R2_BUCKET, { time: new Date(Date.now() - 3600_000), tables: { submissions: { rows: [{ seq: 1, id: "a" }] } } });
		const first = await (await api("/api/admin/status")).json<Status>();
		expect(first.snapshots.count).toBe(1);
		// The manifest goes (the chunks stay, so the folder is still listed): status still answers
		// from the catalogue, without reading it.
		await env.R2_BUCKET.delete(manifestKey(m.snapshotId));
		const res = await api("/api/admin/status");
		expect(res.status).toBe(200);
		expect((await res.json<Status>()).newestSnapshot?.snapshotId).toBe(m.snapshotId);

		const hourly = await runHourlyMonitor(env, new Date());
		expect(hourly.ok).toBe(true);
		expect(hourly.staleness?.newest).toBeNull();
		expect((await fetchCatalogue(env.DB))[0]).toMatchObject({ snapshotId: m.snapshotId, goneAt: expect.any(String) });
		const after = await (await api("/api/admin/status")).json<Status>();
		expect(after.snapshots.count).toBe(0);
		expect(after.newestSnapshot).toBeNull();
	});

	it("reads at most 20 unknown manifests per call, newest first, and none once it knows them all", async () => {
		const ids: string[] = [];
		for (let i = 0; i < MAX_MANIFEST_READS + 4; i++) {
			ids.push((await writeSnapshot(env.R2_BUCKET, { time: new Date(Date.UTC(2026, 10, 1 + i, 2)), tables: {} })).snapshotId);
		}
		const now = new Date("2026-12-03T00:00:00Z");
		const one = await reconcileCatalogue(store(), env.DB, keyring(), now);
		expect(one.work.reads).toBe(MAX_MANIFEST_READS);
		expect(one.pending).toEqual(ids.slice(0, 4).reverse());
		expect(one.entries.map((e) => e.snapshotId)).toEqual(ids.slice(4).reverse());
		const two = await reconcileCatalogue(store(), env.DB, keyring(), now);
		expect(two.work.reads).toBe(4);
		expect(two.entries).toHaveLength(ids.length);
		const three = await reconcileCatalogue(store(), env.DB, keyring(), now);
		expect(three.work).toEqual({ reads: 0, heads: 0, gone: [] });
		expect(three.pending).toEqual([]);
	});

	it("marks a snapshot whose folder vanished as gone, and re-reads a manifest replaced behind its back", async () => {
		const a = await writeSnapshot(env.R2_BUCKET, { time: new Date("2026-12-01T02:00:00Z"), tables: {} });
		const b = await writeSnapshot(env.R2_BUCKET, { time: new Date("2026-12-02T02:00:00Z"), tables: {} });
		const now = new Date("2026-12-03T00:00:00Z");
		await reconcileCatalogue(store(), env.DB, keyring(), now);
		const keys = (await env.R2_BUCKET.list({ prefix: snapshotPrefix(a.snapshotId) })).objects.map((o) => o.key);
		await env.R2_BUCKET.delete(keys);
		// b's manifest replaced by an unsigned one with another SHA-256.
		const text = JSON.stringify({ ...b, rows: 5 });
		await env.R2_BUCKET.put(manifestKey(b.snapshotId), text, { customMetadata: { [MANIFEST_SHA_META]: sha256Hex(text) } });
		const view = await reconcileCatalogue(store(), env.DB, keyring(), now, { heads: "all" });
		expect(view.work.gone).toEqual([a.snapshotId]);
		expect(view.entries.map((e) => [e.snapshotId, e.signature])).toEqual([[b.snapshotId, "unsigned"]]);
	});

	it("pure plan: unknown folders newest first; entries checked with another key are read again", () => {
		const entry = (id: string, keyId: string | null, goneAt: string | null = null) => ({ snapshotId: id, keyId, goneAt }) as CatalogueEntry;
		const plan = planReconcile(["a", "b", "c", "d"], [entry("a", "k1"), entry("b", "k0"), entry("c", "k1", "2026-12-01"), entry("x", "k1")], "k1");
		expect(plan).toEqual({ unknown: ["d", "b"], vanished: ["x"] });
		expect(planReconcile([], [], null)).toEqual({ unknown: [], vanished: [] });
	});
});
