// The replica outside Cloudflare, end to end on a real local S3-compatible server (s3rver): every
// verified backup is copied, encrypted with age, checked after upload, manifest last; a flipped
// byte is caught; the replica keeps its own retention; a failure alerts without failing the backup.
import { env } from "cloudflare:test";
import { inject } from "vitest";
import { beforeEach, describe, expect, it } from "vitest";
import type { BackupOutcome } from "../src/backup/outcome";
import { planChunksPerStep, replicateHook } from "../src/jobs/replicate";
import type { HookSteps } from "../src/backup/outcome";
import { notifyHook } from "../src/notify/backup-hook";
import { checkCopy, copySnapshot, listCopiedSnapshots, parseSums, SUMS_NAME } from "../src/offsite/replicate";
import { buildAgeDecryptor, buildAgeEncryptor } from "../src/snapshots/age";
import { checkChunk } from "../src/snapshots/codec";
import { parseManifest, snapshotPrefix } from "../src/snapshots/format";
import { r2SnapshotStore } from "../src/snapshots/r2-store";
import { s3SnapshotStore } from "../src/snapshots/s3-store";
import { listKeys, readManifest } from "../src/snapshots/store";
import { insertSubmissions, resetStorage, runBackup, snapshotIdOfRun } from "./backup-helpers";
import { TEST_AGE_IDENTITY, TEST_AGE_RECIPIENT } from "./keys";
import { envWith, fetchCaptured, uniquePrefix } from "./receiver/client";
import { writeSnapshot } from "./helpers/snapshot";
import { api } from "./helpers/restore-snapshot";
import { getConfig } from "../src/config";
import { checkReplica, REPLICA_ALERT_KEY } from "../src/monitor/replica";

const replica = () =>
	s3SnapshotStore({ endpoint: inject("s3Url"), bucket: "offsite-replica", region: "us-east-1", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });
const decrypt = buildAgeDecryptor([TEST_AGE_IDENTITY]);

async function clearReplica(): Promise<void> {
	const store = replica();
	await store.delete((await store.list("")).map((o) => o.key));
}

function outcomeOf(snapshotId: string, finishedAt = new Date().toISOString()): BackupOutcome {
	return { runId: "manual-20261202T020000Z-abcdef", trigger: "manual", status: "complete", snapshotId, startedAt: finishedAt, finishedAt, scheduledTime: finishedAt };
}

beforeEach(async () => {
	await resetStorage();
	await clearReplica();
});

describe("off-site replica", () => {
	it("a backup is copied encrypted, checked, with its sums and the manifest last; its content digest survives", async () => {
		await insertSubmissions(30);
		const runId = "manual-20261202T020000Z-rep001";
		await runBackup(runId, { trigger: "manual", requestedAt: Date.parse("2026-12-02T02:00:00Z") });
		const snapshotId = await snapshotIdOfRun(runId);
		const primary = await readManifest(r2SnapshotStore(env.R2_BUCKET), snapshotId);
		if (!primary.ok) throw new Error(primary.message);

		const keys = (await listKeys(replica(), snapshotPrefix(snapshotId))).map((k) => k.slice(k.lastIndexOf("/") + 1));
		expect(keys).toEqual([...primary.manifest.chunks.map((c) => `${c.key.slice(c.key.lastIndexOf("/") + 1)}.age`), SUMS_NAME, "manifest.json.age"].sort());

		// Without the key: the sums check every stored byte.
		expect(await checkCopy(replica(), snapshotId)).toEqual([]);
		// With the key: the manifest decrypts, names encrypted chunks, and every chunk reads back.
		const encManifest = (await replica().get(`${snapshotPrefix(snapshotId)}manifest.json.age`))!.bytes;
		const copy = parseManifest(new TextDecoder().decode(await decrypt.decrypt(encManifest)));
		expect(copy.contentDigest).toBe(primary.manifest.contentDigest);
		expect(copy.encryption).toEqual({ scheme: "age", recipients: [TEST_AGE_RECIPIENT] });
		for (const entry of copy.chunks) {
			expect(entry.key.endsWith(".ndjson.gz.age")).toBe(true);
			const check = await checkChunk(entry, (await replica().get(entry.key))?.bytes, { decrypt });
			expect(check.ok).toBe(true);
		}
		// The sums list the stored (encrypted) bytes, manifest included.
		const sums = parseSums(new TextDecoder().decode((await replica().get(`${snapshotPrefix(snapshotId)}${SUMS_NAME}`))!.bytes));
		expect(sums.size).toBe(copy.chunks.length + 1);
	});

	it("is idempotent: a second run copies nothing", async () => {
		const m = await writeSnapshot(env.R2_BUCKET, { time: new Date("2026-12-01T02:00:00Z"), tables: { submissions: { rows: [{ seq: 1, id: "a" }], bound: 1 } } });
		const first = await replicateHook.run(env, outcomeOf(m.snapshotId), {});
		expect(first).toMatchObject({ snapshotId: m.snapshotId, copied: true, encrypted: true });
		const again = await replicateHook.run(env, outcomeOf(m.snapshotId), {});
		expect(again).toMatchObject({ snapshotId: m.snapshotId, copied: false });
	});

	it("a byte flipped in the replica is caught by the replica's check", async () => {
		const m = await writeSnapshot(env.R2_BUCKET, { time: new Date("2026-12-01T02:00:00Z"), tables: { submissions: { rows: [{ seq: 1, id: "a" }], bound: 1 } } });
		await replicateHook.run(env, outcomeOf(m.snapshotId), {});
		const key = `${snapshotPrefix(m.snapshotId)}chunk-000001.ndjson.gz.age`;
		const bytes = (await replica().get(key))!.bytes.slice();
		bytes[bytes.length - 3]! ^= 0x10;
		await replica().put(key, bytes);
		expect(await checkCopy(replica(), m.snapshotId)).toEqual([{ snapshotId: m.snapshotId, object: "chunk-000001.ndjson.gz.age", reason: "checksum" }]);
	});

	it("keeps its own retention, never removing its newest copy", async () => {
		const ids: string[] = [];
		for (const day of ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]) {
			const m = await writeSnapshot(env.R2_BUCKET, { time: new Date(`${day}T02:00:00Z`), tables: {} });
			await copySnapshot(r2SnapshotStore(env.R2_BUCKET), replica(), m.snapshotId, { keyring: { signingKey: env.BACKUP_SIGNING_KEY }, encrypt: buildAgeEncryptor([TEST_AGE_RECIPIENT]) });
			ids.push(m.snapshotId);
		}
		const tight = { ...env, OFFSITE_KEEP_DAILY: "2", OFFSITE_KEEP_WEEKLY: "0", OFFSITE_KEEP_MONTHLY: "0" } as Env;
		const result = (await replicateHook.run(tight, outcomeOf(ids[3]!, "2026-11-30T03:00:00Z"), {})) as { removed: string[] };
		expect(result.removed.sort()).toEqual([ids[0], ids[1]]);
		expect(await listCopiedSnapshots(replica())).toEqual([ids[2], ids[3]]);
		expect(await listKeys(replica(), snapshotPrefix(ids[0]!))).toEqual([]);
	});

	it("a failed copy throws (the step retries) and the notice alerts, while the backup stays a success", async () => {
		const m = await writeSnapshot(env.R2_BUCKET, { time: new Date("2026-12-01T02:00:00Z"), tables: {} });
		const wrong = { ...env, OFFSITE_S3_ACCESS_KEY_ID: "NOT-A-KEY" } as Env;
		const err = await replicateHook.run(wrong, outcomeOf(m.snapshotId), {}).catch((e: unknown) => e as Error);
		expect(err).toBeInstanceOf(Error);
		expect((err as Error).message).toMatch(/(403)/);

		const p = uniquePrefix("replica");
		const mailEnv = envWith({ webhook: `${p}/hook` });
		await notifyHook.run(mailEnv, { ...outcomeOf(m.snapshotId), manifest: m }, { replicate: { error: (err as Error).message } });
		const sent = (await fetchCaptured(p)).map((r) => JSON.parse(r.body) as { type: string; subject: string; text: string });
		expect(sent.map((s) => s.type)).toEqual(["backup_succeeded", "replication_failed"]);
		expect(sent[1]!.subject).toContain("la copie hors Cloudflare a échoué");
		expect(sent[1]!.text).toContain("rien n’est perdu");
	});

	it("runs one small step per object, SHA256SUMS and the manifest last, and resumes after an interruption", async () => {
		const m = await writeSnapshot(env.R2_BUCKET, { time: new Date("2026-12-01T02:00:00Z"), tables: { submissions: { rows: Array.from({ length: 120 }, (_, i) => ({ seq: i + 1, id: `s${i}` })) } }, chunkRows: 50 });
		expect(m.chunks).toHaveLength(3);
		const names: string[] = [];
		const sizes: number[] = [];
		const recording = (stopAt?: string): HookSteps => ({
			available: 1000,
			async do(name, fn) {
				if (name === stopAt) throw new Error(`interrupted before ${name}`);
				names.push(name);
				const r = await fn();
				sizes.push(JSON.stringify(r).length);
				return r;
			},
		});
		// Interrupted before the commit: the chunks are there, but no manifest, so no copy yet.
		const err = await replicateHook.run(env, { ...outcomeOf(m.snapshotId), manifest: m }, {}, recording("commit")).catch((e: unknown) => e as Error);
		expect((err as Error).message).toContain("interrupted before commit");
		expect(names).toEqual(["plan", "chunk 1", "chunk 2", "chunk 3"]);
		expect(await listCopiedSnapshots(replica())).toEqual([]);
		expect((await listKeys(replica(), snapshotPrefix(m.snapshotId))).some((k) => k.endsWith(SUMS_NAME) || k.includes("manifest"))).toBe(false);
		// Run again: it goes to the end; every step's result is small (a few numbers and a hash).
		names.length = 0;
		sizes.length = 0;
		const done = await replicateHook.run(env, { ...outcomeOf(m.snapshotId), manifest: m }, {}, recording());
		expect(done).toMatchObject({ snapshotId: m.snapshotId, copied: true, objects: 5 });
		expect(names).toEqual(["plan", "chunk 1", "chunk 2", "chunk 3", "commit", "check", "retention"]);
		expect(Math.max(...sizes)).toBeLessThan(300);
		expect(await checkCopy(replica(), m.snapshotId)).toEqual([]);
	});

	it("groups chunks into fewer steps only when the Workflow instance lacks steps", async () => {
		expect(planChunksPerStep(3, 1000)).toBe(1);
		expect(planChunksPerStep(585, 1000)).toBe(1);
		expect(planChunksPerStep(585, 100)).toBe(7);
		expect(planChunksPerStep(10, 1)).toBe(10);
		expect(planChunksPerStep(0, 1000)).toBe(1);
	});

	it("refuses to copy a chunk whose bytes changed in the primary (a flipped byte), and commits nothing", async () => {
		const m = await writeSnapshot(env.R2_BUCKET, { time: new Date("2026-12-01T02:00:00Z"), tables: { submissions: { rows: [{ seq: 1, id: "a" }] } } });
		const bytes = new Uint8Array(await (await env.R2_BUCKET.get(m.chunks[0]!.key))!.arrayBuffer());
		bytes[bytes.length - 5]! ^= 0x01;
		await env.R2_BUCKET.put(m.chunks[0]!.key, bytes);
		const err = await replicateHook.run(env, { ...outcomeOf(m.snapshotId), manifest: m }, {}).catch((e: unknown) => e as Error);
		expect(err).toBeInstanceOf(Error);
		expect(await listCopiedSnapshots(replica())).toEqual([]);
	});

	it("is skipped, not failed, when no replica is configured or the backup failed", async () => {
		const none = { ...env, OFFSITE_S3_ENDPOINT: "", OFFSITE_S3_BUCKET: "", OFFSITE_S3_ACCESS_KEY_ID: "", OFFSITE_S3_SECRET_ACCESS_KEY: "" } as Env;
		expect(await replicateHook.run(none, outcomeOf("2026-12-01T020000Z-abc"), {})).toEqual({ skipped: "no off-site replica configured" });
		expect(await replicateHook.run(env, { ...outcomeOf("x"), status: "failed", snapshotId: undefined }, {})).toEqual({ skipped: "the backup failed: nothing to copy" });
	});
});

describe("the replica in the status and the dead man's switch", () => {
	it("status shows the replica's newest snapshot and its age; the hourly check stays quiet while it is fresh", async () => {
		const now = new Date();
		const m = await writeSnapshot(env.R2_BUCKET, { time: new Date(now.getTime() - 2 * 3600_000), tables: {} });
		await replicateHook.run(env, outcomeOf(m.snapshotId), {});
		const status = await (await api("/api/admin/status")).json<{ offsite: { encrypted: boolean; newest: { snapshotId: string; ageHours: number } | null; stale: boolean; error: string | null } }>();
		expect(status.offsite).toMatchObject({ encrypted: true, newest: { snapshotId: m.snapshotId }, stale: false, error: null });
		expect(status.offsite.newest!.ageHours).toBeGreaterThanOrEqual(1.9);
		const check = await checkReplica(env, getConfig(env), now, "monitor-test");
		expect(check.action).toBe("none");
	});

	it("alerts once when the replica is out of date (nothing copied for more than the threshold), not twice the same day", async () => {
		const now = new Date();
		const old = await writeSnapshot(env.R2_BUCKET, { time: new Date(now.getTime() - 60 * 3600_000), tables: {} });
		await replicateHook.run(env, outcomeOf(old.snapshotId), {});
		await env.DB.prepare("DELETE FROM alert_state WHERE key = ?1").bind(REPLICA_ALERT_KEY).run();
		const p = uniquePrefix("replica-stale");
		const mailEnv = envWith({ webhook: `${p}/hook` });
		const first = await checkReplica(mailEnv, getConfig(mailEnv), now, "monitor-1");
		expect(first.action).toBe("send_stale");
		expect(first.status?.stale).toBe(true);
		const again = await checkReplica(mailEnv, getConfig(mailEnv), new Date(now.getTime() + 3600_000), "monitor-2");
		expect(again.report).toBeNull();
		const sent = (await fetchCaptured(p)).map((r) => JSON.parse(r.body) as { type: string; subject: string });
		expect(sent.map((s) => s.type)).toEqual(["replica_stale"]);
		expect(sent[0]!.subject).toContain("n’est plus à jour");
	});
});
