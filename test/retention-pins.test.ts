// Issue 11, item 1: retention must never delete the last snapshot taken before a data loss.
// End to end on real local D1/R2 through the real BackupWorkflow (its retention hook) and the app.
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { listSnapshotFolders } from "../src/snapshots/store";
import { ADMIN, insertSubmissions, resetStorage, runBackup, snapshotIdOfRun } from "./backup-helpers";

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
		const remaining = await listSnapshotFolders(env.R2_BUCKET);
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
		expect(await listSnapshotFolders(env.R2_BUCKET)).not.toContain(p);
		// The released pin is the new baseline: the same drop is not pinned again.
		expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM retention_pins").first<{ n: number }>())!.n).toBe(1);
	});
});
