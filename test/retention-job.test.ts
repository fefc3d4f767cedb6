// The retention job end to end on real local R2 objects and D1: what it deletes, in which order,
// what it refuses to delete (failed backup, freeze, bucket lock), and the after-backup hook.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { BackupOutcome } from "../src/jobs/after-backup";
import { afterBackupHooks, retentionHook } from "../src/jobs/after-backup";
import { manifestKey, snapshotPrefix, type Manifest } from "../src/snapshots/format";
import { deleteSnapshot, runRetention } from "../src/retention/job";
import { isLockedError } from "../src/snapshots/r2-store";
import { listManifests, listSnapshotFolders } from "../src/snapshots/store";
import { insertSubmissions, runBackup } from "./backup-helpers";
import { failingBulkDeleteBucket, LOCK_MESSAGE, lockedBucket } from "./helpers/locked-bucket";
import { clearPinMirror, clearSnapshots, writeCountSnapshot } from "./helpers/snapshot";
import { r2SnapshotStore } from "../src/snapshots/r2-store";
import { sendEvent } from "../src/notify/events";

const DAY = 86_400_000;

/** n daily snapshots at 02:00 UTC ending on lastDay, oldest first; `counts(i)` submissions each. */
async function writeDaily(lastDay: string, n: number, counts: (i: number) => number = () => 100): Promise<Manifest[]> {
	const end = new Date(`${lastDay}T02:00:00Z`).getTime();
	const out: Manifest[] = [];
	for (let i = n - 1; i >= 0; i--) out.push(await writeCountSnapshot(env.R2_BUCKET, new Date(end - i * DAY), counts(i)));
	return out;
}

async function objectKeys(prefix = "snapshots/"): Promise<string[]> {
	const keys: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await env.R2_BUCKET.list({ prefix, cursor });
		keys.push(...page.objects.map((o) => o.key));
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return keys;
}

const day = (m: Manifest) => m.snapshotId.slice(0, 10);

function outcome(status: "complete" | "failed", finishedAt: string): BackupOutcome {
	return {
		runId: `scheduled-${finishedAt.slice(0, 10)}`,
		trigger: "scheduled",
		status,
		startedAt: finishedAt,
		finishedAt,
		scheduledTime: finishedAt,
		...(status === "failed" ? { stage: "export", error: "test" } : {}),
	};
}

beforeEach(async () => {
	await clearSnapshots(env.R2_BUCKET);
	await clearPinMirror(env.R2_BUCKET);
	await env.DB.batch(["snapshot_checks", "submissions", "backup_runs", "retention_pins", "audit_log"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
});

describe("retention job on real R2", () => {
	it("is registered as the first after-backup hook", () => {
		expect(afterBackupHooks[0]).toBe(retentionHook);
	});

	it("40 daily snapshots with the default policy: removes the 8 outside every slot, all their objects", async () => {
		const written = await writeDaily("2026-11-25", 40, () => 120);
		// several chunks per snapshot, so "all objects" means something
		expect(written[0]!.chunks.length).toBeGreaterThan(1);
		const before = await objectKeys();

		const summary = await retentionHook.run(env, outcome("complete", "2026-11-25T02:10:00Z"), {});
		const s = summary as Awaited<ReturnType<typeof runRetention>>;

		// Kept: 30 dailies (10-27..11-25), weekly 2026-W43 (10-25) and W42 (10-18). Monthly 2026-10 is 10-31 (a daily).
		const expectRemoved = ["2026-10-17", "2026-10-19", "2026-10-20", "2026-10-21", "2026-10-22", "2026-10-23", "2026-10-24", "2026-10-26"];
		expect(s.removed).toBe(8);
		expect(s.kept).toBe(32);
		expect(s.frozen).toBe(false);
		expect(s.snapshots.filter((d) => d.deletion === "removed").map((d) => d.id.slice(0, 10)).sort()).toEqual(expectRemoved);

		const remaining = (await listManifests(r2SnapshotStore(env.R2_BUCKET))).map(day).sort();
		expect(remaining).toHaveLength(32);
		expect(remaining.filter((d) => expectRemoved.includes(d))).toEqual([]);
		// no leftover object of a removed snapshot, every object of a kept one still there
		const after = await objectKeys();
		for (const m of written) {
			const keys = before.filter((k) => k.startsWith(snapshotPrefix(m.snapshotId)));
			if (expectRemoved.includes(day(m))) expect(after.filter((k) => keys.includes(k))).toEqual([]);
			else expect(after.filter((k) => keys.includes(k))).toEqual(keys);
		}
		// idempotent: a second run removes nothing more
		const again = await runRetention(env, { now: new Date("2026-11-25T02:10:00Z"), backupStatus: "complete", dryRun: false });
		expect(again.removed).toBe(0);
		expect(again.kept).toBe(32);
	});

	it("the max share per run: 20 removable of 50, default 25% → 12 removed, the oldest", async () => {
		await writeDaily("2026-11-25", 50);
		const s = await runRetention(env, {
			now: new Date("2026-11-25T03:00:00Z"),
			backupStatus: "complete",
			dryRun: false,
			policy: { keepDaily: 30, keepWeekly: 0, keepMonthly: 0 },
		});
		expect(s.removed).toBe(12); // floor(50 * 25 / 100)
		const deferred = s.snapshots.filter((d) => d.reasons.some((r) => r.startsWith("deferred:")));
		expect(deferred).toHaveLength(8);
		const remaining = (await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).map((id) => id.slice(0, 10));
		expect(remaining).toHaveLength(38);
		expect(remaining[0]).toBe("2026-10-19"); // 10-07..10-18 (the 12 oldest) are gone
	});

	it("no pruning after a failed backup: nothing deleted", async () => {
		await writeDaily("2026-11-25", 40);
		const keys = await objectKeys();
		const result = (await retentionHook.run(env, outcome("failed", "2026-11-25T02:10:00Z"), {})) as { removed: number };
		expect(result.removed).toBe(0);
		expect(await objectKeys()).toEqual(keys);
		// and the pure rule holds even when the job is called directly with a failed status
		const held = await runRetention(env, { now: new Date("2026-11-25T03:00:00Z"), backupStatus: "failed", dryRun: false });
		expect(held.removed).toBe(0);
		expect(held.held).toBe("the last backup failed");
		expect(await objectKeys()).toEqual(keys);
	});

	it("pins on a drop: every older snapshot kept with its reason, retention_frozen alert sent once", async () => {
		const written = await writeDaily("2026-11-25", 40, (i) => (i === 0 ? 60 : 100)); // newest: 100 → 60
		const keys = await objectKeys();
		const s = await runRetention(env, {
			now: new Date("2026-11-25T03:00:00Z"),
			backupStatus: "complete",
			dryRun: false,
			runId: "scheduled-2026-11-25",
			// The sender the after-backup hook wires (src/jobs/after-backup.ts).
			sendAlert: (alert) => sendEvent(env, alert, new Date("2026-11-25T03:00:00Z")),
		});
		const newest = written.at(-1)!.snapshotId;
		expect(s.frozen).toBe(true);
		expect(s.newPin).toMatchObject({ id: `pin-${newest}`, detectedIn: newest, lastBefore: written.at(-2)!.snapshotId, active: true });
		expect(s.newPin!.tables).toEqual([{ table: "submissions", fromSnapshot: written.at(-2)!.snapshotId, from: 100, to: 60, erased: 0, lost: 40 }]);
		expect(s.newPin!.snapshotIds).toEqual(written.slice(0, -1).map((m) => m.snapshotId));
		expect(s.removed).toBe(0);
		expect(s.snapshots.slice(1).every((d) => d.reasons.some((r) => r.startsWith("pinned: data loss seen in ")))).toBe(true);
		expect(s.alert?.eventType).toBe("retention_frozen");
		expect(await objectKeys()).toEqual(keys);
		const row = await env.DB.prepare("SELECT alerted_at FROM retention_pins WHERE id = ?").bind(`pin-${newest}`).first<{ alerted_at: string | null }>();
		expect(row?.alerted_at).toBe("2026-11-25T03:00:00.000Z");

		// A second run: same pin, no second alert, still nothing removed.
		const again = await runRetention(env, {
			now: new Date("2026-11-25T04:00:00Z"),
			backupStatus: "complete",
			dryRun: false,
			sendAlert: (alert) => sendEvent(env, alert, new Date("2026-11-25T04:00:00Z")),
		});
		expect(again.newPin).toBeNull();
		expect(again.pins.map((p) => p.id)).toEqual([`pin-${newest}`]);
		expect(again.alert).toBeNull();
		expect(again.removed).toBe(0);
	});

	it("a dry run shows the pin it would create, and stores nothing", async () => {
		await writeDaily("2026-11-25", 5, (i) => (i === 0 ? 99 : 100));
		const s = await runRetention(env, { now: new Date("2026-11-25T03:00:00Z"), backupStatus: "complete", dryRun: true });
		expect(s.newPin?.tables[0]).toMatchObject({ table: "submissions", lost: 1 });
		expect(s.alert).toBeNull();
		expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM retention_pins").first<{ n: number }>())!.n).toBe(0);
		expect((await env.R2_BUCKET.list({ prefix: "retention-pins/" })).objects).toEqual([]);
	});

	it("a deletion refused by a bucket lock is reported as locked, not an error; the others proceed", async () => {
		const written = await writeDaily("2026-11-25", 40);
		const lockedOne = written[0]!; // 10-17, removable
		const bucket = lockedBucket(env.R2_BUCKET, [snapshotPrefix(lockedOne.snapshotId)]);
		const s = await runRetention(env, { now: new Date("2026-11-25T03:00:00Z"), backupStatus: "complete", dryRun: false, store: r2SnapshotStore(bucket) });
		expect(s.locked).toEqual([lockedOne.snapshotId]);
		expect(s.failed).toEqual([]);
		expect(s.removed).toBe(7);
		expect(s.snapshots.find((d) => d.id === lockedOne.snapshotId)?.deletion).toBe("locked");
		// the locked snapshot is untouched (manifest first would have failed first)
		expect((await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).includes(lockedOne.snapshotId)).toBe(true);
		expect((await listManifests(r2SnapshotStore(env.R2_BUCKET))).some((m) => m.snapshotId === lockedOne.snapshotId)).toBe(true);
	});

	it("deletes the manifest first: an interrupted deletion leaves an incomplete folder, never a manifest without chunks", async () => {
		const [m] = await writeDaily("2026-11-25", 1);
		const result = await deleteSnapshot(r2SnapshotStore(failingBulkDeleteBucket(env.R2_BUCKET)), m!.snapshotId);
		expect(result.status).toBe("removed");
		expect(await env.R2_BUCKET.head(manifestKey(m!.snapshotId))).toBeNull();
		expect((await objectKeys(snapshotPrefix(m!.snapshotId))).length).toBe(m!.chunks.length);
		// readers see no snapshot at all; the job lists the folder as incomplete and leaves it to the GC
		expect(await listManifests(r2SnapshotStore(env.R2_BUCKET))).toEqual([]);
		const s = await runRetention(env, { now: new Date("2026-11-25T03:00:00Z"), backupStatus: "complete", dryRun: true });
		expect(s.incomplete).toBe(1);
		expect(s.snapshots).toEqual([]);
	});

	it("a snapshot the weekly verification found corrupt loses its slot to a verified one of the same day", async () => {
		const good = await writeCountSnapshot(env.R2_BUCKET, new Date("2026-11-25T02:00:00Z"), 100);
		const bad = await writeCountSnapshot(env.R2_BUCKET, new Date("2026-11-25T14:00:00Z"), 100);
		const older = await writeCountSnapshot(env.R2_BUCKET, new Date("2026-11-20T02:00:00Z"), 100);
		await env.DB.prepare(
			"INSERT INTO snapshot_checks (snapshot_id, run_id, checked_at, status, problems) VALUES (?, 'verify-test', '2026-11-25T15:00:00Z', 'corrupt', '[]')",
		)
			.bind(bad.snapshotId)
			.run();
		const s = await runRetention(env, {
			now: new Date("2026-11-25T15:00:00Z"),
			backupStatus: "complete",
			dryRun: true,
			policy: { keepDaily: 1, keepWeekly: 0, keepMonthly: 0 },
		});
		const byId = new Map(s.snapshots.map((d) => [d.id, d]));
		expect(byId.get(good.snapshotId)).toMatchObject({ keep: true, verified: true });
		expect(byId.get(good.snapshotId)!.reasons).toEqual(["daily 2026-11-25", "newest verified"]);
		// the corrupt one holds no slot: only the 25% cap (0 of 3) keeps it for now
		expect(byId.get(bad.snapshotId)).toMatchObject({ verified: false });
		expect(byId.get(bad.snapshotId)!.reasons).toEqual(["deferred: at most 25% of snapshots removed per run"]);
		expect(byId.get(older.snapshotId)!.reasons).toEqual(["deferred: at most 25% of snapshots removed per run"]);
	});

	it("classifies lock refusals", () => {
		expect(isLockedError(new Error(LOCK_MESSAGE))).toBe(true);
		expect(isLockedError(new Error("delete: object is locked until 2027-01-01"))).toBe(true);
		expect(isLockedError(new Error("delete: We encountered an internal error. (10001)"))).toBe(false);
		expect(isLockedError(new Error("network connection lost"))).toBe(false);
	});

	it("through the real BackupWorkflow: the hook prunes after a complete backup, and pins on a drop", async () => {
		// 40 earlier snapshots (10-16..11-24) of 100 submissions each, then the real 11-25 backup.
		await writeDaily("2026-11-24", 40);
		await insertSubmissions(100);
		await runBackup("scheduled-2026-11-25", { trigger: "scheduled", requestedAt: Date.parse("2026-11-25T02:00:00Z") });
		const row = await env.DB.prepare("SELECT status, details FROM backup_runs WHERE id = 'scheduled-2026-11-25'").first<{ status: string; details: string }>();
		expect(row?.status).toBe("complete");
		const hooks = (JSON.parse(row!.details) as { hooks: Record<string, { ok: boolean; result: { removed: number; kept: number; frozen: boolean } }> }).hooks;
		expect(hooks.retention).toMatchObject({ ok: true, result: { removed: 9, kept: 32, frozen: false } });
		const days = (await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).map((id) => id.slice(0, 10));
		expect(days).toHaveLength(32);
		for (const gone of ["2026-10-16", "2026-10-17", "2026-10-19", "2026-10-24", "2026-10-26"]) expect(days).not.toContain(gone);

		// Later that day 80% of the submissions are gone: a manual backup succeeds, retention pins.
		// (Same day: the hook's "now" is the backup's real finish time, and a snapshot dated after
		// it would count as future-dated.)
		await env.DB.prepare("DELETE FROM submissions WHERE seq % 5 <> 0").run();
		const manualId = "manual-20261125T100000Z-frz001";
		await runBackup(manualId, { trigger: "manual", requestedAt: Date.parse("2026-11-25T10:00:00Z") });
		const next = await env.DB.prepare("SELECT details FROM backup_runs WHERE id = ?").bind(manualId).first<{ details: string }>();
		const retention = (JSON.parse(next!.details) as { hooks: { retention: { result: { frozen: boolean; removed: number; newPin: { tables: unknown[]; snapshotIds: string[] } } } } }).hooks.retention.result;
		expect(retention).toMatchObject({ frozen: true, removed: 0, newPin: { tables: [{ table: "submissions", from: 100, to: 20, erased: 0, lost: 80 }] } });
		expect(retention.newPin.snapshotIds).toHaveLength(32);
		expect(await listSnapshotFolders(r2SnapshotStore(env.R2_BUCKET))).toHaveLength(33);
	});
});
