// Restores racing with other work, on real local D1/R2/Workflows: two write restores at once, a
// replace while a backup runs, a merge that stops midway, erasures while a replace is kept for
// undo or while a restore runs. Each case is a defect found in review (see the report).
import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { Row } from "../src/snapshots/format";
import { prepareStaging, swapInStaging } from "../src/restore/load";
import { clearSnapshots, writeSnapshot, writeSnapshotOfDatabase } from "./helpers/snapshot";
import { api, count, expectedCounters, liveDigests, runRestore, seed, storedCounters, wipe } from "./helpers/restore-snapshot";

const db = env.DB;
const bucket = env.R2_BUCKET;
const T0 = new Date("2026-11-20T02:00:00Z");

beforeEach(async () => {
	await wipe(db);
	await db.prepare(`DELETE FROM backup_runs`).run();
	await clearSnapshots(bucket);
});

async function ids(): Promise<string[]> {
	return (await db.prepare(`SELECT id FROM submissions ORDER BY id`).all<{ id: string }>()).results.map((r) => r.id);
}

/** A backup in progress, as the BackupWorkflow records it once its "begin" step ran. */
async function markBackupRunning(): Promise<void> {
	await db
		.prepare(`INSERT INTO backup_runs (id, trigger, status, stage, started_at) VALUES ('manual-20261120T020000Z-abcdef', 'manual', 'running', 'export', ?1)`)
		.bind(new Date().toISOString())
		.run();
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

describe("replace while a backup runs", () => {
	it("is refused with 409 backup_in_progress and nothing is recorded", async () => {
		await seed(db, [{ id: "a", role: "gerant", day: "2026-11-10" }]);
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		await markBackupRunning();
		const res = await api("/api/admin/restore", { method: "POST", json: { snapshotId: m.snapshotId, mode: "replace" } });
		expect(res.status).toBe(409);
		expect((await res.json<{ error: { code: string } }>()).error.code).toBe("backup_in_progress");
		expect(await count(db, `SELECT COUNT(*) AS n FROM restore_runs`)).toBe(0);
	});

	it("a backup that started after the replace was accepted stops the swap: live tables untouched, no undo copy", async () => {
		await seed(db, [
			{ id: "a", role: "gerant", day: "2026-11-10" },
			{ id: "b", role: "barista", day: "2026-11-11" },
		]);
		const before = await liveDigests(db);
		await prepareStaging(db);
		await db.prepare(`INSERT INTO restore_stage_submissions SELECT * FROM submissions WHERE id = 'a'`).run();
		await db
			.prepare(`INSERT INTO restore_runs (id, snapshot_id, mode, status, requested_at) VALUES ('restore-2026-11-20t020000z-aaaa', 's', 'replace', 'running', ?1)`)
			.bind(new Date().toISOString())
			.run();
		await markBackupRunning();
		const out = await swapInStaging(db, "restore-2026-11-20t020000z-aaaa", "s", {}, new Date().toISOString());
		expect(out).toMatchObject({ ok: false });
		expect(out!.reason).toContain("backup manual-20261120T020000Z-abcdef is running");
		expect(await liveDigests(db)).toEqual(before);
		expect(await count(db, `SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE 'restore_undo_%'`)).toBe(0);
		expect(await count(db, `SELECT COUNT(*) AS n FROM restore_runs WHERE undo_available = 1`)).toBe(0);
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
