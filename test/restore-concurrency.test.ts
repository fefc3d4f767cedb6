// Restores racing with other work, on real local D1/R2/Workflows: two write restores at once, a
// merge that stops midway, erasures while a replace is kept for undo or while a restore runs.
// Each case is a defect found in review. Restores against backups, undo and erasures under the
// data lock: test/data-lock.test.ts.
import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { Row } from "../src/snapshots/format";
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

describe("two write restores requested at once", () => {
	it("exactly one is accepted, the other gets 409, one run is recorded", async () => {
		await seed(db, [{ id: "a", role: "gerant", day: "2026-11-10" }]);
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		await using introspector = await introspectWorkflow(env.RESTORE_WORKFLOW);
		const responses = await Promise.all(
			[1, 2].map(() => api("/api/admin/restore", { method: "POST", json: { snapshotId: m.snapshotId, mode: "replace" } })),
		);
		expect(responses.map((r) => r.status).sort()).toEqual([202, 409]);
		const refused = responses.find((r) => r.status === 409)!;
		expect((await refused.json<{ error: { code: string } }>()).error.code).toBe("restore_in_progress");
		expect(await count(db, `SELECT COUNT(*) AS n FROM restore_runs`)).toBe(1);
		for (const instance of await introspector.get()) await instance.waitForStatus("complete");
		expect(await ids()).toEqual(["a"]);
	});
});

describe("a merge that stops midway", () => {
	it("leaves counters equal to the rows it did write", async () => {
		await seed(db, [{ id: "live", role: "gerant", day: "2026-11-10" }]);
		const sub = (seq: number, id: string): Row => ({
			seq,
			id,
			received_at: "2026-11-12T10:00:00.000Z",
			questionnaire_version: "1",
			role_key: "gerant",
			answers: "{}",
			validation: "{}",
		});
		// Every row passes its checks; chunk 1 loads, then writing chunk 2 keeps failing (D1 down).
		const m = await writeSnapshot(bucket, {
			time: T0,
			chunkRows: 2,
			tables: { submissions: { rows: [sub(10, "m1"), sub(11, "m2"), sub(12, "m3")], bound: 12 } },
		});
		expect(m.chunks.length).toBe(2);
		await using introspector = await introspectWorkflow(env.RESTORE_WORKFLOW);
		await introspector.modifyAll(async (mod) => {
			await mod.disableRetryDelays();
			await mod.mockStepError({ name: "load chunk 2" }, new Error("D1_ERROR: simulated outage"));
		});
		const res = await api("/api/admin/restore", { method: "POST", json: { snapshotId: m.snapshotId, mode: "merge" } });
		expect(res.status).toBe(202);
		const { statusUrl } = await res.json<{ statusUrl: string }>();
		for (const instance of await introspector.get()) await instance.waitForStatus("complete");
		const run = await (await api(statusUrl)).json<{ status: string; progress: { chunksLoaded: number } }>();
		expect(run.status).toBe("failed");
		expect(run.progress.chunksLoaded).toBe(1);
		expect(await ids()).toEqual(["live", "m1", "m2"]);
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
	});
});

describe("erasures and restores", () => {
	it("an erasure of an answer kept only in the undo copy is honoured, and undo does not bring it back", async () => {
		await seed(db, [{ id: "a", role: "gerant", day: "2026-11-10" }]);
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		// Arrives after the snapshot: the replace moves it into restore_undo_submissions.
		await seed(db, [{ id: "late", role: "barista", day: "2026-11-12", email: "late@example.org" }]);
		expect((await runRestore(m.snapshotId, "replace")).status).toBe("complete");
		expect(await ids()).toEqual(["a"]);

		const erase = await api("/api/admin/erasures", { method: "POST", json: { submissionId: "late" } });
		expect(erase.status).toBe(201);
		expect(await count(db, `SELECT COUNT(*) AS n FROM restore_undo_submissions WHERE id = 'late'`)).toBe(0);

		expect((await api("/api/admin/restore/undo", { method: "POST" })).status).toBe(200);
		expect(await ids()).toEqual(["a"]);
		expect(await count(db, `SELECT COUNT(*) AS n FROM erased_submissions WHERE submission_id = 'late'`)).toBe(1);
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
	});

	it("an erasure by e-mail also finds the undo copy's rows", async () => {
		await seed(db, [{ id: "a", role: "gerant", day: "2026-11-10", email: "Bob@Example.org" }]);
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		await seed(db, [{ id: "b2", role: "gerant", day: "2026-11-12", email: "bob@example.org" }]);
		expect((await runRestore(m.snapshotId, "replace")).status).toBe("complete");
		const erase = await api("/api/admin/erasures", { method: "POST", json: { email: "bob@example.org" } });
		expect(erase.status).toBe(201);
		expect((await erase.json<{ erasedSubmissions: string[] }>()).erasedSubmissions.sort()).toEqual(["a", "b2"]);
		expect((await api("/api/admin/restore/undo", { method: "POST" })).status).toBe(200);
		expect(await ids()).toEqual([]);
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
	});

	it("is answered 409 while a merge or replace runs, and changes nothing", async () => {
		await seed(db, [{ id: "a", role: "gerant", day: "2026-11-10" }]);
		await db
			.prepare(`INSERT INTO restore_runs (id, snapshot_id, mode, status, requested_at) VALUES ('restore-2026-11-20t020000z-bbbb', 's', 'merge', 'running', ?1)`)
			.bind(new Date().toISOString())
			.run();
		const res = await api("/api/admin/erasures", { method: "POST", json: { submissionId: "a" } });
		expect(res.status).toBe(409);
		expect((await res.json<{ error: { code: string } }>()).error.code).toBe("restore_in_progress");
		expect(await ids()).toEqual(["a"]);
		expect(await count(db, `SELECT COUNT(*) AS n FROM erasures`)).toBe(0);
	});
});
