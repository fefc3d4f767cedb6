// The weekly verification end to end on real local D1, R2 and Workflows: corrupted chunks in
// older snapshots, and the restore drill against the live data (modified row, missing row).
import { createExecutionContext, createScheduledController, introspectWorkflow, introspectWorkflowInstance, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { chunkKey, type Manifest } from "../src/snapshots/format";
import type { VerifyParams, VerifySummary } from "../src/jobs/verify-workflow";
import { buildContinuationId } from "../src/backup/chain";
import { fetchLatestVerification } from "../src/db/verification-runs";
import worker from "../src/worker";
import { insertMetadata, insertSubmissions, runBackup } from "./backup-helpers";
import { clearSnapshots, writeSnapshotOfDatabase } from "./helpers/snapshot";

const TABLES = ["roles", "submissions", "counters", "erasures", "erased_submissions", "audit_log", "backup_runs", "verification_runs", "snapshot_checks"];

async function resetData() {
	await env.DB.batch(TABLES.map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
	await clearSnapshots(env.R2_BUCKET);
}

/** Two roles, `n` submissions, their counters: the shape the app writes. */
async function insertData(n: number, from = 1) {
	const stmts = [
		env.DB.prepare(
			"INSERT OR IGNORE INTO roles (role_key, label, created_at, use_count, last_used_at) VALUES ('formateur', 'Formateur', '2026-11-01T10:00:00Z', 0, NULL), ('barista', 'Barista ☕', '2026-11-01T11:00:00Z', 0, NULL)",
		),
	];
	for (let i = from; i < from + n; i++) {
		stmts.push(
			env.DB.prepare(
				"INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation) VALUES (?, ?, 'v1', ?, ?, 'ok')",
			).bind(`sub-${i}`, `2026-11-${String(1 + (i % 20)).padStart(2, "0")}T09:00:00Z`, i % 2 ? "formateur" : "barista", JSON.stringify({ cafe: `Café n°${i} — Élan`, note: i })),
		);
	}
	stmts.push(env.DB.prepare("UPDATE roles SET use_count = use_count + ?, last_used_at = '2026-11-20T09:00:00Z'").bind(n));
	stmts.push(
		env.DB.prepare(
			"INSERT INTO counters (name, value, updated_at) VALUES ('total', ?, '2026-11-20T09:00:00Z') ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
		).bind(n),
	);
	await env.DB.batch(stmts);
}

/** Run one VerifyWorkflow instance for a scheduled day and return its summary. */
async function runVerify(day: string, extra: Omit<VerifyParams, "scheduledTime"> = {}): Promise<VerifySummary> {
	const scheduledTime = Date.parse(`${day}T03:00:00Z`);
	const id = `verify-${day}`;
	const instance = await introspectWorkflowInstance(env.VERIFY_WORKFLOW, id);
	try {
		await instance.modify(async (m) => m.disableRetryDelays());
		await env.VERIFY_WORKFLOW.create({ id, params: { scheduledTime, ...extra } });
		await instance.waitForStatus("complete");
		return (await instance.getOutput()) as VerifySummary;
	} finally {
		await instance.dispose();
	}
}

/** Run a verification that may chain instances; the outputs of every instance, in order. */
async function runVerifyChain(day: string, extra: Omit<VerifyParams, "scheduledTime">): Promise<unknown[]> {
	const id = `verify-${day}`;
	const introspector = await introspectWorkflow(env.VERIFY_WORKFLOW);
	const outputs: unknown[] = [];
	try {
		await introspector.modifyAll(async (m) => m.disableRetryDelays());
		await env.VERIFY_WORKFLOW.create({ id, params: { scheduledTime: Date.parse(`${day}T03:00:00Z`), ...extra } });
		for (let seen = 0; ; ) {
			const instances = await introspector.get();
			for (const instance of instances.slice(seen)) await instance.waitForStatus("complete");
			if (instances.length === seen) break;
			seen = instances.length;
		}
		for (const next of [id, ...[2, 3, 4, 5, 6, 7, 8, 9, 10].map((k) => buildContinuationId(id, k))]) {
			const got = await env.VERIFY_WORKFLOW.get(next).then((i) => i.status(), () => null);
			if (got) outputs.push(got.output);
		}
	} finally {
		await introspector.dispose();
	}
	return outputs;
}

function drillTable(s: VerifySummary, table: string) {
	return s.drill.tables.find((t) => t.table === table)!;
}

beforeEach(resetData);

describe("restore drill", () => {
	it("matches the live data, ignoring what legitimately changed after the snapshot", async () => {
		await insertData(30);
		const m = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-11-23T02:00:00Z"), undefined, 10);
		expect(m.chunks.length).toBeGreaterThan(2);
		// After the snapshot: new submissions (seq > bound), role counts and counters move on,
		// and one submission is erased on request.
		await insertData(5, 31);
		await env.DB.batch([
			env.DB.prepare("DELETE FROM submissions WHERE id = 'sub-7'"),
			env.DB.prepare("INSERT INTO erased_submissions (submission_id, erasure_id, erased_at) VALUES ('sub-7', 'er-1', '2026-11-23T12:00:00Z')"),
		]);

		const s = await runVerify("2026-11-23");
		expect(s.status).toBe("ok");
		expect(s.drill).toMatchObject({ status: "ok", snapshotId: m.snapshotId, rows: m.rows, error: null });
		expect(drillTable(s, "submissions")).toMatchObject({ compared: true, ok: true, snapshotRows: 29, liveRows: 29, erasedSinceSnapshot: 1 });
		expect(drillTable(s, "roles")).toMatchObject({ compared: true, ok: true, snapshotRows: 2, liveRows: 2 });
		expect(drillTable(s, "counters")).toMatchObject({ compared: false, ok: true });
		expect(s.alerts).toEqual([]);
	});

	it("detects one modified row, then one missing row, and alerts at once", async () => {
		await insertData(30);
		const m = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-11-24T02:00:00Z"), undefined, 10);

		// one modified row
		await env.DB.prepare("UPDATE submissions SET answers = ? WHERE id = 'sub-12'").bind(JSON.stringify({ cafe: "changed" })).run();
		const modified = await runVerify("2026-11-24");
		expect(modified.status).toBe("failed");
		expect(modified.drill.status).toBe("mismatch");
		expect(drillTable(modified, "submissions")).toMatchObject({ ok: false, snapshotRows: 30, liveRows: 30, note: "same number of rows, different content" });
		expect(drillTable(modified, "roles").ok).toBe(true);
		expect(modified.corrupt).toEqual([]); // the snapshot itself is fine
		expect(modified.alerts).toEqual([{ snapshotId: m.snapshotId, chunk: null, delivered: expect.any(Boolean) }]);

		// one missing row (deleted without an erasure request)
		await env.DB.prepare("UPDATE submissions SET answers = ? WHERE id = 'sub-12'").bind(JSON.stringify({ cafe: "Café n°12 — Élan", note: 12 })).run();
		const { seq } = (await env.DB.prepare("SELECT seq FROM submissions WHERE id = 'sub-20'").first<{ seq: number }>())!;
		await env.DB.prepare("DELETE FROM submissions WHERE id = 'sub-20'").run();
		const missing = await runVerify("2026-11-25");
		expect(missing.drill.status).toBe("mismatch");
		expect(drillTable(missing, "submissions")).toMatchObject({ ok: false, snapshotRows: 30, liveRows: 29, note: "30 rows in the snapshot, 29 live" });
		expect(missing.drill.error).toBe("submissions: 30 rows in the snapshot, 29 live");

		// put it back: the drill agrees again
		await env.DB.prepare(
			"INSERT INTO submissions (seq, id, received_at, questionnaire_version, role_key, answers, validation) VALUES (?, 'sub-20', '2026-11-01T09:00:00Z', 'v1', 'barista', ?, 'ok')",
		)
			.bind(seq, JSON.stringify({ cafe: "Café n°20 — Élan", note: 20 }))
			.run();
		expect((await runVerify("2026-11-26")).drill.status).toBe("ok");

		const latest = await fetchLatestVerification(env.DB);
		expect(latest).toMatchObject({ id: "verify-2026-11-26", status: "ok", drillStatus: "ok", drillSnapshotId: m.snapshotId });
	});
});

describe("restore drill on a snapshot written by the real BackupWorkflow", () => {
	it("agrees with the live data it was taken from", async () => {
		await insertMetadata();
		await insertSubmissions(400);
		await runBackup("scheduled-2026-11-20", { trigger: "scheduled", requestedAt: Date.parse("2026-11-20T02:00:00Z"), chunkBytes: 1024 });
		const s = await runVerify("2026-11-20");
		expect(s.corrupt).toEqual([]);
		expect(s.chunksChecked).toBeGreaterThan(1);
		expect(s.drill.status).toBe("ok");
		expect(drillTable(s, "submissions")).toMatchObject({ compared: true, ok: true, snapshotRows: 400, liveRows: 400 });
		expect(drillTable(s, "roles")).toMatchObject({ compared: true, ok: true, snapshotRows: 2 });
		expect(s.drill.tables.filter((t) => t.compared).map((t) => t.table).sort()).toEqual(["audit_log", "erasures", "roles", "submissions"]);
	});
});

describe("weekly job (hourly trigger, Monday 03:00 UTC)", () => {
	it("finds a corrupted chunk in an older snapshot, names it, records it and alerts; a duplicate delivery changes nothing", async () => {
		await insertData(12);
		const oldest = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-11-28T02:00:00Z"), undefined, 5);
		await insertData(6, 13);
		const middle = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-11-29T02:00:00Z"), undefined, 5);
		await insertData(6, 19);
		const newest = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-11-30T02:00:00Z"), undefined, 5);

		// Corrupt chunk 2 of the oldest snapshot: same size, one byte flipped, overwritten in R2.
		const key = chunkKey(oldest.snapshotId, 2);
		const bytes = new Uint8Array(await (await env.R2_BUCKET.get(key))!.arrayBuffer());
		const at = Math.floor(bytes.length / 2);
		bytes[at] = bytes[at]! ^ 0x01;
		await env.R2_BUCKET.put(key, bytes);

		const monday = Date.parse("2026-11-30T03:00:00Z");
		const id = "verify-2026-11-30";
		const instance = await introspectWorkflowInstance(env.VERIFY_WORKFLOW, id);
		let s: VerifySummary;
		try {
			await instance.modify(async (m) => m.disableRetryDelays());
			const deliver = async () => {
				const ctx = createExecutionContext();
				await worker.scheduled(createScheduledController({ scheduledTime: monday, cron: "0 * * * *" }), env, ctx);
				await waitOnExecutionContext(ctx);
			};
			await Promise.all([deliver(), deliver()]);
			await instance.waitForStatus("complete");
			await deliver();
			s = (await instance.getOutput()) as VerifySummary;
		} finally {
			await instance.dispose();
		}

		expect(s.status).toBe("failed");
		expect(s.snapshotsTotal).toBe(3);
		expect(s.snapshotsChecked).toBe(3);
		expect(s.snapshotsCorrupt).toBe(1);
		expect(s.chunksChecked).toBe(oldest.chunks.length + middle.chunks.length + newest.chunks.length);
		expect(s.corrupt).toEqual([
			{ snapshotId: oldest.snapshotId, chunk: key, reason: "checksum", message: `chunk 2 (${key}): SHA-256 does not match the manifest` },
		]);
		expect(s.alerts).toEqual([{ snapshotId: oldest.snapshotId, chunk: key, delivered: expect.any(Boolean) }]);
		// the newest is intact and matches D1: the drill passes
		expect(s.drill).toMatchObject({ status: "ok", snapshotId: newest.snapshotId });

		const checks = await env.DB.prepare("SELECT snapshot_id, status, run_id FROM snapshot_checks ORDER BY snapshot_id").all();
		expect(checks.results).toEqual([
			{ snapshot_id: oldest.snapshotId, status: "corrupt", run_id: id },
			{ snapshot_id: middle.snapshotId, status: "ok", run_id: id },
			{ snapshot_id: newest.snapshotId, status: "ok", run_id: id },
		]);
		const runs = await env.DB.prepare("SELECT id, status, snapshots_corrupt, drill_status FROM verification_runs").all();
		expect(runs.results).toEqual([{ id, status: "failed", snapshots_corrupt: 1, drill_status: "ok" }]);
		const latest = await fetchLatestVerification(env.DB);
		expect(latest?.details).toMatchObject({ corrupt: [{ snapshotId: oldest.snapshotId, chunk: key, reason: "checksum" }] });
	});

	it("a missing chunk and an unreadable manifest are corruption too; a corrupt newest blocks the drill", async () => {
		await insertData(8);
		const a = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-12-01T02:00:00Z"), undefined, 4);
		const b = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-12-02T02:00:00Z"), undefined, 4);
		await env.R2_BUCKET.delete(chunkKey(b.snapshotId, 1)); // newest loses a chunk
		await env.R2_BUCKET.put(`snapshots/${a.snapshotId}/manifest.json`, "{}", {
			customMetadata: { "manifest-sha256": "0".repeat(64) },
		});

		const s = await runVerify("2026-12-07");
		expect(s.status).toBe("failed");
		expect(s.corrupt.map((c) => [c.snapshotId, c.chunk, c.reason])).toEqual([
			[a.snapshotId, null, "manifest_checksum"],
			[b.snapshotId, chunkKey(b.snapshotId, 1), "missing"],
		]);
		expect(s.drill.status).toBe("error");
		expect(s.drill.error).toMatch(/^the newest snapshot is corrupt: missing: chunk 1/);
	});

	it("no snapshot at all: an ok run with the drill skipped, recorded", async () => {
		const s = await runVerify("2026-12-14");
		expect(s).toMatchObject({ status: "ok", snapshotsTotal: 0, snapshotsChecked: 0, corrupt: [], drill: { status: "skipped" } });
		expect(await fetchLatestVerification(env.DB)).toMatchObject({ id: "verify-2026-12-14", status: "ok", drillStatus: "skipped" });
	});
});

describe("part by part (chunks with a parts list)", () => {
	it("finds one flipped byte inside one part and names the chunk and the part; the other parts and snapshots are fine", async () => {
		await insertData(40);
		const older = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-12-19T02:00:00Z"), undefined, 20, 4);
		const newest = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-12-20T02:00:00Z"), undefined, 20, 4);
		const entry = older.chunks[1]!;
		expect(entry.parts!.length).toBeGreaterThanOrEqual(3);
		const part = entry.parts![2]!;
		const bytes = new Uint8Array(await (await env.R2_BUCKET.get(entry.key))!.arrayBuffer());
		bytes[part.offset + Math.floor(part.bytes / 2)]! ^= 0x10;
		await env.R2_BUCKET.put(entry.key, bytes);

		const s = await runVerify("2026-12-21");
		expect(s.status).toBe("failed");
		const where = `chunk 2 (${entry.key}) part 3/${entry.parts!.length} (bytes ${part.offset}-${part.offset + part.bytes - 1})`;
		expect(s.corrupt).toEqual([{ snapshotId: older.snapshotId, chunk: entry.key, reason: "checksum", message: `${where}: SHA-256 does not match the manifest` }]);
		expect(s.chunksChecked).toBe(older.chunks.length + newest.chunks.length);
		expect(s.drill).toMatchObject({ status: "ok", snapshotId: newest.snapshotId });
		expect(s.coverage).toMatchObject({ chunksRead: s.coverage!.chunksTotal, cycleRuns: 1, fr: "tous les morceaux relus cette semaine" });
	});

	it("reads v1 snapshots without parts and new ones with them alike: same digests, an intact run", async () => {
		await insertData(30);
		await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-12-26T02:00:00Z"), undefined, 10);
		await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2026-12-27T02:00:00Z"), undefined, 10, 3);
		const s = await runVerify("2026-12-28");
		expect(s).toMatchObject({ status: "ok", snapshotsChecked: 2, corrupt: [], drill: { status: "ok" } });
	});

	it("a tiny budget reads the newest whole and the others in turn, reports the coverage, and covers every chunk over the weeks", async () => {
		await insertData(24);
		const snaps: Manifest[] = [];
		for (const day of ["2027-01-01", "2027-01-02", "2027-01-03"]) {
			snaps.push(await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date(`${day}T02:00:00Z`), undefined, 10, 5));
		}
		const newest = snaps[2]!;
		const partsOfSnapshot = (m: Manifest) => m.chunks.reduce((a, c) => a + c.parts!.length, 0);
		// Budget: the newest's parts plus 2 more per week for the two older snapshots.
		const budget = partsOfSnapshot(newest) + 2;
		const olderChunks = snaps[0]!.chunks.length + snaps[1]!.chunks.length;
		// Mondays from 2027-01-04 on.
		const weeks = Array.from({ length: 30 }, (_, i) => new Date(Date.parse("2027-01-04T00:00:00Z") + i * 7 * 86_400_000).toISOString().slice(0, 10));
		const first = await runVerify(weeks[0]!, { partBudget: budget });
		expect(first.status).toBe("ok");
		expect(first.snapshotsTotal).toBe(3);
		expect(first.coverage!.chunksRead).toBeLessThan(first.coverage!.chunksTotal);
		expect(first.coverage!.cycleRuns).toBeGreaterThan(1);
		expect(first.coverage!.fr).toBe(`${Math.floor((100 * first.coverage!.chunksRead) / first.coverage!.chunksTotal)} % des morceaux relus cette semaine ; tous relus en ${first.coverage!.cycleRuns} semaines`);
		expect(first.drill).toMatchObject({ status: "ok", snapshotId: newest.snapshotId });
		// The metadata of every snapshot is checked every run: all three recorded.
		const checked = await env.DB.prepare("SELECT COUNT(*) AS n FROM snapshot_checks WHERE run_id = ?").bind("verify-2027-01-04").first("n");
		expect(checked).toBe(3);
		// The coverage is kept with the run.
		expect((await fetchLatestVerification(env.DB))?.details).toMatchObject({ coverage: { chunksRead: first.coverage!.chunksRead, cycleRuns: first.coverage!.cycleRuns } });

		// Over cycleRuns weeks, the older snapshots' chunks are all read: count chunks checked beyond the newest.
		let olderRead = first.chunksChecked - newest.chunks.length;
		for (const week of weeks.slice(1, first.coverage!.cycleRuns)) {
			const s = await runVerify(week, { partBudget: budget });
			expect(s.status).toBe("ok");
			olderRead += s.chunksChecked - newest.chunks.length;
		}
		expect(olderRead).toBeGreaterThanOrEqual(olderChunks);
		// A corrupted older chunk is found within the cycle, whichever week reads it.
		const victim = snaps[0]!.chunks.at(-1)!;
		const bytes = new Uint8Array(await (await env.R2_BUCKET.get(victim.key))!.arrayBuffer());
		bytes[victim.parts![0]!.offset + 5]! ^= 0x01;
		await env.R2_BUCKET.put(victim.key, bytes);
		const found: string[] = [];
		for (const week of weeks.slice(first.coverage!.cycleRuns, first.coverage!.cycleRuns + first.coverage!.cycleRuns)) {
			const s = await runVerify(week, { partBudget: budget });
			found.push(...s.corrupt.map((c) => c.chunk ?? ""));
		}
		expect(found).toContain(victim.key);
		expect(first.coverage!.cycleRuns).toBeLessThan(15);
	});

	it("a run needing more steps than one instance goes on in chained instances: one result, one record", async () => {
		await insertData(30);
		const older = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2027-03-06T02:00:00Z"), undefined, 10, 2);
		const newest = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date("2027-03-07T02:00:00Z"), undefined, 10, 2);
		const outputs = await runVerifyChain("2027-03-08", { stepsPerInstance: 40 });
		expect(outputs.length).toBeGreaterThanOrEqual(2);
		outputs.slice(0, -1).forEach((o, i) => expect(o).toEqual({ status: "continued", next: buildContinuationId("verify-2027-03-08", i + 2) }));
		const last = outputs.at(-1) as VerifySummary;
		expect(last).toMatchObject({ runId: "verify-2027-03-08", status: "ok", snapshotsChecked: 2, instances: outputs.length, drill: { status: "ok", snapshotId: newest.snapshotId } });
		expect(last.chunksChecked).toBe(older.chunks.length + newest.chunks.length);
		const { results } = await env.DB.prepare("SELECT id, status FROM verification_runs").all();
		expect(results).toEqual([{ id: "verify-2027-03-08", status: "ok" }]);
	});
});
