// The data lock (issue 11.6), on real local D1/R2/Workflows: the compatibility table, the atomic
// INSERT, stale locks, and EVERY pair of writers — backup, merge, replace, undo, erasure, the
// undo clean-up — with its outcome: 409 with a clear code, a Workflow that waits (step.sleep)
// then proceeds, refuses or fails with a notice, or, for backup × erasure, safe, proved with
// content digests. Decisions: docs/decisions.md ("The data lock").
import { createExecutionContext, createScheduledController, introspectWorkflow, introspectWorkflowInstance, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { deleteDataLock, fetchDataLocks, insertDataLock, type DataLockRow } from "../src/db/data-locks";
import { restoreUndoCleanupHook } from "../src/jobs/after-backup";
import { buildManifest } from "../src/jobs/backup-workflow";
import {
	LOCK_GRACE_MS,
	LOCK_KINDS,
	LOCK_MODE,
	LOCK_WAIT,
	SHORT_LOCK_TTL_MS,
	acquireDataLock,
	describeBlocker,
	findStaleReason,
	lockConflicts,
	type DataLockKind,
} from "../src/jobs/data-lock";
import { prepareStaging, swapInStaging } from "../src/restore/load";
import { EMPTY_DIGEST, addDigests, buildSnapshotId, type Manifest } from "../src/snapshots/format";
import { r2SnapshotStore } from "../src/snapshots/r2-store";
import { writeManifest } from "../src/snapshots/store";
import worker from "../src/worker";
import { runBackup } from "./backup-helpers";
import { clearSnapshots, writeSnapshotOfDatabase } from "./helpers/snapshot";
import { api, count, expectedCounters, liveDigests, runRestore, seed, storedCounters, wipe, type RestoreView, type SeedSubmission } from "./helpers/restore-snapshot";

const db = env.DB;
const bucket = env.R2_BUCKET;
const T0 = new Date("2026-11-20T02:00:00Z");
const BACKUP_HOLDER = "manual-20261120T020000Z-holder";
const RESTORE_HOLDER = "restore-2026-11-20t020000z-holder";

const SUBS: SeedSubmission[] = [
	{ id: "a", role: "gerant", day: "2026-11-10", email: "alice@example.org" },
	{ id: "b", role: "barista", day: "2026-11-10" },
	{ id: "c", role: "gerant", day: "2026-11-11" },
];

beforeEach(async () => {
	await wipe(db);
	await db.batch([db.prepare(`DELETE FROM backup_runs`), db.prepare(`DELETE FROM notification_log`)]);
	await clearSnapshots(bucket);
});

/** Take the lock as `kind`'s writer does (same INSERT), `ageMs` ago. */
async function hold(kind: DataLockKind, holder: string, ageMs = 0): Promise<void> {
	const ok = await insertDataLock(db, { holder, kind, mode: LOCK_MODE[kind], acquiredAt: new Date(Date.now() - ageMs).toISOString() });
	expect(ok, `lock for ${kind} ${holder}`).toBe(true);
}

const holderOf: Record<DataLockKind, string> = {
	backup: BACKUP_HOLDER,
	merge: RESTORE_HOLDER,
	replace: RESTORE_HOLDER,
	undo: "undo-0123456789abcdef",
	"undo-cleanup": `undo-cleanup-${BACKUP_HOLDER}`,
	erasure: "erasure-0123456789abcdef",
};

async function holders(): Promise<string[]> {
	return (await fetchDataLocks(db)).map((l) => l.holder);
}

async function errorCode(res: Response): Promise<string> {
	return (await res.json<{ error: { code: string } }>()).error.code;
}

async function ids(): Promise<string[]> {
	return (await db.prepare(`SELECT id FROM submissions ORDER BY id`).all<{ id: string }>()).results.map((r) => r.id);
}

/** A replace done and kept for undo: the state undo can act on. */
async function replaceKeptForUndo(): Promise<Manifest> {
	await seed(db, SUBS);
	const m = await writeSnapshotOfDatabase(bucket, db, T0);
	await seed(db, [{ id: "late", role: "barista", day: "2026-11-12" }]);
	expect((await runRestore(m.snapshotId, "replace")).status).toBe("complete");
	return m;
}

/** Start a RestoreWorkflow for an accepted run directly (the POST would refuse while the lock is held). */
async function startRestore(snapshotId: string, mode: "merge" | "replace", modify?: Parameters<Awaited<ReturnType<typeof introspectWorkflowInstance>>["modify"]>[0]): Promise<RestoreView> {
	const id = `restore-2026-11-20t020000z-${mode}${Math.random().toString(36).slice(2, 8)}`;
	await db
		.prepare(`INSERT INTO restore_runs (id, snapshot_id, mode, status, stage, requested_at) VALUES (?1, ?2, ?3, 'queued', 'queued', ?4)`)
		.bind(id, snapshotId, mode, new Date().toISOString())
		.run();
	await using instance = await introspectWorkflowInstance(env.RESTORE_WORKFLOW, id);
	await instance.modify(async (m) => {
		await m.disableRetryDelays();
		await m.disableSleeps();
		if (modify) await modify(m);
	});
	await env.RESTORE_WORKFLOW.create({ id, params: { runId: id, snapshotId, mode } });
	await instance.waitForStatus("complete");
	return (await api(`/api/admin/restores/${id}`)).json<RestoreView>();
}

describe("the compatibility table (pure)", () => {
	// Who excludes whom: shared holders coexist, an exclusive holder excludes everyone.
	const expected: Record<DataLockKind, DataLockKind[]> = {
		backup: ["backup"],
		erasure: [],
		merge: [],
		replace: [],
		undo: [],
		"undo-cleanup": [],
	};
	for (const a of LOCK_KINDS) {
		for (const b of LOCK_KINDS) {
			const together = expected[a].includes(b);
			it(`${a} × ${b}: ${together ? "may run together" : "exclude each other"}`, () => {
				expect(lockConflicts(LOCK_MODE[a], LOCK_MODE[b])).toBe(!together);
			});
		}
	}

	it("names what blocks with a 409 code per kind", () => {
		const since = "2026-11-20T02:00:00.000Z";
		expect(describeBlocker({ holder: "h", kind: "backup", since }).code).toBe("backup_in_progress");
		expect(describeBlocker({ holder: "h", kind: "undo-cleanup", since }).code).toBe("backup_in_progress");
		expect(describeBlocker({ holder: "h", kind: "merge", since }).code).toBe("restore_in_progress");
		expect(describeBlocker({ holder: "h", kind: "replace", since }).code).toBe("restore_in_progress");
		expect(describeBlocker({ holder: "h", kind: "undo", since }).code).toBe("undo_in_progress");
		expect(describeBlocker({ holder: "h", kind: "erasure", since }).code).toBe("erasure_in_progress");
		expect(describeBlocker({ holder: "h", kind: "erasure", since }).message).toBe(`An erasure h is changing the data (since ${since}); repeat this request once it has finished.`);
	});

	it("judges stale locks: ended or long-missing instances, requests past their TTL", () => {
		const now = Date.parse("2026-11-20T03:00:00.000Z");
		const lock = (kind: string, ageMs: number): DataLockRow => ({ holder: "h", kind, mode: "exclusive", acquiredAt: new Date(now - ageMs).toISOString() });
		const cases: [DataLockRow, string, string | null][] = [
			[lock("merge", 1000), "unchecked", null],
			[lock("merge", 10 * 3600_000), "running", null],
			[lock("merge", 10 * 3600_000), "waiting", null],
			[lock("merge", LOCK_GRACE_MS + 1000), "errored", "workflow errored"],
			[lock("replace", LOCK_GRACE_MS + 1000), "terminated", "workflow terminated"],
			[lock("backup", LOCK_GRACE_MS + 1000), "complete", "workflow complete"],
			[lock("backup", LOCK_GRACE_MS - 1000), "unchecked", null],
			[lock("backup", LOCK_GRACE_MS + 1000), "missing", "workflow instance missing"],
			[lock("erasure", SHORT_LOCK_TTL_MS - 1000), "none", null],
			[lock("undo", SHORT_LOCK_TTL_MS + 1000), "none", `held for over ${SHORT_LOCK_TTL_MS / 60_000} minutes by a request or step that has ended`],
			[lock("undo-cleanup", SHORT_LOCK_TTL_MS + 1000), "none", expect.stringContaining("held for over") as unknown as string],
			[{ ...lock("undo", 0), acquiredAt: "garbage" }, "none", "unreadable acquisition time"],
		];
		for (const [l, instance, reason] of cases) expect(findStaleReason(l, instance, now), `${l.kind} ${instance}`).toEqual(reason);
	});
});

describe("taking the lock in D1", () => {
	it("shared + shared coexist; exclusive waits for both; a holder re-acquires; release frees", async () => {
		const now = new Date();
		expect(await acquireDataLock(env, { holder: "backup-1", kind: "backup" }, now)).toEqual({ ok: true });
		expect(await acquireDataLock(env, { holder: "backup-1b", kind: "backup" }, now)).toEqual({ ok: true });
		expect(await acquireDataLock(env, { holder: "backup-1", kind: "backup" }, now)).toEqual({ ok: true });
		expect(await acquireDataLock(env, { holder: "erasure-1", kind: "erasure" }, now)).toMatchObject({ ok: false });
		const blocked = await acquireDataLock(env, { holder: "undo-1", kind: "undo" }, now);
		expect(blocked).toMatchObject({ ok: false, blocker: { kind: "backup" } });
		await deleteDataLock(db, "backup-1");
		await deleteDataLock(db, "backup-1b");
		expect(await acquireDataLock(env, { holder: "undo-1", kind: "undo" }, now)).toEqual({ ok: true });
		expect(await acquireDataLock(env, { holder: "erasure-2", kind: "erasure" }, now)).toMatchObject({ ok: false, blocker: { holder: "undo-1" } });
		expect(await holders()).toEqual(["undo-1"]);
	});

	it("is one atomic statement: of 12 writers racing for it, exactly one exclusive holder wins", async () => {
		const now = new Date();
		const results = await Promise.all(
			Array.from({ length: 12 }, (_, i) => acquireDataLock(env, { holder: `undo-race-${i}`, kind: i % 2 ? "undo" : "merge" }, now)),
		);
		expect(results.filter((r) => r.ok)).toHaveLength(1);
		expect(await holders()).toHaveLength(1);
	});

	it("recovers the lock of a restore whose instance is missing past the grace period, not before", async () => {
		await hold("merge", RESTORE_HOLDER, LOCK_GRACE_MS - 30_000);
		expect(await acquireDataLock(env, { holder: "backup-2", kind: "backup" }, new Date())).toMatchObject({ ok: false, blocker: { holder: RESTORE_HOLDER } });
		await db.prepare(`UPDATE data_locks SET acquired_at = ?1`).bind(new Date(Date.now() - LOCK_GRACE_MS - 30_000).toISOString()).run();
		expect(await acquireDataLock(env, { holder: "backup-2", kind: "backup" }, new Date())).toEqual({ ok: true });
		expect(await holders()).toEqual(["backup-2"]);
	});

	it("recovers the lock of a backup whose instance ended without releasing it", async () => {
		const runId = "manual-20261120T020000Z-ended1";
		await using instance = await introspectWorkflowInstance(env.BACKUP_WORKFLOW, runId);
		await env.BACKUP_WORKFLOW.create({ id: runId, params: { trigger: "manual", requestedAt: T0.getTime() } });
		await instance.waitForStatus("complete");
		expect(await holders()).toEqual([]); // the backup released its own lock
		// As if it had ended without releasing it, past the grace period.
		await hold("backup", runId, LOCK_GRACE_MS + 60_000);
		expect(await acquireDataLock(env, { holder: "undo-3", kind: "undo" }, new Date())).toEqual({ ok: true });
		expect(await holders()).toEqual(["undo-3"]);
	});

	it("keeps the lock of a live instance however old, and recovers it once the instance is terminated", async () => {
		// A backup that is alive (sleeping while a merge holds the lock).
		await hold("merge", RESTORE_HOLDER);
		const runId = "manual-20261120T020000Z-alive1";
		await using instance = await introspectWorkflowInstance(env.BACKUP_WORKFLOW, runId);
		await env.BACKUP_WORKFLOW.create({ id: runId, params: { trigger: "manual", requestedAt: T0.getTime() } });
		await instance.waitForStepResult({ name: "acquire data lock 1" });
		await deleteDataLock(db, RESTORE_HOLDER);
		await hold("backup", runId, 3 * 3600_000); // held for hours, by a live instance
		expect(await acquireDataLock(env, { holder: "undo-5", kind: "undo" }, new Date())).toMatchObject({ ok: false, blocker: { holder: runId } });
		await (await env.BACKUP_WORKFLOW.get(runId)).terminate();
		await instance.waitForStatus("terminated");
		expect(await acquireDataLock(env, { holder: "undo-5", kind: "undo" }, new Date())).toEqual({ ok: true });
	});

	it("recovers an erasure's lock after its TTL (the request died), not before", async () => {
		await hold("erasure", "erasure-dead", SHORT_LOCK_TTL_MS - 60_000);
		expect((await acquireDataLock(env, { holder: "undo-4", kind: "undo" }, new Date())).ok).toBe(false);
		await db.prepare(`UPDATE data_locks SET acquired_at = ?1`).bind(new Date(Date.now() - SHORT_LOCK_TTL_MS - 60_000).toISOString()).run();
		expect(await acquireDataLock(env, { holder: "undo-4", kind: "undo" }, new Date())).toEqual({ ok: true });
	});
});

describe("backup × merge, backup × replace", () => {
	for (const mode of ["merge", "replace"] as const) {
		it(`a ${mode} requested while a backup holds the lock: 409 backup_in_progress, nothing recorded`, async () => {
			await seed(db, SUBS);
			const m = await writeSnapshotOfDatabase(bucket, db, T0);
			await hold("backup", BACKUP_HOLDER);
			const res = await api("/api/admin/restore", { method: "POST", json: { snapshotId: m.snapshotId, mode } });
			expect(res.status).toBe(409);
			expect(await errorCode(res)).toBe("backup_in_progress");
			expect(await count(db, `SELECT COUNT(*) AS n FROM restore_runs`)).toBe(0);
			// A dry run reads only: never blocked.
			expect((await runRestore(m.snapshotId, "dry-run")).status).toBe("complete");
		});

		it(`a ${mode} accepted before a backup took the lock waits, then is refused with nothing written`, async () => {
			await seed(db, SUBS);
			const m = await writeSnapshotOfDatabase(bucket, db, T0);
			await db.prepare(`DELETE FROM submissions WHERE id = 'b'`).run();
			const before = await liveDigests(db);
			await hold("backup", BACKUP_HOLDER);
			const run = await startRestore(m.snapshotId, mode);
			expect(run.status).toBe("refused");
			expect(run.error).toContain(`backup ${BACKUP_HOLDER} kept the data locked`);
			expect(run.error).toContain(`for the ${(LOCK_WAIT.restore.attempts - 1) * 1} minutes this restore waited; nothing was written`);
			expect(run.progress.chunksLoaded).toBe(0);
			expect(await liveDigests(db)).toEqual(before);
			expect(await count(db, `SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE 'restore_stage_%'`)).toBe(0);
			expect(await holders()).toEqual([BACKUP_HOLDER]);
		});

		it(`a ${mode} that found the lock held waits (step.sleep) and proceeds once it is free`, async () => {
			await seed(db, SUBS);
			const m = await writeSnapshotOfDatabase(bucket, db, T0);
			await db.prepare(`DELETE FROM submissions WHERE id = 'b'`).run();
			// First attempt: a backup holds the lock (its answer is replayed); the second finds it free.
			const run = await startRestore(m.snapshotId, mode, async (mod) => {
				await mod.mockStepResult({ name: "acquire data lock 1" }, { ok: false, blocker: { holder: BACKUP_HOLDER, kind: "backup", since: T0.toISOString() } });
			});
			expect(run.status).toBe("complete");
			expect(await ids()).toEqual(["a", "b", "c"]);
			expect(await holders()).toEqual([]);
		});
	}

	for (const kind of ["merge", "replace", "undo"] as const) {
		it(`a backup that meets a ${kind} holding the lock waits, then fails with a notice and takes no snapshot`, async () => {
			await seed(db, SUBS);
			await hold(kind, holderOf[kind]);
			const runId = `manual-20261120T020000Z-wait${kind.slice(0, 2)}`;
			await runBackup(runId, { trigger: "manual", requestedAt: T0.getTime() }, async (m) => m.disableSleeps(), "errored");
			const row = await db.prepare(`SELECT status, stage, error, snapshot_id FROM backup_runs WHERE id = ?1`).bind(runId).first<Record<string, string | null>>();
			expect(row).toMatchObject({ status: "failed", stage: "lock", snapshot_id: null });
			expect(row!.error).toContain(`${kind} ${holderOf[kind]} kept the data locked`);
			expect(row!.error).toContain(`${(LOCK_WAIT.backup.attempts - 1) * 5} minutes this backup waited; no snapshot was taken`);
			expect((await bucket.list({ prefix: "snapshots/" })).objects).toEqual([]);
			// Never silent: the failure notice went out.
			expect(await count(db, `SELECT COUNT(*) AS n FROM notification_log WHERE event_type = 'backup_failed' AND run_id = ?1`, runId)).toBeGreaterThan(0);
			expect(await holders()).toEqual([holderOf[kind]]);
		});
	}

	it("the daily backup (cron) that meets a restore is not skipped: its run is queued, saying what it waits for", async () => {
		await seed(db, SUBS);
		await hold("replace", RESTORE_HOLDER);
		const day = Date.parse("2026-11-21T02:00:00.000Z");
		const id = "scheduled-2026-11-21";
		await using instance = await introspectWorkflowInstance(env.BACKUP_WORKFLOW, id);
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: day, cron: "0 2 * * *" }), env, ctx);
		await waitOnExecutionContext(ctx);
		await instance.waitForStepResult({ name: "acquire data lock 1" });
		expect(await db.prepare(`SELECT status, stage FROM backup_runs WHERE id = ?1`).bind(id).first()).toEqual({
			status: "queued",
			stage: `waiting for replace ${RESTORE_HOLDER}`,
		});
		expect((await (await env.BACKUP_WORKFLOW.get(id)).status()).status).not.toMatch(/complete|errored|terminated/);
		expect(await holders()).toEqual([RESTORE_HOLDER]);
		await (await env.BACKUP_WORKFLOW.get(id)).terminate();
	});

	it("a backup that found a restore holding the lock waits and takes its snapshot once it is free", async () => {
		await seed(db, SUBS);
		const runId = "manual-20261120T020000Z-waitok";
		await runBackup(runId, { trigger: "manual", requestedAt: T0.getTime() }, async (m) => {
			await m.disableSleeps();
			await m.mockStepResult({ name: "acquire data lock 1" }, { ok: false, blocker: { holder: RESTORE_HOLDER, kind: "merge", since: T0.toISOString() } });
		});
		const row = await db.prepare(`SELECT status, snapshot_id FROM backup_runs WHERE id = ?1`).bind(runId).first<{ status: string; snapshot_id: string }>();
		expect(row?.status).toBe("complete");
		const manifest = JSON.parse(await (await bucket.get(`snapshots/${row!.snapshot_id}/manifest.json`))!.text()) as Manifest;
		expect(manifest.tables.submissions!.digest).toBe((await liveDigests(db)).submissions);
		expect(await holders()).toEqual([]);
	});

	it("a backup that does not hold the lock at its commit (recovered as stale) writes no manifest", async () => {
		await seed(db, SUBS);
		const runId = "manual-20261120T020000Z-lostlk";
		// The lock step answers "taken" but the row is not there: as if another writer had recovered it.
		await runBackup(runId, { trigger: "manual", requestedAt: T0.getTime() }, async (m) => m.mockStepResult({ name: "acquire data lock 1" }, { ok: true }), "errored");
		const row = await db.prepare(`SELECT status, stage, error FROM backup_runs WHERE id = ?1`).bind(runId).first<Record<string, string>>();
		expect(row).toMatchObject({ status: "failed", stage: "manifest" });
		expect(row!.error).toContain("the data lock was taken from this run");
		const listed = await bucket.list({ prefix: "snapshots/" });
		expect(listed.objects.filter((o) => o.key.endsWith("manifest.json"))).toEqual([]);
	});

	it("a replace whose lock was lost (recovered as stale) cannot swap: live tables untouched, no undo copy", async () => {
		await seed(db, SUBS);
		const before = await liveDigests(db);
		await prepareStaging(db);
		await db.prepare(`INSERT INTO restore_stage_submissions SELECT * FROM submissions WHERE id = 'a'`).run();
		await db
			.prepare(`INSERT INTO restore_runs (id, snapshot_id, mode, status, requested_at) VALUES (?1, 's', 'replace', 'running', ?2)`)
			.bind(RESTORE_HOLDER, new Date().toISOString())
			.run();
		await hold("backup", BACKUP_HOLDER); // what a backup could do once the lock was gone
		await expect(swapInStaging(db, RESTORE_HOLDER, "s", {}, new Date().toISOString())).rejects.toThrow(/NOT NULL/);
		expect(await liveDigests(db)).toEqual(before);
		expect(await count(db, `SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE 'restore_undo_%'`)).toBe(0);
		expect(await count(db, `SELECT COUNT(*) AS n FROM restore_runs WHERE undo_available = 1`)).toBe(0);
	});
});

describe("backup × undo", () => {
	it("undo while a backup holds the lock: 409 backup_in_progress, nothing changed, still undoable", async () => {
		await replaceKeptForUndo();
		const before = await liveDigests(db);
		await hold("backup", BACKUP_HOLDER);
		const res = await api("/api/admin/restore/undo", { method: "POST" });
		expect(res.status).toBe(409);
		expect(await errorCode(res)).toBe("backup_in_progress");
		expect(await liveDigests(db)).toEqual(before);
		await deleteDataLock(db, BACKUP_HOLDER);
		expect((await api("/api/admin/restore/undo", { method: "POST" })).status).toBe(200);
		expect(await ids()).toContain("late");
		expect(await holders()).toEqual([]);
	});
	// The other direction (a backup meeting an undo) is in "backup × merge, backup × replace" above.
});

describe("backup × erasure: excluded (an erasure rewrites roles in place)", () => {
	it("an erasure while a backup holds the lock: 409 backup_in_progress, nothing erased", async () => {
		await seed(db, SUBS);
		await hold("backup", BACKUP_HOLDER);
		const res = await api("/api/admin/erasures", { method: "POST", json: { submissionId: "a" } });
		expect(res.status).toBe(409);
		expect(await errorCode(res)).toBe("backup_in_progress");
		expect(await ids()).toEqual(["a", "b", "c"]);
		expect(await holders()).toEqual([BACKUP_HOLDER]);
	});

	it("a backup that found an erasure holding the lock waits and takes its snapshot once it is free", async () => {
		await seed(db, SUBS);
		const runId = "manual-20261120T020000Z-waiter";
		await runBackup(runId, { trigger: "manual", requestedAt: T0.getTime() }, async (m) => {
			await m.disableSleeps();
			await m.mockStepResult({ name: "acquire data lock 1" }, { ok: false, blocker: { holder: holderOf.erasure, kind: "erasure", since: T0.toISOString() } });
		});
		const row = await db.prepare(`SELECT status FROM backup_runs WHERE id = ?1`).bind(runId).first<{ status: string }>();
		expect(row?.status).toBe("complete");
		expect(await holders()).toEqual([]);
	});
});

describe("merge × replace", () => {
	it("two write restores requested at once: one 202, one 409 restore_in_progress", async () => {
		await seed(db, SUBS);
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		await using introspector = await introspectWorkflow(env.RESTORE_WORKFLOW);
		const responses = await Promise.all(
			(["merge", "replace"] as const).map((mode) => api("/api/admin/restore", { method: "POST", json: { snapshotId: m.snapshotId, mode } })),
		);
		expect(responses.map((r) => r.status).sort()).toEqual([202, 409]);
		expect(await errorCode(responses.find((r) => r.status === 409)!)).toBe("restore_in_progress");
		for (const instance of await introspector.get()) await instance.waitForStatus("complete");
		expect(await holders()).toEqual([]);
	});

	it("a replace that meets a merge's lock (exclusive × exclusive) waits, then is refused with nothing written", async () => {
		await seed(db, SUBS);
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		await db.prepare(`DELETE FROM submissions WHERE id = 'c'`).run();
		const before = await liveDigests(db);
		await hold("merge", RESTORE_HOLDER);
		const run = await startRestore(m.snapshotId, "replace");
		expect(run.status).toBe("refused");
		expect(run.error).toContain(`merge ${RESTORE_HOLDER} kept the data locked`);
		expect(await liveDigests(db)).toEqual(before);
	});
});

describe("restore × undo", () => {
	for (const mode of ["merge", "replace"] as const) {
		it(`undo while a ${mode} holds the lock: 409 restore_in_progress, still undoable afterwards`, async () => {
			await replaceKeptForUndo();
			const before = await liveDigests(db);
			await hold(mode, RESTORE_HOLDER);
			const res = await api("/api/admin/restore/undo", { method: "POST" });
			expect(res.status).toBe(409);
			expect(await errorCode(res)).toBe("restore_in_progress");
			expect(await liveDigests(db)).toEqual(before);
			await deleteDataLock(db, RESTORE_HOLDER);
			expect((await api("/api/admin/restore/undo", { method: "POST" })).status).toBe(200);
		});
	}

	it("a merge that meets an undo's lock waits, then is refused with nothing written", async () => {
		await seed(db, SUBS);
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		await db.prepare(`DELETE FROM submissions WHERE id = 'a'`).run();
		const before = await liveDigests(db);
		await hold("undo", holderOf.undo);
		const run = await startRestore(m.snapshotId, "merge");
		expect(run.status).toBe("refused");
		expect(run.error).toContain(`undo ${holderOf.undo} kept the data locked`);
		expect(await liveDigests(db)).toEqual(before);
	});
});

describe("restore × erasure", () => {
	for (const mode of ["merge", "replace"] as const) {
		it(`an erasure while a ${mode} holds the lock: 409 restore_in_progress, nothing erased`, async () => {
			await seed(db, SUBS);
			await hold(mode, RESTORE_HOLDER);
			const res = await api("/api/admin/erasures", { method: "POST", json: { email: "alice@example.org" } });
			expect(res.status).toBe(409);
			expect(await errorCode(res)).toBe("restore_in_progress");
			expect(await ids()).toEqual(["a", "b", "c"]);
			expect(await count(db, `SELECT COUNT(*) AS n FROM erasures`)).toBe(0);
			expect(await holders()).toEqual([RESTORE_HOLDER]);
		});
	}

	it("a merge that meets an erasure's lock waits, then loads — without the answer that erasure erased", async () => {
		await seed(db, SUBS);
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		// The erasure that held the lock when the merge first asked has committed since.
		expect((await api("/api/admin/erasures", { method: "POST", json: { submissionId: "b" } })).status).toBe(201);
		await db.prepare(`DELETE FROM submissions WHERE id = 'c'`).run();
		const run = await startRestore(m.snapshotId, "merge", async (mod) => {
			await mod.mockStepResult({ name: "acquire data lock 1" }, { ok: false, blocker: { holder: holderOf.erasure, kind: "erasure", since: T0.toISOString() } });
		});
		expect(run.status).toBe("complete");
		expect(await ids()).toEqual(["a", "c"]);
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
		expect(await holders()).toEqual([]);
	});

	it("a replace that meets an erasure's lock waits, then is refused with nothing written", async () => {
		await seed(db, SUBS);
		const m = await writeSnapshotOfDatabase(bucket, db, T0);
		const before = await liveDigests(db);
		await hold("erasure", holderOf.erasure);
		const run = await startRestore(m.snapshotId, "replace");
		expect(run.status).toBe("refused");
		expect(run.error).toContain(`erasure ${holderOf.erasure} kept the data locked`);
		expect(await liveDigests(db)).toEqual(before);
	});
});

describe("undo × erasure, erasure × erasure", () => {
	it("undo while an erasure holds the lock: 409 erasure_in_progress", async () => {
		await replaceKeptForUndo();
		await hold("erasure", holderOf.erasure);
		const res = await api("/api/admin/restore/undo", { method: "POST" });
		expect(res.status).toBe(409);
		expect(await errorCode(res)).toBe("erasure_in_progress");
		expect(await count(db, `SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE 'restore_undo_%'`)).toBe(5);
	});

	it("an erasure while an undo holds the lock: 409 undo_in_progress, nothing erased", async () => {
		await replaceKeptForUndo();
		await hold("undo", holderOf.undo);
		const res = await api("/api/admin/erasures", { method: "POST", json: { submissionId: "late" } });
		expect(res.status).toBe(409);
		expect(await errorCode(res)).toBe("undo_in_progress");
		expect(await count(db, `SELECT COUNT(*) AS n FROM restore_undo_submissions WHERE id = 'late'`)).toBe(1);
	});

	it("two erasures at once: the second answers 409 erasure_in_progress, nothing erased by it", async () => {
		await seed(db, SUBS);
		await hold("erasure", holderOf.erasure);
		const res = await api("/api/admin/erasures", { method: "POST", json: { submissionId: "a" } });
		expect(res.status).toBe(409);
		expect(await errorCode(res)).toBe("erasure_in_progress");
		expect(await ids()).toEqual(["a", "b", "c"]);
		expect(await holders()).toEqual([holderOf.erasure]);
	});
});

describe("the undo clean-up after a backup × undo, × erasure", () => {
	const outcome = { runId: BACKUP_HOLDER, trigger: "manual" as const, status: "complete" as const, startedAt: "2099-01-01T00:00:00.000Z", finishedAt: "2099-01-01T00:00:00.000Z", scheduledTime: "2099-01-01T00:00:00.000Z" };
	for (const kind of ["erasure", "undo"] as const) {
		it(`is skipped while an ${kind} holds the lock (the undo copy stays), and done once it is free`, async () => {
			await replaceKeptForUndo();
			await hold(kind, holderOf[kind]);
			expect(await restoreUndoCleanupHook.run(env, outcome, {})).toEqual({ skipped: `data lock held by ${kind} ${holderOf[kind]}`, released: 0 });
			expect(await count(db, `SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE 'restore_undo_%'`)).toBe(5);
			await deleteDataLock(db, holderOf[kind]);
			expect(await restoreUndoCleanupHook.run(env, outcome, {})).toEqual({ released: 1 });
			expect(await count(db, `SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE 'restore_undo_%'`)).toBe(0);
			expect(await holders()).toEqual([]);
		});
	}
});
