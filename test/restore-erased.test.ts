// A restore never brings erased data back, in any mode: erasures made after the snapshot (live
// erased_submissions) and erasures recorded inside the snapshot itself are both honoured.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { files, snapshotId as fixtureId } from "./fixtures/snapshot-v1";
import fixtureSums from "./fixtures/snapshot-v1/manifest.sha256?raw";
import { digestRows, parseManifest, sha256Hex, type Row } from "../src/snapshots/format";
import { MANIFEST_SHA_META } from "../src/snapshots/store";
import { clearSnapshots, writeSnapshot, writeSnapshotOfDatabase } from "./helpers/snapshot";
import { api, count, expectedCounters, runRestore, seed, storedCounters, wipe } from "./helpers/restore-snapshot";

const db = env.DB;
const bucket = env.R2_BUCKET;
const T0 = new Date("2026-11-20T02:00:00Z");

beforeEach(async () => {
	await wipe(db);
	await clearSnapshots(bucket);
});

async function ids(): Promise<string[]> {
	return (await db.prepare(`SELECT id FROM submissions ORDER BY id`).all<{ id: string }>()).results.map((r) => r.id);
}

describe("erased after the snapshot (live erasure)", () => {
	for (const mode of ["dry-run", "merge", "replace"]) {
		it(`${mode} skips the erased submission`, async () => {
			await seed(db, [
				{ id: "a", role: "gerant", day: "2026-11-10", email: "Alice@Example.org" },
				{ id: "b", role: "gerant", day: "2026-11-10" },
				{ id: "c", role: "barista", day: "2026-11-11" },
			]);
			const m = await writeSnapshotOfDatabase(bucket, db, T0);
			const erase = await api("/api/admin/erasures", { method: "POST", json: { email: "alice@example.org" } });
			expect(erase.status).toBe(201);
			if (mode !== "dry-run") await db.prepare(`DELETE FROM submissions WHERE id = 'b'`).run();

			const run = await runRestore(m.snapshotId, mode);
			expect(run.status).toBe("complete");
			if (mode === "dry-run") {
				expect(run.report!.tables!.submissions).toMatchObject({ skippedErased: 1, added: 0, unchanged: 2 });
				expect(run.report!.tables!.submissions!.samples.skippedErased).toEqual(["a"]);
			} else {
				expect(run.progress.rowsSkippedErased).toBe(1);
				expect(await ids()).toEqual(["b", "c"]);
				// The erasure itself survives the restore (replace keeps live erasures).
				expect(await count(db, `SELECT COUNT(*) AS n FROM erased_submissions WHERE submission_id = 'a'`)).toBe(1);
				expect(await count(db, `SELECT COUNT(*) AS n FROM erasures`)).toBe(1);
				expect(await storedCounters(db)).toEqual(await expectedCounters(db));
			}
			expect(await ids()).not.toContain("a");
		});
	}

	it("undo after an erasure does not bring the erased submission back", async () => {
		await seed(db, [
			{ id: "a", role: "gerant", day: "2026-11-10" },
			{ id: "b", role: "gerant", day: "2026-11-10" },
		]);
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		expect((await runRestore(m.snapshotId, "replace")).status).toBe("complete");
		expect((await api("/api/admin/erasures", { method: "POST", json: { submissionId: "a" } })).status).toBe(201);
		expect((await api("/api/admin/restore/undo", { method: "POST" })).status).toBe(200);
		expect(await ids()).toEqual(["b"]);
		expect(await count(db, `SELECT COUNT(*) AS n FROM erased_submissions WHERE submission_id = 'a'`)).toBe(1);
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
	});
});

describe("erased according to the snapshot itself", () => {
	for (const mode of ["merge", "replace"]) {
		it(`${mode} into an empty database skips ids listed in the snapshot's erasures`, async () => {
			const sub = (seq: number, id: string): Row => ({ seq, id, received_at: "2026-11-10T10:00:00.000Z", questionnaire_version: "1", role_key: "gerant", answers: "{}", validation: "{}" });
			// An inconsistent snapshot: x is both present and erased (x in erasures, y in erased_submissions).
			const m = await writeSnapshot(bucket, {
				time: T0,
				chunkRows: 2,
				tables: {
					submissions: { rows: [sub(1, "x"), sub(2, "keep"), sub(3, "y")], bound: 3 },
					erasures: { rows: [{ seq: 1, id: "e1", requested_at: "2026-11-11T00:00:00.000Z", submission_ids: '["x"]', email_hash: null, email_salt: null }], bound: 1 },
					erased_submissions: { rows: [{ submission_id: "y", erasure_id: "e0", erased_at: "2026-11-09T00:00:00.000Z" }] },
				},
			});
			const run = await runRestore(m.snapshotId, mode);
			expect(run.status).toBe("complete");
			expect(await ids()).toEqual(["keep"]);
			expect(run.report?.skippedErased).toBe(2);
		});
	}
});

describe("format version 1 fixture", () => {
	it("is the committed bytes and restores (replace) with digests equal to its manifest", async () => {
		const bytes = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
		const sums = Object.fromEntries(fixtureSums.trim().split("\n").map((l: string) => l.split(/\s+/).reverse()));
		const manifestText = new TextDecoder().decode(bytes(files["manifest.json"]!));
		const manifest = parseManifest(manifestText);
		expect(manifest.version).toBe(1);
		for (const [name, b64] of Object.entries(files)) {
			expect(sha256Hex(bytes(b64))).toBe(sums[name]);
			const key = `snapshots/${fixtureId}/${name}`;
			if (name === "manifest.json") await bucket.put(key, bytes(b64), { customMetadata: { [MANIFEST_SHA_META]: sums[name]! } });
			else await bucket.put(key, bytes(b64));
		}
		// Written before manifests were signed: restorable only with the explicit, logged override.
		const refused = await api("/api/admin/restore", { method: "POST", json: { snapshotId: fixtureId, mode: "dry-run" } });
		expect(refused.status).toBe(422);
		expect(await refused.text()).toMatch(/not authenticated \(unsigned\).*allowUnsigned/);
		const dry = await runRestore(fixtureId, "dry-run", { allowUnsigned: true });
		expect(dry.report!.tables!.submissions).toMatchObject({ inSnapshot: 5, added: 5 });
		const run = await runRestore(fixtureId, "replace", { allowUnsigned: true });
		expect(run.status).toBe("complete");
		// Columns added by later migrations (0005: role moderation) are not in the 0001-schema fixture.
		const later: Record<string, string[]> = { roles: ["approved_at", "merged_into"] };
		for (const t of ["roles", "submissions", "counters", "erasures", "erased_submissions"]) {
			const { results } = await db.prepare(`SELECT * FROM ${t}`).all<Row>();
			const rows = results.map((r) => Object.fromEntries(Object.entries(r).filter(([c, v]) => !(later[t]?.includes(c) && v === null))));
			expect(digestRows(t, rows), t).toBe(manifest.tables[t]!.digest);
		}
		// Operational tables are not restored: the audit log holds this installation's history.
		expect(await count(db, `SELECT COUNT(*) AS n FROM audit_log WHERE action = 'erasure'`)).toBe(0);
		expect(await count(db, `SELECT COUNT(*) AS n FROM audit_log WHERE action = 'restore'`)).toBe(2);
	});
});
