// Issue 11, item 1: retention must never delete the last snapshot taken before a data loss.
// End to end on real local D1/R2 through the real BackupWorkflow (its retention hook) and the app.
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { runRetention } from "../src/retention/job";
import { listSnapshotFolders } from "../src/snapshots/store";
import { ADMIN, insertSubmissions, resetStorage, runBackup, snapshotIdOfRun } from "./backup-helpers";
import { writeCountSnapshot } from "./helpers/snapshot";
import { r2SnapshotStore } from "../src/snapshots/r2-store";

const HOUR = 3_600_000;

/** Yesterday (UTC) at `hour`:00: in the past whatever the wall clock, and all on one day. */
function yesterdayAt(hour: number): number {
	const now = new Date();
	return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1, hour);
}

let seq = 0;
/** One manual backup requested at `at`, run to its end (its retention hook included). Returns its snapshot id. */
async function backupAt(at: number): Promise<string> {
	const stamp = new Date(at).toISOString().replace(/[-:]/g, "").slice(0, 15);
	const runId = `manual-${stamp}Z-pin${String(++seq).padStart(3, "0")}`;
	await runBackup(runId, { trigger: "manual", requestedAt: at });
	return snapshotIdOfRun(runId);
}

async function retentionOf(snapshotId: string) {
	const row = await env.DB.prepare("SELECT details FROM backup_runs WHERE snapshot_id = ?").bind(snapshotId).first<{ details: string }>();
	const details = JSON.parse(row!.details) as { hooks: { retention: { ok: boolean; result: RetentionResult } } };
	return details.hooks.retention;
}

type RetentionResult = {
	removed: number;
	snapshots: Array<{ id: string; keep: boolean; reasons: string[] }>;
	pins: Array<{ id: string }>;
};

function api(path: string, init: RequestInit = {}) {
	return exports.default.fetch(`http://example.com${path}`, { ...init, headers: { ...ADMIN, ...(init.headers ?? {}) } });
}

beforeEach(async () => {
	await resetStorage();
	await env.DB.batch(["retention_pins", "restore_runs", "verification_runs"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
});

describe("a data loss pins the snapshots taken before it", () => {
	it("reproduction: 40 answers, backup P, 30 rows vanish, three backups the same day → P survives, pinned", async () => {
		await insertSubmissions(40);
		const p = await backupAt(yesterdayAt(10));

		// 30 rows disappear without any erasure request (a bad migration, a bug, an operator's mistake).
		await env.DB.prepare("DELETE FROM submissions WHERE seq > 10").run();
		const after = [await backupAt(yesterdayAt(11)), await backupAt(yesterdayAt(12)), await backupAt(yesterdayAt(13))];

		// Before the fix: the second post-loss backup lifted the freeze and the third deleted P.
		const remaining = await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET));
		expect(remaining).toContain(p);
		// The day's slot goes to the pinned P, not to a later backup that lacks the data: the
		// first post-loss backup, in no slot, is what the 25 % cap let go.
		expect(remaining).toEqual([p, after[1], after[2]]);
		const day = new Date(yesterdayAt(10)).toISOString().slice(0, 10);
		expect((await retentionOf(after[2]!)).result.snapshots.find((d) => d.id === p)!.reasons).toEqual(
			expect.arrayContaining([`daily ${day}`, expect.stringMatching(/^pinned: data loss seen in /)]),
		);

		// P is kept by a pin, with its reason, after every later backup.
		for (const id of after.slice(1)) {
			const r = await retentionOf(id);
			expect(r.ok).toBe(true);
			const decision = r.result.snapshots.find((d) => d.id === p)!;
			expect(decision.keep).toBe(true);
			expect(decision.reasons.some((x) => x.startsWith("pinned: "))).toBe(true);
		}

		// One pin, stored in D1 with its reason, logged in audit_log, mirrored in R2.
		const pins = (await env.DB.prepare("SELECT id, detected_in, snapshot_ids, tables, released_at FROM retention_pins").all<Record<string, string | null>>()).results;
		expect(pins).toHaveLength(1);
		expect(pins[0]).toMatchObject({ id: `pin-${after[0]}`, detected_in: after[0], released_at: null });
		expect(JSON.parse(pins[0]!.snapshot_ids!)).toEqual([p]);
		expect(JSON.parse(pins[0]!.tables!)).toEqual([{ table: "submissions", fromSnapshot: p, from: 40, to: 10, erased: 0, lost: 30 }]);
		const audit = await env.DB.prepare("SELECT detail FROM audit_log WHERE action = 'retention_pin_created'").all<{ detail: string }>();
		expect(audit.results.map((a) => JSON.parse(a.detail).pinId)).toEqual([`pin-${after[0]}`]);
		expect(await env.R2_BUCKET.head(`retention-pins/pin-${after[0]}.json`)).not.toBeNull();

		// The API lists it with a French explanation; releasing it lets normal retention apply again.
		const listed = (await (await api("/api/admin/pins")).json()) as { pins: Array<{ id: string; active: boolean; message: { fr: string } }> };
		expect(listed.pins).toHaveLength(1);
		expect(listed.pins[0]!.active).toBe(true);
		expect(listed.pins[0]!.message.fr).toContain("30 réponses ont disparu");
		const release = await api(`/api/admin/pins/pin-${after[0]}/release`, { method: "POST" });
		expect(release.status).toBe(200);

		const next = await backupAt(yesterdayAt(14));
		const r = await retentionOf(next);
		expect(r.result.snapshots.find((d) => d.id === p)).toMatchObject({ keep: false });
		expect(await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).not.toContain(p);
		// The released pin is the new baseline: the same drop is not pinned again.
		expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM retention_pins").first<{ n: number }>())!.n).toBe(1);
	});

	it("a drop explained by erasure requests pins nothing: normal retention goes on", async () => {
		await insertSubmissions(40);
		const p = await backupAt(yesterdayAt(10));
		for (let i = 11; i <= 40; i++) {
			const res = await api("/api/admin/erasures", {
				method: "POST",
				headers: { "Content-Type": "application/json" },
				body: JSON.stringify({ submissionId: `sub-${String(i).padStart(7, "0")}` }),
			});
			expect(res.status).toBe(201);
		}
		const after = [await backupAt(yesterdayAt(11)), await backupAt(yesterdayAt(12)), await backupAt(yesterdayAt(13))];
		expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM retention_pins").first<{ n: number }>())!.n).toBe(0);
		expect((await retentionOf(after[2]!)).result.pins).toEqual([]);
		// P holds no slot (the day's is the newest) and the 25 % cap lets the oldest go: P.
		expect(await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).toEqual(after);
		expect(after).not.toContain(p);
	});
});

describe("snapshots read by a running restore or verification are never deleted", () => {
	const NOW = new Date("2026-11-25T13:30:00Z");
	const ONE_DAY = { keepDaily: 1, keepWeekly: 0, keepMonthly: 0 };
	/** Four snapshots the same day, no loss: with one daily slot and the 25 % cap, the oldest goes. */
	async function fourSnapshots(): Promise<string[]> {
		const ids: string[] = [];
		for (const h of [10, 11, 12, 13]) ids.push((await writeCountSnapshot(env.R2_BUCKET, new Date(Date.UTC(2026, 10, 25, h)), 40)).snapshotId);
		return ids;
	}
	const insertRestore = (id: string, snapshotId: string, status: string, at: Date) =>
		env.DB.prepare("INSERT INTO restore_runs (id, snapshot_id, mode, status, requested_at) VALUES (?, ?, 'dry-run', ?, ?)")
			.bind(id, snapshotId, status, at.toISOString())
			.run();

	it("a queued or running restore keeps its snapshot, with the reason", async () => {
		const ids = await fourSnapshots();
		await insertRestore("restore-2026-11-25t132500z-aaaa", ids[0]!, "running", new Date("2026-11-25T13:25:00Z"));
		await insertRestore("restore-2026-11-25t132600z-bbbb", ids[1]!, "queued", new Date("2026-11-25T13:26:00Z"));
		await insertRestore("restore-2026-11-25t120000z-cccc", ids[2]!, "complete", new Date("2026-11-25T12:00:00Z"));
		const s = await runRetention(env, { now: NOW, backupStatus: "complete", dryRun: false, policy: ONE_DAY });
		const byId = new Map(s.snapshots.map((d) => [d.id, d]));
		expect(byId.get(ids[0]!)).toMatchObject({ keep: true, reasons: ["in use: restore restore-2026-11-25t132500z-aaaa is reading this snapshot"] });
		expect(byId.get(ids[1]!)).toMatchObject({ keep: true, reasons: ["in use: restore restore-2026-11-25t132600z-bbbb is reading this snapshot"] });
		// The finished restore holds nothing: its snapshot is the one the cap lets go.
		expect(s.removed).toBe(1);
		expect(byId.get(ids[2]!)).toMatchObject({ keep: false, deletion: "removed" });
		expect(await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).toEqual([ids[0], ids[1], ids[3]]);
		expect(s.readers.map((r) => r.runId)).toEqual(["restore-2026-11-25t132500z-aaaa", "restore-2026-11-25t132600z-bbbb"]);
	});

	it("a running verification holds every snapshot", async () => {
		const ids = await fourSnapshots();
		await env.DB.prepare("INSERT INTO verification_runs (id, scheduled_time, status, started_at) VALUES ('verify-manual-20261125T132000Z-abcdef', ?1, 'running', ?1)")
			.bind("2026-11-25T13:20:00.000Z")
			.run();
		const s = await runRetention(env, { now: NOW, backupStatus: "complete", dryRun: false, policy: ONE_DAY });
		expect(s.removed).toBe(0);
		expect(s.snapshots.every((d) => d.reasons.includes("in use: verification verify-manual-20261125T132000Z-abcdef is reading the snapshots"))).toBe(true);
		expect(await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).toEqual(ids);
	});

	it("a run recorded as running more than an hour ago whose Workflow does not exist holds nothing", async () => {
		const ids = await fourSnapshots();
		await insertRestore("restore-2026-11-25t100000z-dead", ids[0]!, "running", new Date("2026-11-25T10:00:00Z"));
		await env.DB.prepare("INSERT INTO verification_runs (id, scheduled_time, status, started_at) VALUES ('verify-2026-11-23', ?1, 'running', ?1)")
			.bind("2026-11-23T03:00:00.000Z")
			.run();
		const s = await runRetention(env, { now: NOW, backupStatus: "complete", dryRun: false, policy: ONE_DAY });
		expect(s.readers).toEqual([]);
		expect(s.removed).toBe(1);
		expect(await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).toEqual(ids.slice(1));
	});
});
