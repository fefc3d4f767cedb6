// Answers posted through the real form while a backup, a merge or a replace runs (real local
// D1/R2/Workflows): not one acknowledged answer (201) is lost. The posts run concurrently with the
// Workflow until it reports its end, so they fall between its steps wherever the scheduler puts
// them; every assertion holds whatever the interleaving (no timing is asserted).
// Backup: every 201 is in D1, and the snapshot is exactly the rows up to its bound.
// Merge: every 201 is in D1 afterwards, counters equal the rows.
// Replace: docs/restore-runbook.md, "Answers arriving during a replace (between staging and swap)
// end up in the kept copy and come back with undo": every 201 is live or in the kept copy, and
// all of them are live after undo.
import { introspectWorkflow, introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { decodeSnapshot, insertSubmissions, resetStorage, snapshotIdOfRun } from "./backup-helpers";
import { clearSnapshots, writeSnapshotOfDatabase } from "./helpers/snapshot";
import { api, expectedCounters, seed, storedCounters, wipe, type SeedSubmission } from "./helpers/restore-snapshot";
import { postJson, validAnswers } from "./helpers/submissions";

const db = env.DB;
const T0 = new Date("2026-11-20T02:00:00Z");

/** Post answers one after another until `finished` resolves; the ids of every 201. */
async function postUntil(finished: Promise<unknown>, tag: string): Promise<{ acked: string[]; sent: number }> {
	let done = false;
	void finished.then(() => (done = true), () => (done = true));
	const acked: string[] = [];
	let sent = 0;
	// At least a few posts even if the Workflow were to finish at once; a cap so a hang cannot loop.
	while ((!done || sent < 3) && sent < 400) {
		const res = await postJson({ answers: validAnswers({ cafe: `${tag} ${sent}`, role: "Serveuse" }) });
		sent++;
		if (res.status === 201) acked.push((await res.json<{ id: string }>()).id);
		else await res.body?.cancel();
	}
	await finished;
	return { acked, sent };
}

async function liveIds(table = "submissions"): Promise<Set<string>> {
	return new Set((await db.prepare(`SELECT id FROM ${table}`).all<{ id: string }>()).results.map((r) => r.id));
}

function subs(n: number, prefix: string): SeedSubmission[] {
	return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i + 1}`, role: i % 2 ? "gerant" : "formateur", day: `2026-11-${String(10 + (i % 5)).padStart(2, "0")}` }));
}

describe("answers posted during a backup", () => {
	beforeEach(resetStorage);

	it("are all in D1 afterwards, and the snapshot holds exactly the rows up to its bound", async () => {
		await insertSubmissions(200);
		const runId = "manual-20261125T020000Z-concur";
		const instance = await introspectWorkflowInstance(env.BACKUP_WORKFLOW, runId);
		try {
			await instance.modify(async (m) => m.disableRetryDelays());
			await env.BACKUP_WORKFLOW.create({ id: runId, params: { trigger: "manual", requestedAt: Date.now(), chunkBytes: 2048 } });
			const { acked, sent } = await postUntil(instance.waitForStatus("complete"), "pendant la sauvegarde");
			expect(sent).toBeGreaterThanOrEqual(3);
			expect(acked.length).toBe(sent);

			const live = await liveIds();
			expect(acked.filter((id) => !live.has(id))).toEqual([]);
			expect(live.size).toBe(200 + acked.length);

			// The snapshot is one consistent state: every row up to its bound, nothing after it.
			const { manifest, records } = await decodeSnapshot(await snapshotIdOfRun(runId));
			const bound = manifest.tables.submissions!.bound!;
			expect(bound).toBeGreaterThanOrEqual(200);
			const upToBound = (await db.prepare(`SELECT * FROM submissions WHERE seq <= ? ORDER BY seq`).bind(bound).all()).results;
			expect(records.filter((r) => r.table === "submissions").map((r) => r.row)).toEqual(upToBound);
		} finally {
			await instance.dispose();
		}
	});
});

describe("answers posted during a restore", () => {
	beforeEach(async () => {
		await wipe(db);
		await clearSnapshots(env.R2_BUCKET);
	});

	/** POST a restore of `snapshotId` and post answers until its Workflow is complete. */
	async function restoreWhilePosting(snapshotId: string, mode: "merge" | "replace", tag: string) {
		await using introspector = await introspectWorkflow(env.RESTORE_WORKFLOW);
		await introspector.modifyAll(async (m) => m.disableRetryDelays());
		const res = await api("/api/admin/restore", { method: "POST", json: { snapshotId, mode } });
		expect(res.status).toBe(202);
		const { id, statusUrl } = await res.json<{ id: string; statusUrl: string }>();
		const instance = await introspectWorkflowInstance(env.RESTORE_WORKFLOW, id);
		try {
			const posted = await postUntil(instance.waitForStatus("complete"), tag);
			const run = await (await api(statusUrl)).json<{ status: string }>();
			expect(run.status).toBe("complete");
			return posted;
		} finally {
			await instance.dispose();
		}
	}

	it("merge: every acknowledged answer is in D1 afterwards, and counters equal the rows", async () => {
		await seed(db, subs(60, "s"));
		const m = await writeSnapshotOfDatabase(env.R2_BUCKET, db, T0, undefined, 4);
		expect(m.chunks.length).toBeGreaterThan(10);
		// Lose half of them, so that the merge has rows to write.
		await db.prepare(`DELETE FROM submissions WHERE CAST(substr(id, 3) AS INTEGER) % 2 = 0`).run();

		const { acked } = await restoreWhilePosting(m.snapshotId, "merge", "pendant la fusion");
		expect(acked.length).toBeGreaterThanOrEqual(3);
		const live = await liveIds();
		expect(acked.filter((id) => !live.has(id))).toEqual([]);
		for (let i = 1; i <= 60; i++) expect(live.has(`s-${i}`), `s-${i}`).toBe(true);
		expect(live.size).toBe(60 + acked.length);
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
	});

	it("replace: every acknowledged answer is live or in the kept copy, and all are live after undo", async () => {
		await seed(db, subs(60, "s"));
		const m = await writeSnapshotOfDatabase(env.R2_BUCKET, db, T0, undefined, 4);
		await seed(db, subs(5, "late"));

		const { acked } = await restoreWhilePosting(m.snapshotId, "replace", "pendant le remplacement");
		expect(acked.length).toBeGreaterThanOrEqual(3);
		const live = await liveIds();
		const kept = await liveIds("restore_undo_submissions");
		expect(acked.filter((id) => !live.has(id) && !kept.has(id))).toEqual([]);
		// The snapshot's rows are live; the late rows (not in the snapshot) are in the kept copy.
		for (let i = 1; i <= 60; i++) expect(live.has(`s-${i}`)).toBe(true);
		for (let i = 1; i <= 5; i++) expect(kept.has(`late-${i}`)).toBe(true);
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));

		const undo = await api("/api/admin/restore/undo", { method: "POST" });
		expect(undo.status).toBe(200);
		const after = await liveIds();
		expect(acked.filter((id) => !after.has(id))).toEqual([]);
		for (let i = 1; i <= 5; i++) expect(after.has(`late-${i}`)).toBe(true);
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
	});
});
