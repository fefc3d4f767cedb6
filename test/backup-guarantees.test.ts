// The DESIGN.md guarantees of the backup engine, each attacked where it could break on real local
// D1, R2 and Workflows: a failure at "begin" still reaches a human; garbage collection never
// touches a snapshot still being written; the manifest is never committed over a missing chunk.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { chunkKey, manifestKey } from "../src/snapshots/format";
import { listSnapshotFolders } from "../src/snapshots/store";
import { fetchRunRow, insertSubmissions, resetStorage, runBackup } from "./backup-helpers";
import { startScheduledBackup } from "../src/jobs/backup-trigger";
import { fetchCaptured } from "./receiver/client";
import { r2SnapshotStore } from "../src/snapshots/r2-store";

const T0 = Date.parse("2026-11-25T02:00:00Z");

beforeEach(async () => {
	await resetStorage();
	await env.DB.prepare("DELETE FROM notification_log").run();
});

async function deliveries(runId: string) {
	const { results } = await env.DB.prepare("SELECT channel, event_type, ok FROM notification_log WHERE run_id = ? ORDER BY seq")
		.bind(runId)
		.all<{ channel: string; event_type: string; ok: number }>();
	return results;
}

describe("every failure reaches a human", () => {
	it("a run failing at stage begin is recorded failed and the backup_failed notice is delivered", async () => {
		const runId = "manual-20261125T020000Z-begfal";
		await runBackup(
			runId,
			{ trigger: "manual", requestedAt: T0 },
			async (m) => m.mockStepError({ name: "begin" }, new Error("D1_ERROR: no such table: submissions")),
			"errored",
		);
		expect(await fetchRunRow(runId)).toMatchObject({ status: "failed", stage: "begin" });
		const sent = await deliveries(runId);
		expect(sent.length).toBeGreaterThan(0);
		expect(sent.every((d) => d.event_type === "backup_failed" && d.ok === 1)).toBe(true);
		expect(await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).toEqual([]);
	});
});

describe("garbage collection never deletes a snapshot being written", () => {
	it("a manifest-less folder older than a day is kept while its run is still running", async () => {
		// A run that started two days ago and is still exporting (paused, or retrying after an outage).
		const slow = "2026-11-23T020000Z-slowrun";
		await env.DB.prepare(
			"INSERT INTO backup_runs (id, trigger, status, stage, started_at, snapshot_id) VALUES ('scheduled-2026-11-23', 'scheduled', 'running', 'export', '2026-11-23T02:00:00.000Z', ?)",
		)
			.bind(slow)
			.run();
		await env.R2_BUCKET.put(chunkKey(slow, 1), "written by the slow run");
		// A genuinely abandoned folder of the same age goes.
		const abandoned = "2026-11-23T030000Z-abandon";
		await env.R2_BUCKET.put(chunkKey(abandoned, 1), "x");

		const runId = "manual-20261125T020000Z-gcrace";
		await runBackup(runId, { trigger: "manual", requestedAt: T0 });
		expect(await env.R2_BUCKET.head(chunkKey(slow, 1))).not.toBeNull();
		expect(await env.R2_BUCKET.head(chunkKey(abandoned, 1))).toBeNull();
		expect(JSON.parse(String((await fetchRunRow(runId))!.details)).gc).toEqual({ removed: [abandoned] });
	});
});

/** A "begin" step result naming the snapshot in advance (the export itself runs for real). */
function beginResult(snapshotId: string, submissions = 50) {
	return {
		startedAt: new Date(T0).toISOString(),
		plan: {
			snapshotId,
			bounds: { roles: null, submissions, erasures: null, audit_log: null },
			columns: {
				roles: ["seq"],
				submissions: ["seq", "id", "received_at", "questionnaire_version", "role_key", "answers", "validation"],
				counters: ["name"],
				erasures: ["seq"],
				erased_submissions: ["submission_id"],
				audit_log: ["seq"],
				backup_runs: ["id"],
			},
			schemaVersion: "test",
		},
	};
}

describe("the manifest is only committed over chunks that are in R2", () => {
	it("a chunk gone between its verified export and the manifest fails the run, without a manifest", async () => {
		await insertSubmissions(400);
		const runId = "manual-20261125T020000Z-vanish";
		const snapshotId = "2026-11-25T020000Z-vanish";
		// Chunk 1 is exported and verified for real; it then disappears (a concurrent GC, a lifecycle
		// rule, an operator) before the run commits. Simulated by giving "write chunk 2" a result
		// that points at an object that is not there.
		await runBackup(
			runId,
			{ trigger: "manual", requestedAt: T0, chunkBytes: 1024 },
			async (m) => {
				await m.mockStepResult({ name: "begin" }, beginResult(snapshotId, 400));
				await m.mockStepResult(
					{ name: "write chunk 2" },
					{ n: 2, key: chunkKey(snapshotId, 2), bytes: 10, sha256: "0".repeat(64), rows: 1, tables: { submissions: 1 } },
				);
			},
			"errored",
		);
		expect(await env.R2_BUCKET.head(manifestKey(snapshotId))).toBeNull();
		const run = await fetchRunRow(runId);
		expect(run).toMatchObject({ status: "failed", stage: "manifest" });
		expect(String(run!.error)).toMatch(/chunk 2/);
		expect((await deliveries(runId)).some((d) => d.event_type === "backup_failed")).toBe(true);
		// A permanent error is not retried: the Workflow engine recognises NonRetryableError by its
		// name, so the failing step made exactly one attempt (reported in the failure notice).
		const notices = (await fetchCaptured("/global/webhook")).map((r) => JSON.parse(r.body) as Record<string, unknown>);
		expect(notices.filter((b) => b.runId === runId)).toEqual([expect.objectContaining({ type: "backup_failed", stage: "manifest", attempt: 1 })]);
	});
});

describe("the manifest lists every object of its folder", () => {
	it("an object of the folder that the manifest does not list is removed before the commit", async () => {
		await insertSubmissions(50);
		const runId = "manual-20261125T020000Z-strays";
		const snapshotId = "2026-11-25T020000Z-strays";
		// Left by an export attempt that was retried differently: not part of the snapshot.
		await env.R2_BUCKET.put(chunkKey(snapshotId, 99), "stray");
		await runBackup(runId, { trigger: "manual", requestedAt: T0, chunkBytes: 1024 }, async (m) => {
			await m.mockStepResult({ name: "begin" }, beginResult(snapshotId));
		});
		const manifest = JSON.parse(await (await env.R2_BUCKET.get(manifestKey(snapshotId)))!.text()) as { chunks: { key: string }[] };
		const stored = (await env.R2_BUCKET.list({ prefix: `snapshots/${snapshotId}/` })).objects.map((o) => o.key).sort();
		expect(stored).toEqual([...manifest.chunks.map((c) => c.key), manifestKey(snapshotId)].sort());
	});
});

describe("a daily backup whose Workflow cannot be created", () => {
	it("is recorded failed at stage start, alerts at once, and fails the cron invocation", async () => {
		// Failure injection for this one binding (test double): creating the instance fails and
		// no instance exists. D1 and the notification channels are the real local ones.
		const unavailable = {
			create: async () => {
				throw new Error("Workflows: service unavailable");
			},
			get: async () => {
				throw new Error("instance.not_found");
			},
		};
		const broken = { ...env, BACKUP_WORKFLOW: unavailable as unknown as Env["BACKUP_WORKFLOW"] };
		await expect(startScheduledBackup(broken, Date.parse("2026-11-26T02:00:00Z"))).rejects.toThrow(/service unavailable/);
		expect(await fetchRunRow("scheduled-2026-11-26")).toMatchObject({ status: "failed", stage: "start", trigger: "scheduled" });
		const sent = await deliveries("scheduled-2026-11-26");
		expect(sent.length).toBeGreaterThan(0);
		expect(sent.every((d) => d.event_type === "backup_failed" && d.ok === 1)).toBe(true);
	});
});

describe("a failure after the commit", () => {
	it("is reported failed, and says the snapshot itself is complete and verified", async () => {
		await insertSubmissions(5);
		const runId = "manual-20261125T020000Z-finfal";
		await runBackup(
			runId,
			{ trigger: "manual", requestedAt: T0 },
			async (m) => m.mockStepError({ name: "finish" }, new Error("D1_ERROR: database unavailable")),
			"errored",
		);
		const run = await fetchRunRow(runId);
		expect(run).toMatchObject({ status: "failed", stage: "finish" });
		const snapshotId = /^snapshot (\S+) is complete and verified in R2, but Error: D1_ERROR/.exec(String(run!.error))?.[1];
		expect(snapshotId).toBeDefined();
		expect(await env.R2_BUCKET.head(manifestKey(snapshotId!))).not.toBeNull();
	});
});
