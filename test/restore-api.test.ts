// Restores through the real app and RestoreWorkflow on local D1/R2: replace after a wipe (content
// digests equal the snapshot's), dry run, merge twice, replace then undo, refusals, bad input.
import { env } from "cloudflare:workers";
import { introspectWorkflow } from "cloudflare:test";
import { buildContinuationId } from "../src/backup/chain";
import { insertRestoreRunIfFree } from "../src/db/restore-runs";
import { beforeEach, describe, expect, it } from "vitest";
import { chunkKey, manifestKey } from "../src/snapshots/format";
import { restoreUndoCleanupHook } from "../src/jobs/after-backup";
import { clearSnapshots, writeSnapshot, writeSnapshotOfDatabase } from "./helpers/snapshot";
import {
	api,
	count,
	expectedCounters,
	liveDigests,
	manifestDigests,
	runRestore,
	seed,
	storedCounters,
	wipe,
	type SeedSubmission,
} from "./helpers/restore-snapshot";

const db = env.DB;
const bucket = env.R2_BUCKET;
const T0 = new Date("2026-11-20T02:00:00Z");

function subs(n: number, prefix = "s"): SeedSubmission[] {
	const roles = ["formateur", "gerant", "barista"];
	return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i + 1}`, role: roles[i % 3]!, day: `2026-11-${String(10 + (i % 4)).padStart(2, "0")}` }));
}

async function stagingTables(): Promise<string[]> {
	const { results } = await db
		.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'restore_%' AND name <> 'restore_runs' ORDER BY name`)
		.all<{ name: string }>();
	return results.map((r) => r.name);
}

beforeEach(async () => {
	await wipe(db);
	await clearSnapshots(bucket);
});

describe("replace", () => {
	it("restores a wiped database and the content digests equal the snapshot's", async () => {
		await seed(db, subs(40));
		const original = await liveDigests(db);
		const m = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 9);
		expect(m.chunks.length).toBeGreaterThan(3);
		expect(manifestDigests(m)).toEqual(original);

		await wipe(db);
		expect(await count(db, `SELECT COUNT(*) AS n FROM submissions`)).toBe(0);
		const run = await runRestore(m.snapshotId, "replace");
		expect(run).toMatchObject({ status: "complete", mode: "replace", undoAvailable: true, error: null });
		expect(run.progress.chunksLoaded).toBe(m.chunks.length);
		expect(run.report?.written?.submissions).toBe(40);

		expect(await liveDigests(db)).toEqual(manifestDigests(m));
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
		// Indexes are back on the live table under their own names; staging tables are gone.
		const ix = await db.prepare(`SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='submissions' AND sql IS NOT NULL ORDER BY name`).all<{ name: string }>();
		expect(ix.results.map((r) => r.name)).toEqual(["submissions_received_at", "submissions_role_key"]);
		expect(await stagingTables()).toEqual(["restore_undo_counters", "restore_undo_erased_submissions", "restore_undo_erasures", "restore_undo_roles", "restore_undo_submissions"]);
		expect(await count(db, `SELECT COUNT(*) AS n FROM audit_log WHERE action = 'restore' AND detail LIKE ?1`, `%${run.id}%`)).toBe(1);
	});

	it("then undo brings back the replaced data, keeps answers received since, and can only run once", async () => {
		await seed(db, subs(12));
		const m = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 5);
		// After the snapshot: 3 new answers, one deleted.
		await seed(db, subs(3, "late"));
		await db.prepare(`DELETE FROM submissions WHERE id = 's-1'`).run();
		await db.prepare(`UPDATE counters SET value = value - 1 WHERE name IN ('total', 'role:formateur', 'day:2026-11-10')`).run();
		await db.prepare(`UPDATE roles SET use_count = use_count - 1 WHERE role_key = 'formateur'`).run();
		const before = await liveDigests(db);

		const fresh = await api("/api/admin/restore/undo");
		expect(fresh.status).toBe(200);
		expect(await fresh.json()).toMatchObject({ available: false, reason: "no_replace", replace: null });
		const run = await runRestore(m.snapshotId, "replace");
		expect(run.status).toBe("complete");
		expect(await liveDigests(db)).toEqual(manifestDigests(m));
		const state = (await (await api("/api/admin/restore/undo")).json()) as Record<string, unknown>;
		expect(state).toMatchObject({ available: true, reason: null, replace: { id: run.id, snapshotId: m.snapshotId, undoneAt: null } });
		expect(state.nextBackupAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);

		// A new answer arrives after the replace: undo must not lose it.
		await db.prepare(`INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation) VALUES ('after-swap', '2026-11-21T09:00:00.000Z', '1', 'gerant', '{}', '{}')`).run();

		const undo = await api("/api/admin/restore/undo", { method: "POST" });
		expect(undo.status).toBe(200);
		expect(await undo.json()).toEqual({ undone: run.id });
		const ids = (await db.prepare(`SELECT id FROM submissions ORDER BY id`).all<{ id: string }>()).results.map((r) => r.id);
		expect(ids).toContain("after-swap");
		expect(ids).toContain("late-1");
		expect(ids).not.toContain("s-1");
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
		await db.prepare(`DELETE FROM submissions WHERE id = 'after-swap'`).run();
		await db.prepare(`UPDATE roles SET use_count = use_count - 1 WHERE role_key = 'gerant'`).run();
		const undone = await liveDigests(db, ["roles", "submissions", "erasures", "erased_submissions"]);
		expect(undone).toEqual({ roles: before.roles, submissions: before.submissions, erasures: before.erasures, erased_submissions: before.erased_submissions });
		expect(await stagingTables()).toEqual([]);

		expect(await (await api("/api/admin/restore/undo")).json()).toMatchObject({ available: false, reason: "undone", replace: { id: run.id } });
		const again = await api("/api/admin/restore/undo", { method: "POST" });
		expect(again.status).toBe(404);
		expect(await again.json()).toMatchObject({ error: { code: "nothing_to_undo" } });
	});

	it("refuses a second replace while an undo is pending; a successful backup releases the kept data", async () => {
		await seed(db, subs(5));
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		await runRestore(m.snapshotId, "replace");
		const second = await api("/api/admin/restore", { method: "POST", json: { snapshotId: m.snapshotId, mode: "replace" } });
		expect(second.status).toBe(409);
		expect(await second.json()).toMatchObject({ error: { code: "undo_pending" } });

		const base = { runId: "b1", trigger: "manual" as const, finishedAt: "2099-01-01T00:00:00.000Z", scheduledTime: "2099-01-01T00:00:00.000Z" };
		// A failed backup keeps it; a backup that started before the replace finished keeps it.
		expect(await restoreUndoCleanupHook.run(env, { ...base, status: "failed", startedAt: "2099-01-01T00:00:00.000Z" }, {})).toEqual({ skipped: "backup failed" });
		expect(await restoreUndoCleanupHook.run(env, { ...base, status: "complete", startedAt: "2000-01-01T00:00:00.000Z" }, {})).toEqual({ released: 0 });
		expect((await stagingTables()).length).toBe(5);
		expect(await restoreUndoCleanupHook.run(env, { ...base, status: "complete", startedAt: "2099-01-01T00:00:00.000Z" }, {})).toEqual({ released: 1 });
		expect(await stagingTables()).toEqual([]);
		expect(await (await api("/api/admin/restore/undo")).json()).toMatchObject({ available: false, reason: "released" });
		expect((await api("/api/admin/restore/undo", { method: "POST" })).status).toBe(404);
		expect((await api("/api/admin/restore", { method: "POST", json: { snapshotId: m.snapshotId, mode: "replace" } })).status).toBe(202);
	});
});

describe("dry run", () => {
	it("reports added, differing and disappearing rows with sample ids, and writes nothing", async () => {
		await seed(db, subs(20));
		const m = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 7);
		await db.prepare(`DELETE FROM submissions WHERE id IN ('s-2', 's-3', 's-4')`).run();
		await db.prepare(`UPDATE submissions SET answers = '{"cafe":"changed"}' WHERE id = 's-10'`).run();
		await seed(db, subs(2, "new"));
		const before = await liveDigests(db);

		const run = await runRestore(m.snapshotId); // dry-run is the default
		expect(run).toMatchObject({ status: "complete", mode: "dry-run", undoAvailable: false });
		const s = run.report!.tables!.submissions!;
		expect(s).toMatchObject({ inSnapshot: 20, added: 3, differ: 1, unchanged: 16, disappear: 2, skippedErased: 0 });
		expect([...s.samples.added!].sort()).toEqual(["s-2", "s-3", "s-4"]);
		expect(s.samples.differ).toEqual(["s-10"]);
		expect([...s.samples.disappear!].sort()).toEqual(["new-1", "new-2"]);
		// Ids only: no answer content anywhere in the report.
		expect(JSON.stringify(run.report)).not.toContain("Café");
		expect(await liveDigests(db)).toEqual(before);
		expect(await stagingTables()).toEqual([]);
	});

	it("of an empty snapshot into an empty database reports nothing to do", async () => {
		const m = await writeSnapshot(bucket, { time: T0, tables: {} });
		const run = await runRestore(m.snapshotId, "dry-run");
		expect(run.status).toBe("complete");
		for (const t of Object.values(run.report!.tables!)) expect(t).toMatchObject({ inSnapshot: 0, added: 0, differ: 0, disappear: 0 });
	});
});

describe("merge", () => {
	it("inserts only missing rows, twice = no change the second time, counters equal the rows", async () => {
		await seed(db, subs(15));
		const m = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 4);
		await db.prepare(`DELETE FROM submissions WHERE id IN ('s-1', 's-5', 's-9')`).run();
		await db.prepare(`UPDATE submissions SET answers = '{"cafe":"kept"}' WHERE id = 's-2'`).run();
		// A new answer took seq of nothing in particular; merged rows must not be dropped on seq clashes.
		await seed(db, subs(1, "fresh"));

		const first = await runRestore(m.snapshotId, "merge");
		expect(first).toMatchObject({ status: "complete", undoAvailable: false });
		expect(first.report?.written?.submissions).toBe(3);
		expect(await count(db, `SELECT COUNT(*) AS n FROM submissions`)).toBe(16);
		expect(await db.prepare(`SELECT answers FROM submissions WHERE id = 's-2'`).first("answers")).toBe('{"cafe":"kept"}');
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
		const afterFirst = await liveDigests(db);

		const second = await runRestore(m.snapshotId, "merge");
		expect(second.status).toBe("complete");
		expect(Object.values(second.report?.written ?? {}).reduce((a, b) => a + b, 0)).toBe(0);
		expect(await liveDigests(db)).toEqual(afterFirst);
	});

	it("keeps the snapshot's seq when free and gives a fresh one on a clash", async () => {
		const sub = (seq: number, id: string) => ({ seq, id, received_at: "2026-11-10T10:00:00.000Z", questionnaire_version: "1", role_key: "gerant", answers: "{}", validation: "{}" });
		const m = await writeSnapshot(bucket, { time: T0, tables: { submissions: { rows: [sub(1, "s-1"), sub(2, "s-2"), sub(3, "s-3")], bound: 3 } } });
		await db.prepare(`INSERT INTO submissions (seq, id, received_at, questionnaire_version, role_key, answers, validation) VALUES (1, 'other-1', '2026-11-11T10:00:00.000Z', '1', 'gerant', '{}', '{}')`).run();
		const run = await runRestore(m.snapshotId, "merge");
		expect(run.report?.written?.submissions).toBe(3);
		const rows = (await db.prepare(`SELECT seq, id FROM submissions ORDER BY id`).all<{ seq: number; id: string }>()).results;
		expect(Object.fromEntries(rows.map((r) => [r.id, r.seq]))).toMatchObject({ "other-1": 1, "s-2": 2, "s-3": 3 });
		expect(rows.find((r) => r.id === "s-1")!.seq).toBeGreaterThan(3);
		// No roles rows in this snapshot: only the counters table is checked.
		expect((await storedCounters(db)).counters).toEqual((await expectedCounters(db)).counters);
	});
});

describe("part by part (chunks with a parts list, and older ones without)", () => {
	it("restores a v1 snapshot without parts and a new one with parts to the same per-table digests", async () => {
		await seed(db, subs(30));
		const original = await liveDigests(db);
		const whole = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 9);
		const parted = await writeSnapshotOfDatabase(bucket, db, new Date(T0.getTime() + 3_600_000), undefined, 9, 2);
		expect(whole.chunks.every((c) => c.parts === undefined)).toBe(true);
		expect(parted.chunks.every((c) => (c.parts?.length ?? 0) >= 2)).toBe(true);
		expect(manifestDigests(parted)).toEqual(manifestDigests(whole));

		for (const m of [whole, parted]) {
			await wipe(db);
			const dry = await runRestore(m.snapshotId, "dry-run");
			expect(dry.status).toBe("complete");
			expect(dry.report?.tables?.submissions).toMatchObject({ inSnapshot: 30, added: 30 });
			await wipe(db);
			const run = await runRestore(m.snapshotId, "replace");
			expect(run).toMatchObject({ status: "complete", error: null });
			expect(run.progress.chunksLoaded).toBe(m.chunks.length);
			expect(run.report?.written?.submissions).toBe(30);
			expect(await liveDigests(db)).toEqual(original);
			expect(await storedCounters(db)).toEqual(await expectedCounters(db));
			// Undo copy of the replace: out of the way for the next one.
			await db.batch(["submissions", "roles", "counters", "erasures", "erased_submissions"].map((t) => db.prepare(`DROP TABLE IF EXISTS restore_undo_${t}`)));
			await db.prepare("UPDATE restore_runs SET undo_available = 0").run();
		}
	});

	it("a flipped byte inside one part refuses the restore, names the chunk and the part, and writes nothing", async () => {
		await seed(db, subs(20));
		const m = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 8, 3);
		await wipe(db);
		const entry = m.chunks[1]!;
		const part = entry.parts![1]!;
		const bytes = new Uint8Array(await (await bucket.get(entry.key))!.arrayBuffer());
		bytes[part.offset + 3]! ^= 0x40;
		await bucket.put(entry.key, bytes);
		const run = await runRestore(m.snapshotId, "replace");
		expect(run.status).toBe("refused");
		expect(run.error).toBe(`chunk 2 (${entry.key}) part 2/${entry.parts!.length} (bytes ${part.offset}-${part.offset + part.bytes - 1}): SHA-256 does not match the manifest`);
		expect(run.progress.chunksLoaded).toBe(0);
		expect(await count(db, `SELECT COUNT(*) AS n FROM submissions`)).toBe(0);
		expect(await stagingTables()).toEqual([]);
	});
});

describe("chained instances", () => {
	it("a replace needing more steps than one instance goes on in chained instances: one run, the same digests", async () => {
		await seed(db, subs(24));
		const original = await liveDigests(db);
		const m = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 6, 1);
		await wipe(db);
		const id = "restore-2026-11-20t030000z-chain1";
		await insertRestoreRunIfFree(db, { id, snapshotId: m.snapshotId, mode: "replace", requestedAt: new Date().toISOString(), chunksTotal: m.chunks.length, rowsTotal: m.rows });
		const introspector = await introspectWorkflow(env.RESTORE_WORKFLOW);
		const outputs: unknown[] = [];
		try {
			await introspector.modifyAll(async (mod) => mod.disableRetryDelays());
			// 100 steps per instance: with ~80 kept for the lock waits and the end, a few chunks each.
			await env.RESTORE_WORKFLOW.create({ id, params: { runId: id, snapshotId: m.snapshotId, mode: "replace", stepsPerInstance: 100 } });
			for (let seen = 0; ; ) {
				const instances = await introspector.get();
				for (const instance of instances.slice(seen)) await instance.waitForStatus("complete");
				if (instances.length === seen) break;
				seen = instances.length;
			}
			for (const next of [id, ...Array.from({ length: 30 }, (_, k) => buildContinuationId(id, k + 2))]) {
				const got = await env.RESTORE_WORKFLOW.get(next).then((i) => i.status(), () => null);
				if (got) outputs.push(got.output);
			}
		} finally {
			await introspector.dispose();
		}
		expect(outputs.length).toBeGreaterThanOrEqual(3);
		outputs.slice(0, -1).forEach((o, i) => expect(o).toEqual({ status: "continued", next: buildContinuationId(id, i + 2) }));
		expect(outputs.at(-1)).toMatchObject({ status: "complete", written: { submissions: 24 } });
		const run = await (await api(`/api/admin/restores/${id}`)).json<{ status: string; progress: { chunksLoaded: number } }>();
		expect(run).toMatchObject({ status: "complete", progress: { chunksLoaded: m.chunks.length } });
		expect(await liveDigests(db)).toEqual(original);
		expect(await count(db, "SELECT COUNT(*) AS n FROM data_locks")).toBe(0);
	});
});

describe("refusals: verification before any write", () => {
	async function corruptChunk(m: { snapshotId: string }, n: number, mutate: (b: Uint8Array) => Uint8Array | null) {
		const key = chunkKey(m.snapshotId, n);
		const bytes = new Uint8Array(await (await bucket.get(key))!.arrayBuffer());
		const out = mutate(bytes);
		if (out) await bucket.put(key, out);
		else await bucket.delete(key);
	}

	for (const mode of ["dry-run", "merge", "replace"]) {
		it(`a corrupt chunk refuses a ${mode} and writes nothing`, async () => {
			await seed(db, subs(20));
			const m = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 6);
			await wipe(db);
			await seed(db, subs(2, "live"));
			const before = await liveDigests(db);
			await corruptChunk(m, m.chunks.length, (b) => {
				const c = b.slice();
				c[c.length - 10] = c[c.length - 10]! ^ 0xff;
				return c;
			});
			const run = await runRestore(m.snapshotId, mode);
			expect(run.status).toBe("refused");
			expect(run.error).toContain(`chunk ${m.chunks.length}`);
			expect(run.error).toContain("SHA-256");
			expect(run.progress.chunksLoaded).toBe(0);
			expect(await liveDigests(db)).toEqual(before);
			expect(await stagingTables()).toEqual([]);
		});
	}

	it("a missing chunk (incomplete snapshot) is refused", async () => {
		await seed(db, subs(10));
		const m = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 4);
		await corruptChunk(m, 2, () => null);
		await wipe(db);
		const run = await runRestore(m.snapshotId, "merge");
		expect(run).toMatchObject({ status: "refused" });
		expect(run.error).toContain("missing");
		expect(await count(db, `SELECT COUNT(*) AS n FROM submissions`)).toBe(0);
	});

	it("a manifest that does not match its SHA-256 is refused at once (422), no run recorded", async () => {
		await seed(db, subs(3));
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		const obj = await bucket.get(manifestKey(m.snapshotId));
		const text = (await obj!.text()).replace('"rows"', '"rows" ');
		await bucket.put(manifestKey(m.snapshotId), text, { customMetadata: obj!.customMetadata });
		const res = await api("/api/admin/restore", { method: "POST", json: { snapshotId: m.snapshotId, mode: "merge" } });
		expect(res.status).toBe(422);
		expect(await res.json()).toMatchObject({ error: { code: "snapshot_invalid" } });
		expect(await count(db, `SELECT COUNT(*) AS n FROM restore_runs`)).toBe(0);
	});

	it("an unknown snapshot is 404", async () => {
		const res = await api("/api/admin/restore", { method: "POST", json: { snapshotId: "2026-01-01T000000Z-nope", mode: "merge" } });
		expect(res.status).toBe(404);
		expect(await res.json()).toMatchObject({ error: { code: "snapshot_not_found" } });
	});
});

describe("one write-mode restore at a time", () => {
	it("409 while another merge/replace runs; a run whose workflow vanished long ago no longer blocks", async () => {
		await seed(db, subs(3));
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		const insert = (id: string, at: string) =>
			db.prepare(`INSERT INTO restore_runs (id, snapshot_id, mode, status, requested_at) VALUES (?1, ?2, 'merge', 'running', ?3)`).bind(id, m.snapshotId, at).run();
		await insert("restore-2026-11-20t000000z-busy", new Date().toISOString());
		const busy = await api("/api/admin/restore", { method: "POST", json: { snapshotId: m.snapshotId, mode: "merge" } });
		expect(busy.status).toBe(409);
		expect(await busy.json()).toMatchObject({ error: { code: "restore_in_progress" } });
		expect((await api("/api/admin/restore/undo", { method: "POST" })).status).toBe(409);
		// A dry run is never blocked.
		expect((await runRestore(m.snapshotId, "dry-run")).status).toBe("complete");

		await db.prepare(`DELETE FROM restore_runs`).run();
		await insert("restore-2026-11-20t000000z-dead", "2026-11-20T00:00:00.000Z");
		const run = await runRestore(m.snapshotId, "merge");
		expect(run.status).toBe("complete");
		const dead = await (await api("/api/admin/restores/restore-2026-11-20t000000z-dead")).json<{ status: string; error: string }>();
		expect(dead).toMatchObject({ status: "failed", error: "workflow instance missing" });
	});
});

describe("bad input and auth", () => {
	const cases: [string, unknown, string][] = [
		["bad mode", { snapshotId: "2026-01-01T000000Z-abc", mode: "wipe" }, "mode"],
		["bad snapshot id", { snapshotId: "../etc/passwd", mode: "merge" }, "snapshotId"],
		["missing snapshot id", { mode: "merge" }, "snapshotId"],
		["unknown field", { snapshotId: "2026-01-01T000000Z-abc", force: true }, "force"],
	];
	for (const [name, body, field] of cases) {
		it(`400 on ${name}, nothing recorded`, async () => {
			const res = await api("/api/admin/restore", { method: "POST", json: body });
			expect(res.status).toBe(400);
			const json = await res.json<{ error: { code: string; fields: Record<string, string> } }>();
			expect(json.error.code).toBe("invalid_request");
			expect(json.error.fields[field]).toBeTruthy();
			expect(await count(db, `SELECT COUNT(*) AS n FROM restore_runs`)).toBe(0);
		});
	}

	it("400 on invalid JSON; 401 without the token; GET of an unknown or malformed id", async () => {
		expect((await api("/api/admin/restore", { method: "POST", body: "{", headers: { "Content-Type": "application/json" } })).status).toBe(400);
		const anon = await api("/api/admin/restore", { method: "POST", json: {}, headers: { Authorization: "" } });
		expect(anon.status).toBe(401);
		expect((await api("/api/admin/restores/restore-2026-01-01t000000z-zzzz")).status).toBe(404);
		expect((await api("/api/admin/restores/nope")).status).toBe(400);
		expect(await (await api("/api/admin/restores")).json()).toEqual({ restores: [] });
		expect((await api("/api/admin/restore/undo", { method: "POST", headers: { Authorization: "" } })).status).toBe(401);
	});
});
