// BackupWorkflow end to end on real local D1, R2 and Workflows: contents, checksums, failures,
// retries, cron idempotency, garbage collection and after-backup hooks.
import { createScheduledController, createExecutionContext, waitOnExecutionContext, introspectWorkflow, introspectWorkflowInstance } from "cloudflare:test";
import { buildContinuationId, fetchRunWorkflowStatus } from "../src/backup/chain";
import { shouldContinueElsewhere } from "../src/jobs/backup-workflow";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { afterBackupHooks, type BackupOutcome } from "../src/jobs/after-backup";
import { NonRetryableError } from "cloudflare:workflows";
import { VERIFICATION_FAILED, writeChunk } from "../src/backup/export";
import type { SnapshotStore } from "../src/snapshots/store";
import { chunkKey, digestRows, findPartsProblem, manifestKey, sha256Hex, type Row } from "../src/snapshots/format";
import { checkSealedMember, gunzip, gzip } from "../src/snapshots/codec";
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

	it("on the Free plan (the default) every part stays within one step's budget, and chunks pack several parts", async () => {
		await insertSubmissions(1500);
		const runId = "manual-20261125T020000Z-freepl";
		await runBackup(runId, { trigger: "manual", requestedAt: T0 });
		const { manifest, records } = await decodeSnapshot(await snapshotIdOfRun(runId));
		const budget = EXPORT_STEP_BUDGET.free;
		// Parts are cut by records here (small rows): more parts than chunks, each chunk at most
		// chunkRawBytes plus one part.
		expect(manifest.chunks.length).toBeGreaterThanOrEqual(1);
		expect(manifest.chunks.length).toBeLessThan(Math.ceil(1500 / budget.partRows));
		for (const c of manifest.chunks) {
			const raw = gunzip((await readStored(c.key))!);
			expect(raw.byteLength).toBeLessThan(budget.chunkRawBytes + 3 * budget.partChars);
		}
		const subs = records.filter((r) => r.table === "submissions").map((r) => r.row);
		expect(subs).toEqual(await tableRows("submissions", "seq"));
		expect(manifest.tables.submissions!.digest).toBe(digestRows("submissions", subs));
		// The steps: every part and chunk named, parts within the records budget.
		expect(manifest.rows).toBe(records.length);
	});

	it("a run needing more steps than one instance may take goes on in chained instances: one run, one snapshot, every row", async () => {
		await insertMetadata();
		await insertSubmissions(900);
		const runId = "manual-20261125T020000Z-chains";
		const introspector = await introspectWorkflow(env.BACKUP_WORKFLOW);
		const outputs = new Map<string, unknown>();
		let chainStatus = "";
		try {
			await introspector.modifyAll(async (m) => m.disableRetryDelays());
			// 60 steps per instance, 1 KiB chunks: each instance takes a few chunks, then hands over.
			await env.BACKUP_WORKFLOW.create({ id: runId, params: { trigger: "manual", requestedAt: T0, chunkBytes: 1024, stepsPerInstance: 60 } });
			for (let seen = 0; ; ) {
				const instances = await introspector.get();
				for (const instance of instances.slice(seen)) await instance.waitForStatus("complete");
				if (instances.length === seen) break;
				seen = instances.length;
			}
			for (const id of [runId, ...[2, 3, 4, 5, 6, 7, 8].map((k) => buildContinuationId(runId, k))]) {
				const got = await env.BACKUP_WORKFLOW.get(id).then((i) => i.status(), () => null);
				if (got) outputs.set(id, got.output);
			}
			// Whoever asks whether the run's Workflow has ended follows the chain to its end.
			chainStatus = await fetchRunWorkflowStatus(env.BACKUP_WORKFLOW, runId);
		} finally {
			await introspector.dispose();
		}
		// At least three instances, each but the last handing over to the next one.
		const ids = [...outputs.keys()];
		expect(ids.length).toBeGreaterThanOrEqual(3);
		ids.slice(0, -1).forEach((id, i) => expect(outputs.get(id)).toEqual({ status: "continued", next: ids[i + 1] }));
		expect(outputs.get(ids.at(-1)!)).toMatchObject({ status: "complete" });
		expect(chainStatus).toBe("complete");

		// One run, recorded under its first id, and one complete snapshot with every row once.
		const { results } = await env.DB.prepare("SELECT id, status FROM backup_runs").all();
		expect(results).toEqual([{ id: runId, status: "complete" }]);
		expect(await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).toHaveLength(1);
		const { manifest, records } = await decodeSnapshot(await snapshotIdOfRun(runId));
		expect(manifest.runId).toBe(runId);
		// Chunks written by earlier instances keep their parts (carried in D1, not in the hand-over).
		expect(manifest.chunks.every((c) => (c.parts?.length ?? 0) > 0 && findPartsProblem(c) === undefined)).toBe(true);
		expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM backup_chunk_parts").first("n")).toBe(0);
		expect(manifest.chunks.map((c) => c.n)).toEqual(manifest.chunks.map((_, i) => i + 1));
		const subs = records.filter((r) => r.table === "submissions").map((r) => r.row);
		expect(subs).toEqual(await tableRows("submissions", "seq"));
		expect(manifest.tables.submissions!.digest).toBe(digestRows("submissions", subs));
		expect(manifest.tables.roles!.digest).toBe(digestRows("roles", await tableRows("roles", "seq")));
		const run = await fetchRunRow(runId);
		expect(run).toMatchObject({ rows: manifest.rows, chunks: manifest.chunks.length, bytes: manifest.bytes });
	});

	it("shouldContinueElsewhere hands over only when one more chunk would not fit", () => {
		// 1,024 steps, 32 parts per chunk, 16 reserved: 975 steps taken still leave room for one.
		expect(shouldContinueElsewhere(975, 32, 1024)).toBe(false);
		expect(shouldContinueElsewhere(976, 32, 1024)).toBe(true);
		expect(shouldContinueElsewhere(0, 32, 1024)).toBe(false);
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

	it("a part is checked against its lines before it leaves its step", () => {
		const enc = new TextEncoder();
		const lines = enc.encode(`{"table":"counters","row":{"name":"total","seq":1,"updated_at":"x"}}\n`);
		const member = gzip(lines);
		expect(checkSealedMember(member, lines)).toEqual({ ok: true });
		// Other lines of the same length, other lines of another length, a damaged member.
		const sameLength = lines.slice();
		sameLength[lines.length - 5]! ^= 0x01;
		expect(checkSealedMember(member, sameLength)).toMatchObject({ ok: false, message: /does not decompress to the lines written/ });
		expect(checkSealedMember(member, enc.encode("{}\n"))).toMatchObject({ ok: false, message: /does not decompress to the lines written/ });
		const damaged = member.slice(0, -6);
		expect(checkSealedMember(damaged, lines)).toMatchObject({ ok: false, reason: "decode" });
	});

	for (const damage of ["flipped byte", "truncated", "missing"] as const) {
		it(`a chunk whose read-back is a ${damage} object fails at once (no retry), naming the chunk`, async () => {
			const enc = new TextEncoder();
			const parts = [1, 2].map((seq) => {
				const lines = enc.encode(`{"table":"roles","row":{"role_key":"r${seq}","seq":${seq}}}\n`);
				return { member: gzip(lines), rawBytes: lines.byteLength, rows: 1, tables: { roles: 1 } };
			});
			const real = r2SnapshotStore(env.R2_BUCKET);
			const good = await writeChunk(real, "2026-11-25T020000Z-good", 1, parts);
			expect(good).toMatchObject({ n: 1, rows: 2, tables: { roles: 2 } });
			const stored = new Uint8Array(await (await env.R2_BUCKET.get(good.key))!.arrayBuffer());
			expect(new TextDecoder().decode(gunzip(stored))).toBe('{"table":"roles","row":{"role_key":"r1","seq":1}}\n{"table":"roles","row":{"role_key":"r2","seq":2}}\n');
			// Fault injection (test double over the real R2 store): what comes back is not what went in.
			const damaging = {
				...real,
				put: real.put.bind(real),
				get: async (key: string) => {
					if (damage === "missing") return undefined;
					const obj = await real.get(key);
					if (!obj) return obj;
					const bytes = damage === "truncated" ? obj.bytes.slice(0, -5) : obj.bytes.slice();
					if (damage === "flipped byte") bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
					return { ...obj, bytes };
				},
			} as SnapshotStore;
			const err = (await writeChunk(damaging, "2026-11-25T020000Z-bad", 3, parts).then(
				() => new Error("expected a failure"),
				(e: unknown) => e,
			)) as Error;
			expect(err).toBeInstanceOf(NonRetryableError);
			expect(err.message).toContain(VERIFICATION_FAILED);
			expect(err.message).toContain("chunk 3");
			expect(err.message).toMatch({ "flipped byte": /SHA-256 does not match/, truncated: /bytes, manifest says/, missing: /object is missing/ }[damage]);
		});
	}

	it("a verification failure fails the run at stage verify, without a manifest", async () => {
		const runId = "manual-20261125T020000Z-flippd";
		const snapshotId = "2026-11-25T020000Z-flip";
		await runBackup(
			runId,
			{ trigger: "manual", requestedAt: T0 },
			async (m) => {
				await m.mockStepResult({ name: "begin" }, plan(snapshotId));
				await m.mockStepError(
					{ name: "export part 1" },
					new NonRetryableError(`${VERIFICATION_FAILED}: a part does not decompress to the lines written`, "VerificationError"),
				);
			},
			"errored",
		);
		const run = await fetchRunRow(runId);
		expect(run).toMatchObject({ status: "failed", stage: "verify" });
		expect(String(run!.error)).toMatch(/does not decompress to the lines written/);
		expect(await env.R2_BUCKET.head(manifestKey(snapshotId))).toBeNull();
	});

	it("a put failing transiently on chunk 2 is retried and the snapshot has no duplicate rows", async () => {
		await insertSubmissions(400);
		const runId = "manual-20261125T020000Z-retryy";
		await runBackup(runId, { trigger: "manual", requestedAt: T0, chunkBytes: 1024 }, async (m) => {
			await m.mockStepError({ name: "write chunk 2" }, new Error("R2 put failed: 503 Service Unavailable"), 1);
		});
		const { manifest, records } = await decodeSnapshot(await snapshotIdOfRun(runId));
		expect(manifest.chunks.length).toBeGreaterThan(2);
		const ids = records.filter((r) => r.table === "submissions").map((r) => r.row.id);
		expect(ids).toHaveLength(400);
		expect(new Set(ids).size).toBe(400);
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
					await m.mockStepError({ name: "export part 1" }, new Error("D1_ERROR: disk I/O error"));
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

