// The fault matrix (docs/fault-matrix.md): the cells that no other test covers. A step of the real
// Workflow (backup, weekly verification, restore merge/replace) fails through the introspector,
// once (transient: retried, then succeeds) or every time (permanent: fails cleanly, nothing
// half-done, the failure recorded and, for backups and verifications, a notice sent).
// Retry delays are disabled; nothing here depends on timing.
import { introspectWorkflow, introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { manifestKey } from "../src/snapshots/format";
import type { VerifySummary } from "../src/jobs/verify-workflow";
import { decodeSnapshot, fetchRunRow, insertSubmissions, resetStorage, runBackup, snapshotIdOfRun } from "./backup-helpers";
import { clearSnapshots, writeSnapshotOfDatabase } from "./helpers/snapshot";
import { api, count, expectedCounters, liveDigests, manifestDigests, seed, storedCounters, wipe, type RestoreView, type SeedSubmission } from "./helpers/restore-snapshot";

const T0 = Date.parse("2026-11-25T02:00:00Z");
const D1_DOWN = () => new Error("D1_ERROR: D1 is overloaded. Requests queued for too long.");
const R2_DOWN = () => new Error("put: We encountered an internal error. Please try again. (10001)");

async function deliveries(runId: string, type: string): Promise<number> {
	return count(env.DB, "SELECT COUNT(*) AS n FROM notification_log WHERE run_id = ? AND event_type = ? AND ok = 1", runId, type);
}

async function manifests(): Promise<number> {
	return (await env.R2_BUCKET.list({ prefix: "snapshots/" })).objects.filter((o) => o.key.endsWith("manifest.json")).length;
}

describe("backup", () => {
	beforeEach(resetStorage);

	it("begin, transient (D1): retried, then a complete, verified snapshot", async () => {
		await insertSubmissions(20);
		const runId = "manual-20261125T020000Z-fmbegt";
		await runBackup(runId, { trigger: "manual", requestedAt: T0 }, async (m) => m.mockStepError({ name: "begin" }, D1_DOWN(), 1));
		expect(await fetchRunRow(runId)).toMatchObject({ status: "complete", error: null });
		const { records } = await decodeSnapshot(await snapshotIdOfRun(runId));
		expect(records.filter((r) => r.table === "submissions")).toHaveLength(20);
		expect(await deliveries(runId, "backup_succeeded")).toBeGreaterThan(0);
	});

	it("manifest commit, transient (R2): retried, one manifest, every row once", async () => {
		await insertSubmissions(30);
		const runId = "manual-20261125T020000Z-fmmant";
		await runBackup(runId, { trigger: "manual", requestedAt: T0 }, async (m) => m.mockStepError({ name: "write manifest" }, R2_DOWN(), 2));
		expect(await fetchRunRow(runId)).toMatchObject({ status: "complete" });
		expect(await manifests()).toBe(1);
		const ids = (await decodeSnapshot(await snapshotIdOfRun(runId))).records.filter((r) => r.table === "submissions").map((r) => r.row.id);
		expect(new Set(ids).size).toBe(30);
		expect(ids).toHaveLength(30);
	});

	it("manifest commit, permanent (R2): failed at its stage, no manifest, backup_failed sent", async () => {
		await insertSubmissions(10);
		const runId = "manual-20261125T020000Z-fmmanp";
		await runBackup(runId, { trigger: "manual", requestedAt: T0 }, async (m) => m.mockStepError({ name: "write manifest" }, R2_DOWN()), "errored");
		const run = await fetchRunRow(runId);
		expect(run).toMatchObject({ status: "failed" });
		expect(String(run!.error)).toContain("internal error");
		expect(await env.R2_BUCKET.head(manifestKey(String(run!.snapshot_id)))).toBeNull();
		expect(await manifests()).toBe(0);
		expect(await deliveries(runId, "backup_failed")).toBeGreaterThan(0);
		// Nothing half-done: the data lock is released, a new backup can run at once.
		expect(await count(env.DB, "SELECT COUNT(*) AS n FROM data_locks")).toBe(0);
	});

	it("after-hook, transient (notice delivery): retried, recorded ok, the backup complete", async () => {
		const runId = "manual-20261125T020000Z-fmhokt";
		await runBackup(runId, { trigger: "manual", requestedAt: T0 }, async (m) => m.mockStepError({ name: "after-backup notify" }, new Error("fetch failed"), 1));
		const run = await fetchRunRow(runId);
		expect(run).toMatchObject({ status: "complete" });
		expect(JSON.parse(String(run!.details)).hooks.notify).toMatchObject({ ok: true });
		expect(await deliveries(runId, "backup_succeeded")).toBeGreaterThan(0);
	});
});

describe("weekly verification", () => {
	beforeEach(async () => {
		await resetStorage();
		await insertSubmissions(10);
	});

	async function runVerify(id: string, mock: (m: Parameters<Parameters<Awaited<ReturnType<typeof introspectWorkflowInstance>>["modify"]>[0]>[0]) => Promise<void>): Promise<VerifySummary> {
		const instance = await introspectWorkflowInstance(env.VERIFY_WORKFLOW, id);
		try {
			await instance.modify(async (m) => {
				await m.disableRetryDelays();
				await mock(m);
			});
			await env.VERIFY_WORKFLOW.create({ id, params: { scheduledTime: T0 + 3_600_000 } });
			await instance.waitForStatus("complete");
			return (await instance.getOutput()) as VerifySummary;
		} finally {
			await instance.dispose();
		}
	}

	async function verificationRow(id: string) {
		return env.DB.prepare("SELECT status FROM verification_runs WHERE id = ?").bind(id).first<{ status: string }>();
	}

	for (const [cell, step] of [["plan (R2 listing)", () => "plan"], ["chunk read (R2)", (id: string) => `check ${id} 1.1`]] as const) {
		it(`${cell}, transient: retried, then an ok run with the drill`, async () => {
			const m = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date(T0), ["roles", "submissions", "counters", "erasures", "erased_submissions"]);
			expect(m.chunks).toHaveLength(1);
			const id = `verify-fm-t-${crypto.randomUUID().slice(0, 6)}`;
			const summary = await runVerify(id, async (mod) => mod.mockStepError({ name: step(m.snapshotId) }, R2_DOWN(), 1));
			expect(summary).toMatchObject({ status: "ok", snapshotsChecked: 1, chunksChecked: 1, error: null });
			expect(summary.drill.status).toBe("ok");
			expect(await verificationRow(id)).toMatchObject({ status: "ok" });
		});

		it(`${cell}, permanent: an error run recorded and the weekly report sent, nothing flagged corrupt`, async () => {
			const m = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date(T0), ["roles", "submissions", "counters", "erasures", "erased_submissions"]);
			const id = `verify-fm-p-${crypto.randomUUID().slice(0, 6)}`;
			const summary = await runVerify(id, async (mod) => mod.mockStepError({ name: step(m.snapshotId) }, R2_DOWN()));
			expect(summary.status).toBe("error");
			expect(summary.error).toContain("internal error");
			expect(summary.corrupt).toEqual([]);
			expect(await verificationRow(id)).toMatchObject({ status: "error" });
			expect(await deliveries(id, "weekly_report")).toBeGreaterThan(0);
			// A failing read is not corruption: the snapshot is not marked bad.
			expect(await count(env.DB, "SELECT COUNT(*) AS n FROM verification_runs WHERE status = 'failed'")).toBe(0);
		});
	}
});

describe("restore merge and replace", () => {
	const subs = (n: number, p = "s"): SeedSubmission[] =>
		Array.from({ length: n }, (_, i) => ({ id: `${p}-${i + 1}`, role: i % 2 ? "gerant" : "formateur", day: "2026-11-10" }));

	beforeEach(async () => {
		await wipe(env.DB);
		await clearSnapshots(env.R2_BUCKET);
	});

	async function restoreWith(snapshotId: string, mode: "merge" | "replace", mock: (m: { mockStepError: (s: { name: string }, e: Error, times?: number) => Promise<void> }) => Promise<void>): Promise<RestoreView> {
		await using introspector = await introspectWorkflow(env.RESTORE_WORKFLOW);
		await introspector.modifyAll(async (m) => {
			await m.disableRetryDelays();
			await mock(m);
		});
		const res = await api("/api/admin/restore", { method: "POST", json: { snapshotId, mode } });
		expect(res.status).toBe(202);
		const { statusUrl } = await res.json<{ statusUrl: string }>();
		for (const instance of await introspector.get()) await instance.waitForStatus("complete");
		return (await api(statusUrl)).json<RestoreView>();
	}

	async function leftovers(): Promise<number> {
		return count(env.DB, "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND (name LIKE 'restore_stage_%' OR name LIKE 'restore_undo_%')");
	}

	for (const mode of ["merge", "replace"] as const) {
		const final = mode === "replace" ? "swap" : "finish merge";
		for (const [cell, step, error] of [
			["begin (manifest read, R2)", "verify manifest", R2_DOWN],
			["chunk read (R2)", "verify chunk 2", R2_DOWN],
			["chunk write (D1)", "load chunk 2", D1_DOWN],
			[mode === "replace" ? "final swap (D1)" : "final recount (D1)", final, D1_DOWN],
		] as const) {
			it(`${mode}, ${cell}, transient: retried, then complete with the snapshot's content`, async () => {
				await seed(env.DB, subs(12));
				const m = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date(T0), undefined, 5);
				expect(m.chunks.length).toBeGreaterThan(2);
				await env.DB.prepare("DELETE FROM submissions WHERE id IN ('s-2', 's-7')").run();
				const run = await restoreWith(m.snapshotId, mode, (mod) => mod.mockStepError({ name: step }, error(), 1));
				expect(run).toMatchObject({ status: "complete", error: null });
				expect(await count(env.DB, "SELECT COUNT(*) AS n FROM submissions")).toBe(12);
				expect(await liveDigests(env.DB, ["submissions", "roles"])).toEqual(manifestDigests(m, ["submissions", "roles"]));
				expect(await storedCounters(env.DB)).toEqual(await expectedCounters(env.DB));
				expect(await count(env.DB, "SELECT COUNT(*) AS n FROM data_locks")).toBe(0);
			});
		}

		for (const [cell, step, error] of [
			["begin (manifest read, R2)", "verify manifest", R2_DOWN],
			["chunk read (R2)", "verify chunk 2", R2_DOWN],
			...(mode === "replace" ? ([["chunk write (D1)", "load chunk 2", D1_DOWN]] as const) : []),
			[mode === "replace" ? "final swap (D1)" : "final recount (D1)", final, D1_DOWN],
		] as const) {
			it(`${mode}, ${cell}, permanent: failed, recorded, ${mode === "replace" ? "live tables untouched" : "counters equal the rows"}, lock released`, async () => {
				await seed(env.DB, subs(12));
				const m = await writeSnapshotOfDatabase(env.R2_BUCKET, env.DB, new Date(T0), undefined, 5);
				await env.DB.prepare("DELETE FROM submissions WHERE id IN ('s-2', 's-7')").run();
				await seed(env.DB, subs(2, "late"));
				const before = await liveDigests(env.DB, ["submissions", "roles", "erasures", "erased_submissions"]);
				const run = await restoreWith(m.snapshotId, mode, (mod) => mod.mockStepError({ name: step }, error()));
				expect(run.status).toBe("failed");
				expect(run.error ?? "").toMatch(/D1_ERROR|internal error/);
				expect(run.undoAvailable).toBe(false);
				if (mode === "replace" || step === "verify manifest" || step === "verify chunk 2") {
					// Nothing written: a failed replace, or any failure before the loading, leaves the data as it was.
					expect(await liveDigests(env.DB, ["submissions", "roles", "erasures", "erased_submissions"])).toEqual(before);
				}
				expect(await storedCounters(env.DB)).toEqual(await expectedCounters(env.DB));
				expect(await leftovers()).toBe(0);
				expect(await count(env.DB, "SELECT COUNT(*) AS n FROM data_locks")).toBe(0);
				expect(await count(env.DB, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'restore' AND detail LIKE '%\"outcome\":\"failed\"%'")).toBe(1);
			});
		}
	}
});
