// BackupWorkflow end to end on real local D1, R2 and Workflows: contents, checksums, failures,
// retries, cron idempotency, garbage collection and after-backup hooks.
import { createScheduledController, createExecutionContext, waitOnExecutionContext, introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { afterBackupHooks, type BackupOutcome } from "../src/jobs/after-backup";
import { NonRetryableError } from "cloudflare:workflows";
import { VERIFICATION_FAILED } from "../src/backup/export";
import { chunkKey, digestRows, manifestKey, sha256Hex, type Row } from "../src/snapshots/format";
import { checkWrittenChunk, gunzip, gzip } from "../src/snapshots/codec";
import { EXPORT_STEP_BUDGET } from "../src/platform/plans";
import { listSnapshotFolders } from "../src/snapshots/store";
import { exportedTables } from "../src/snapshots/tables";
import worker from "../src/worker";
import {
	decodeSnapshot,
	fetchRunRow,
	insertMetadata,
	insertSubmissions,
	resetStorage,
	runBackup,
	snapshotIdOfRun,
} from "./backup-helpers";
import { r2SnapshotStore } from "../src/snapshots/r2-store";

const T0 = Date.parse("2026-11-25T02:00:00Z");

beforeEach(async () => {
	await resetStorage();
});

async function readStored(key: string): Promise<Uint8Array | undefined> {
	const obj = await env.R2_BUCKET.get(key);
	return obj ? new Uint8Array(await obj.arrayBuffer()) : undefined;
}

async function tableRows(name: string, key: string): Promise<Row[]> {
	const { results } = await env.DB.prepare(`SELECT * FROM ${name} ORDER BY ${key}`).all<Row>();
	return results;
}

describe("BackupWorkflow: contents", () => {
	it("a snapshot of N rows decodes to exactly the database, row by row", async () => {
		await insertMetadata();
		await insertSubmissions(300);
		await runBackup("manual-20261125T020000Z-aaaaaa", { trigger: "manual", requestedAt: T0, chunkBytes: 1024 });
		const snapshotId = await snapshotIdOfRun("manual-20261125T020000Z-aaaaaa");
		const { manifest, records } = await decodeSnapshot(snapshotId);

		expect(manifest.chunks.length).toBeGreaterThan(3);
		expect(manifest.trigger).toBe("manual");
		for (const t of exportedTables) {
			const got = records.filter((r) => r.table === t.name).map((r) => r.row);
			if (t.name === "backup_runs") {
				// The run's own row, as it was while the run was exporting.
				expect(got).toHaveLength(1);
				expect(got[0]).toMatchObject({ id: "manual-20261125T020000Z-aaaaaa", status: "running" });
				continue;
			}
			const want = await tableRows(t.name, t.key);
			expect(got, t.name).toEqual(want);
			expect(manifest.tables[t.name]!.rows).toBe(want.length);
			expect(manifest.tables[t.name]!.digest).toBe(digestRows(t.name, want));
		}
		expect(manifest.tables.submissions!.bound).toBe(300);
		expect(manifest.rows).toBe(records.length);
		// Every chunk entry's checksum and size describe the stored bytes.
		for (const c of manifest.chunks) {
			const obj = await env.R2_BUCKET.get(c.key);
			const bytes = new Uint8Array(await obj!.arrayBuffer());
			expect(bytes.byteLength).toBe(c.bytes);
			expect(sha256Hex(bytes)).toBe(c.sha256);
		}
		const run = await fetchRunRow("manual-20261125T020000Z-aaaaaa");
		expect(run).toMatchObject({ status: "complete", stage: "done", rows: manifest.rows, chunks: manifest.chunks.length, bytes: manifest.bytes, error: null });
	});

	it("on the Free plan (the default) every chunk stays within one step's budget, and all rows are there", async () => {
		await insertSubmissions(700);
		await runBackup("manual-20261125T020000Z-freepl", { trigger: "manual", requestedAt: T0 });
		const { manifest, records } = await decodeSnapshot(await snapshotIdOfRun("manual-20261125T020000Z-freepl"));
		const budget = EXPORT_STEP_BUDGET.free;
		expect(manifest.chunks.length).toBeGreaterThanOrEqual(Math.ceil(700 / budget.rows));
		for (const c of manifest.chunks) {
			expect(c.rows).toBeLessThanOrEqual(budget.rows);
			const text = new TextDecoder().decode(gunzip((await readStored(c.key))!));
			// The last row may cross the budget: at most one row over it.
			const lines = text.split("\n").slice(0, -1);
			expect(text.length - lines.at(-1)!.length - 1).toBeLessThan(budget.rawBytes);
		}
		const subs = records.filter((r) => r.table === "submissions").map((r) => r.row);
		expect(subs).toEqual(await tableRows("submissions", "seq"));
		expect(manifest.tables.submissions!.digest).toBe(digestRows("submissions", subs));
	});

	it("an empty database gives a valid snapshot with zero data rows", async () => {
		await runBackup("manual-20261125T020000Z-emptyy", { trigger: "manual", requestedAt: T0 });
		const { manifest, records } = await decodeSnapshot(await snapshotIdOfRun("manual-20261125T020000Z-emptyy"));
		for (const t of exportedTables) {
			if (t.name !== "backup_runs") expect(manifest.tables[t.name]!.rows, t.name).toBe(0);
		}
		expect(manifest.chunks).toHaveLength(1);
		expect(records.map((r) => r.table)).toEqual(["backup_runs"]);
		expect(manifest.tables.submissions!.bound).toBeNull();
	});

	it("a submission with accents, emoji and 60 KiB of answers comes back byte for byte", async () => {
		const answers = JSON.stringify({
			cafe: "Le Pêcheur d'Étoiles ☕🥐 — « chez Zoë »",
			commentaire: "Ça déménage ! 👩🏽‍🍳 naïve façon ".repeat(2200).slice(0, 60 * 1024),
			nul: "\u0000\u2028\u2029\"\\",
		});
		await env.DB.prepare(
			"INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation) VALUES ('s-1', '2026-11-24T10:00:00Z', '1', 'barista', ?, '{}')",
		)
			.bind(answers)
			.run();
		await runBackup("manual-20261125T020000Z-unicod", { trigger: "manual", requestedAt: T0, chunkBytes: 1024 });
		const { records } = await decodeSnapshot(await snapshotIdOfRun("manual-20261125T020000Z-unicod"));
		const sub = records.find((r) => r.table === "submissions");
		expect(sub!.row.answers).toBe(answers);
		expect(new TextEncoder().encode(String(sub!.row.answers))).toEqual(new TextEncoder().encode(answers));
	});
});

describe("BackupWorkflow: failures", () => {
	/** A plan for a mocked "begin" step, so the test knows the snapshot's keys in advance. */
	function plan(snapshotId: string) {
		return { startedAt: new Date(T0).toISOString(), plan: { snapshotId, bounds: {}, columns: {}, schemaVersion: "test" } };
	}

	for (const damage of ["flipped byte", "truncated", "other row", "same length, other byte"] as const) {
		it(`read-back verification detects a ${damage} in a stored chunk`, async () => {
			const written = new TextEncoder().encode(`{"table":"counters","row":{"name":"total","seq":1,"updated_at":"x"}}\n`);
			const good = gzip(written);
			const entry = { n: 1, key: "k", bytes: good.byteLength, sha256: sha256Hex(good), rows: 1, tables: { counters: 1 } };
			expect(await checkWrittenChunk(entry, good, written)).toEqual({ ok: true });
			let check;
			if (damage === "other row" || damage === "same length, other byte") {
				const other = damage === "other row" ? new TextEncoder().encode(`{"table":"counters","row":{"name":"total","seq":1,"updated_at":"xy"}}\n`) : written.slice();
				if (damage !== "other row") other[other.length - 5]! ^= 0x01;
				check = await checkWrittenChunk(entry, good, other);
			} else {
				const bad = damage === "truncated" ? good.slice(0, -5) : good.slice();
				if (damage === "flipped byte") bad[Math.floor(bad.length / 2)]! ^= 0x01;
				check = await checkWrittenChunk(entry, bad, written);
			}
			expect(check.ok).toBe(false);
			expect(check.ok ? "" : check.message).toMatch(
				{
					truncated: /bytes, manifest says/,
					"flipped byte": /SHA-256 does not match/,
					"other row": /decompresses to \d+ bytes, \d+ were written/,
					"same length, other byte": /differ from the lines written/,
				}[damage],
			);
		});
	}

	it("read-back verification detects missing and extra records, and a missing object", async () => {
		const line = (seq: number) => `{"table":"roles","row":{"role_key":"r${seq}","seq":${seq}}}\n`;
		const two = new TextEncoder().encode(line(1) + line(2));
		const stored = gzip(two);
		const entry = { n: 1, key: "k", bytes: stored.byteLength, sha256: sha256Hex(stored), rows: 2, tables: { roles: 2 } };
		expect((await checkWrittenChunk(entry, stored, two)).ok).toBe(true);
		const one = new TextEncoder().encode(line(1));
		expect(await checkWrittenChunk(entry, stored, one)).toMatchObject({ ok: false, message: expect.stringMatching(/were written/) });
		const three = new TextEncoder().encode(line(1) + line(2) + line(3));
		expect(await checkWrittenChunk(entry, stored, three)).toMatchObject({ ok: false, message: expect.stringMatching(/were written/) });
		expect(await checkWrittenChunk(entry, undefined, two)).toMatchObject({ ok: false, reason: "missing" });
	});

	it("a verification failure fails the run at stage verify, without a manifest", async () => {
		const runId = "manual-20261125T020000Z-flippd";
		const snapshotId = "2026-11-25T020000Z-flip";
		await runBackup(
			runId,
			{ trigger: "manual", requestedAt: T0 },
			async (m) => {
				await m.mockStepResult({ name: "begin" }, plan(snapshotId));
				await m.mockStepError(
					{ name: "export chunk 1" },
					new NonRetryableError(`${VERIFICATION_FAILED}: chunk 1: SHA-256 does not match the manifest`, "VerificationError"),
				);
			},
			"errored",
		);
		const run = await fetchRunRow(runId);
		expect(run).toMatchObject({ status: "failed", stage: "verify" });
		expect(String(run!.error)).toMatch(/SHA-256 does not match/);
		expect(await env.R2_BUCKET.head(manifestKey(snapshotId))).toBeNull();
	});

	it("a put failing transiently on chunk 2 is retried and the snapshot has no duplicate rows", async () => {
		await insertSubmissions(120);
		const runId = "manual-20261125T020000Z-retryy";
		await runBackup(runId, { trigger: "manual", requestedAt: T0, chunkBytes: 1024 }, async (m) => {
			await m.mockStepError({ name: "export chunk 2" }, new Error("R2 put failed: 503 Service Unavailable"), 1);
		});
		const { manifest, records } = await decodeSnapshot(await snapshotIdOfRun(runId));
		expect(manifest.chunks.length).toBeGreaterThan(2);
		const ids = records.filter((r) => r.table === "submissions").map((r) => r.row.id);
		expect(ids).toHaveLength(120);
		expect(new Set(ids).size).toBe(120);
		expect(records.filter((r) => r.table === "submissions").map((r) => r.row)).toEqual(await tableRows("submissions", "seq"));
	});

	it("a permanent failure leaves no manifest, a failed run with its stage, and still runs the hooks", async () => {
		await insertSubmissions(10);
		const runId = "manual-20261125T020000Z-permfl";
		const seen: BackupOutcome[] = [];
		const hook = {
			name: "test-observer",
			run: async (_env: Env, outcome: BackupOutcome) => {
				seen.push(outcome);
				return { saw: outcome.status };
			},
		};
		afterBackupHooks.push(hook);
		try {
			await runBackup(
				runId,
				{ trigger: "manual", requestedAt: T0 },
				async (m) => {
					await m.mockStepError({ name: "export chunk 1" }, new Error("D1_ERROR: disk I/O error"));
				},
				"errored",
			);
		} finally {
			afterBackupHooks.splice(afterBackupHooks.indexOf(hook), 1);
		}
		const run = await fetchRunRow(runId);
		expect(run).toMatchObject({ status: "failed", stage: "export" });
		expect(String(run!.error)).toContain("disk I/O error");
		const snapshotId = String(run!.snapshot_id);
		expect(await env.R2_BUCKET.head(manifestKey(snapshotId))).toBeNull();
		expect((await env.R2_BUCKET.list({ prefix: "snapshots/" })).objects.filter((o) => o.key.endsWith("manifest.json"))).toHaveLength(0);
		const details = JSON.parse(String(run!.details));
		expect(details.hooks["test-observer"]).toEqual({ ok: true, result: { saw: "failed" } });
		expect(seen.at(-1)).toMatchObject({ runId, status: "failed", stage: "export", trigger: "manual" });
	});

	it("a failing hook is recorded and does not change the backup's outcome; later hooks see it", async () => {
		const runId = "manual-20261125T020000Z-hookfl";
		const broken = { name: "test-broken", run: async () => Promise.reject(new Error("webhook down")) };
		let earlierSeen: Record<string, unknown> | undefined;
		const after = {
			name: "test-after",
			run: async (_env: Env, _o: BackupOutcome, earlier: Record<string, unknown>) => {
				earlierSeen = earlier;
				return null;
			},
		};
		afterBackupHooks.push(broken, after);
		try {
			await runBackup(runId, { trigger: "manual", requestedAt: T0 });
		} finally {
			afterBackupHooks.splice(afterBackupHooks.indexOf(broken), 2);
		}
		const run = await fetchRunRow(runId);
		expect(run).toMatchObject({ status: "complete" });
		const details = JSON.parse(String(run!.details));
		expect(details.hooks["test-broken"]).toMatchObject({ ok: false, error: expect.stringContaining("webhook down") });
		expect(earlierSeen?.["test-broken"]).toMatchObject({ error: expect.stringContaining("webhook down") });
	});
});

describe("BackupWorkflow: schedule and garbage", () => {
	it("two cron deliveries for one day give one snapshot", async () => {
		const id = "scheduled-2026-11-25";
		const instance = await introspectWorkflowInstance(env.BACKUP_WORKFLOW, id);
		try {
			await instance.modify(async (m) => m.disableRetryDelays());
			const deliver = async () => {
				const controller = createScheduledController({ scheduledTime: T0, cron: "0 * * * *" });
				const ctx = createExecutionContext();
				await worker.scheduled(controller, env, ctx);
				await waitOnExecutionContext(ctx);
			};
			await Promise.all([deliver(), deliver()]);
			await instance.waitForStatus("complete");
			await deliver();
		} finally {
			await instance.dispose();
		}
		const folders = await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET));
		expect(folders).toHaveLength(1);
		expect(folders[0]).toMatch(/^2026-11-25T020000Z-/);
		const { results } = await env.DB.prepare("SELECT id, status, trigger FROM backup_runs").all();
		expect(results).toEqual([{ id, status: "complete", trigger: "scheduled" }]);
	});

	it("a successful run removes manifest-less folders older than a day, and nothing else", async () => {
		const old = "2026-11-23T020000Z-old";
		const oldComplete = "2026-11-23T030000Z-kept";
		const recent = "2026-11-25T010000Z-recent";
		await env.R2_BUCKET.put(chunkKey(old, 1), "x");
		await env.R2_BUCKET.put(chunkKey(old, 2), "x");
		await env.R2_BUCKET.put(chunkKey(oldComplete, 1), "x");
		await env.R2_BUCKET.put(manifestKey(oldComplete), "{}");
		await env.R2_BUCKET.put(chunkKey(recent, 1), "x");
		const runId = "manual-20261125T020000Z-garbag";
		await runBackup(runId, { trigger: "manual", requestedAt: T0 });
		const folders = await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET));
		expect(folders).not.toContain(old);
		expect(folders).toContain(oldComplete);
		expect(folders).toContain(recent);
		expect(JSON.parse(String((await fetchRunRow(runId))!.details)).gc).toEqual({ removed: [old] });
	});

	it("a failed run removes nothing", async () => {
		const old = "2026-11-23T020000Z-old";
		await env.R2_BUCKET.put(chunkKey(old, 1), "x");
		await runBackup(
			"manual-20261125T020000Z-nogcfl",
			{ trigger: "manual", requestedAt: T0 },
			async (m) => m.mockStepError({ name: "write manifest" }, new Error("R2 unavailable")),
			"errored",
		);
		expect(await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).toContain(old);
		expect(await fetchRunRow("manual-20261125T020000Z-nogcfl")).toMatchObject({ status: "failed", stage: "manifest" });
	});
});

