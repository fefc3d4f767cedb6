// Manifests authenticated with BACKUP_SIGNING_KEY: a snapshot planted by someone who can write to
// the bucket (but does not hold the key) is reported everywhere it could mislead — listing,
// staleness, retention, weekly verification — and is never restored without the logged override.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { manifestKey, serializeManifest, sha256Hex, type Manifest } from "../src/snapshots/format";
import { fetchNewestVerified } from "../src/monitor/snapshots";
import { runHourlyMonitor } from "../src/monitor/hourly";
import { r2SnapshotStore } from "../src/snapshots/r2-store";
import { checkManifestSignature, signManifest } from "../src/snapshots/signature";
import { MANIFEST_SHA_META, readManifest } from "../src/snapshots/store";
import { runRetention } from "../src/retention/job";
import { checkSnapshotMetadata } from "../src/verify/steps";
import { api, count } from "./helpers/restore-snapshot";
import { clearSnapshots, writeSnapshot } from "./helpers/snapshot";

const store = () => r2SnapshotStore(env.R2_BUCKET);
const KEY = env.BACKUP_SIGNING_KEY;
const HOUR = 3600_000;

/** Write a snapshot, then replace its manifest the way an attacker with bucket access could. */
async function plant(time: Date, change: (m: Manifest) => Manifest, keepSignature = false): Promise<string> {
	const real = await writeSnapshot(env.R2_BUCKET, {
		time,
		tables: { submissions: { rows: [{ seq: 1, id: "a", answers: "{}" }], bound: 1 } },
	});
	const obj = await env.R2_BUCKET.get(manifestKey(real.snapshotId));
	const text = serializeManifest(change(real));
	// The attacker recomputes the SHA-256 (anyone can); the signature needs the key.
	const metadata: Record<string, string> = { [MANIFEST_SHA_META]: sha256Hex(text) };
	if (keepSignature) metadata["manifest-signature"] = obj!.customMetadata!["manifest-signature"]!;
	await env.R2_BUCKET.put(manifestKey(real.snapshotId), text, { customMetadata: metadata });
	return real.snapshotId;
}

beforeEach(async () => {
	await clearSnapshots(env.R2_BUCKET);
});

describe("manifest signature (pure)", () => {
	it("tells valid, unsigned, tampered, other-key and no-key apart", async () => {
		const text = '{"a":1}\n';
		const sig = await signManifest(text, KEY);
		expect(sig).toMatch(/^hmac-sha256:[0-9a-f]{16}:[0-9a-f]{64}$/);
		expect(await checkManifestSignature(text, sig, KEY)).toBe("valid");
		expect(await checkManifestSignature(text, undefined, KEY)).toBe("unsigned");
		expect(await checkManifestSignature('{"a":2}\n', sig, KEY)).toBe("invalid");
		expect(await checkManifestSignature(text, "hmac-sha256:nonsense", KEY)).toBe("invalid");
		expect(await checkManifestSignature(text, await signManifest(text, `${KEY}-other`), KEY)).toBe("other-key");
		expect(await checkManifestSignature(text, sig, undefined)).toBe("no-key");
	});
});

describe("a planted snapshot", () => {
	it("is listed as not verified, with the reason, next to the real ones", async () => {
		const real = await writeSnapshot(env.R2_BUCKET, { time: new Date(Date.now() - 2 * HOUR), tables: {} });
		const planted = await plant(new Date(Date.now() - HOUR), (m) => m);
		const body = await (await api("/api/admin/snapshots")).json<{ snapshots: Array<{ id: string; verified: boolean; signature: string }> }>();
		expect(body.snapshots.map((s) => [s.id, s.verified, s.signature])).toEqual([
			[planted, false, "unsigned"],
			[real.snapshotId, true, "valid"],
		]);
	});

	it("a tampered manifest with its old signature and a fixed-up SHA-256 is invalid", async () => {
		const id = await plant(new Date(Date.now() - HOUR), (m) => ({ ...m, rows: m.rows + 1 }), true);
		const read = await readManifest(store(), id, { signingKey: KEY });
		expect(read.ok && read.signature).toBe("invalid");
	});

	it("does not count for staleness: the alarm still sees the real, old backup", async () => {
		const now = new Date();
		const real = await writeSnapshot(env.R2_BUCKET, { time: new Date(now.getTime() - 60 * HOUR), tables: {} });
		await plant(new Date(now.getTime() - HOUR), (m) => m);
		const newest = await fetchNewestVerified(store(), { signingKey: KEY }, now);
		expect(newest?.snapshotId).toBe(real.snapshotId);
		const status = await (await api("/api/admin/status")).json<{ stale: boolean; snapshots: { count: number; ignored: unknown[] } }>();
		expect(status.stale).toBe(true);
		expect(status.snapshots.count).toBe(1);
		expect(status.snapshots.ignored).toEqual([{ snapshotId: expect.any(String), reason: "unsigned" }]);
	});

	it("dated in the future (even signed) is ignored by staleness and reported; the alarm fires", async () => {
		const now = new Date();
		const old = await writeSnapshot(env.R2_BUCKET, { time: new Date(now.getTime() - 60 * HOUR), tables: {} });
		const future = await writeSnapshot(env.R2_BUCKET, { time: new Date("2036-01-01T02:00:00Z"), tables: {} });
		expect((await fetchNewestVerified(store(), { signingKey: KEY }, now))?.snapshotId).toBe(old.snapshotId);
		const result = await runHourlyMonitor(env, now);
		expect(result.staleness?.stale).toBe(true);
		expect(result.staleness?.newest?.snapshotId).toBe(old.snapshotId);
		const status = await (await api("/api/admin/status")).json<{ snapshots: { ignored: unknown[] } }>();
		expect(status.snapshots.ignored).toEqual([{ snapshotId: future.snapshotId, reason: "future" }]);
	});

	it("takes no retention slot and is never deleted by the policy; it is reported", async () => {
		const planted = await plant(new Date("2026-11-20T02:00:00Z"), (m) => m);
		const s = await runRetention(env, { now: new Date("2026-12-25T03:00:00Z"), backupStatus: "complete", dryRun: false });
		expect(s.snapshots.map((d) => d.id)).not.toContain(planted);
		expect(s.unreadable).toEqual([{ id: planted, reason: expect.stringMatching(/non signée/) }]);
		expect(await env.R2_BUCKET.head(manifestKey(planted))).not.toBeNull();
	});

	it("is reported by the weekly verification plan, not verified as a good snapshot", async () => {
		const planted = await plant(new Date("2026-11-20T02:00:00Z"), (m) => m);
		const meta = await checkSnapshotMetadata(store(), planted, { signingKey: KEY });
		expect(meta?.target).toBeNull();
		expect(meta?.problems).toEqual([expect.objectContaining({ snapshotId: planted, reason: "manifest_unsigned" })]);
	});

	it("is refused by restore unless the override is given; the override is audited", async () => {
		const planted = await plant(new Date(Date.now() - HOUR), (m) => m);
		const refused = await api("/api/admin/restore", { method: "POST", json: { snapshotId: planted, mode: "dry-run" } });
		expect(refused.status).toBe(422);
		const error = (await refused.json<{ error: { code: string; message: string } }>()).error;
		expect(error.code).toBe("snapshot_invalid");
		expect(error.message).toMatch(/not authenticated \(unsigned\)/);
		const before = await count(env.DB, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'restore_unsigned_override'");
		const accepted = await api("/api/admin/restore", { method: "POST", json: { snapshotId: planted, mode: "dry-run", allowUnsigned: true } });
		expect(accepted.status).toBe(202);
		expect(await count(env.DB, "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'restore_unsigned_override'")).toBe(before + 1);
	});

	it("bad override values are refused with the field named", async () => {
		const res = await api("/api/admin/restore", { method: "POST", json: { snapshotId: "2026-11-25T020000Z-abc", allowUnsigned: "yes" } });
		expect(res.status).toBe(400);
		expect((await res.json<{ error: { fields: Record<string, string> } }>()).error.fields).toHaveProperty("allowUnsigned");
	});
});
