// Every snapshot row is checked against its table before any write (issue 11.2), through the real
// RestoreWorkflow on local D1/R2: the two rows of the reproduction (a seq of 2^63 − 1, answers that
// are not JSON) are named by a dry run, make merge and replace refuse with nothing written, and
// the site keeps working afterwards.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { questionnaire } from "../src/questionnaire/definition";
import type { Row } from "../src/snapshots/format";
import { clearSnapshots, writeSnapshotLines } from "./helpers/snapshot";
import { api, count, liveDigests, runRestore, seed, wipe } from "./helpers/restore-snapshot";
import { postJson, validAnswers } from "./helpers/submissions";

const db = env.DB;
const bucket = env.R2_BUCKET;
const T0 = new Date("2026-11-20T02:00:00Z");

const GOOD_ID = "0b7d8a52-1f6e-4c1a-9d7e-3c2b1a0f9e8d";
const HUGE_SEQ_ID = "7c1e2d3f-4a5b-4c6d-8e7f-901a2b3c4d5e";
const NOT_JSON_ID = "e4f5a6b7-c8d9-4e0f-a1b2-c3d4e5f60718";

function submission(seq: number, id: string, answers: string): Row {
	return {
		seq,
		id,
		received_at: "2026-11-12T10:00:00.000Z",
		questionnaire_version: questionnaire.version,
		role_key: "gerant",
		answers,
		validation: JSON.stringify({ outcome: "accepted" }),
	};
}

const line = (table: string, row: Row) => JSON.stringify({ table, row });
const goodAnswers = JSON.stringify(validAnswers({ role: "Gérant", cafe: "Café des Arts", email: "planted@example.org" }));

/** The reproduction: one good row, a seq of 2^63 − 1 (spelled as no JS number can), answers "not json". */
async function plantReproduction() {
	const huge = line("submissions", submission(777, HUGE_SEQ_ID, goodAnswers)).replace('"seq":777', '"seq":9223372036854775807');
	return writeSnapshotLines(bucket, {
		time: T0,
		chunkRows: 2,
		bounds: { roles: 1, submissions: 3 },
		lines: [
			line("roles", { seq: 1, role_key: "gerant", label: "Gérant", created_at: "2026-11-01T08:00:00.000Z", use_count: 2, last_used_at: "2026-11-12T10:00:00.000Z" }),
			line("submissions", submission(1, GOOD_ID, goodAnswers)),
			huge,
			line("submissions", submission(3, NOT_JSON_ID, "not json")),
		],
	});
}

beforeEach(async () => {
	await wipe(db);
	await clearSnapshots(bucket);
	await seed(db, [{ id: "live-1", role: "barista", day: "2026-11-10", email: "live@example.org" }]);
});

type Rejected = { total: number; rows: { table: string; key: string; chunk: number; line: number; reason: string }[] };

describe("the reproduction of issue 11.2", () => {
	it("a dry run names both rejected rows (table, key, reason), never their content", async () => {
		const m = await plantReproduction();
		const before = await liveDigests(db);
		const run = await runRestore(m.snapshotId, "dry-run");
		expect(run.status).toBe("complete");
		const rejected = (run.report as { rejected?: Rejected }).rejected;
		expect(rejected?.total).toBe(2);
		const byKey = Object.fromEntries(rejected!.rows.map((r) => [r.key, r]));
		expect(byKey[HUGE_SEQ_ID]).toMatchObject({ table: "submissions", chunk: 2, line: 1 });
		expect(byKey[HUGE_SEQ_ID]!.reason).toMatch(/^seq: /);
		expect(byKey[NOT_JSON_ID]).toMatchObject({ table: "submissions", chunk: 2, line: 2 });
		expect(byKey[NOT_JSON_ID]!.reason).toMatch(/^answers: .*not valid JSON/);
		// Ids, positions and reasons only: nothing the rows hold.
		const text = JSON.stringify(run);
		for (const content of ["not json", "Café des Arts", "planted@example.org", "9223372036854775807"]) expect(text).not.toContain(content);
		expect(await liveDigests(db)).toEqual(before);
	});

	for (const mode of ["merge", "replace"] as const) {
		it(`${mode} refuses the snapshot with a clear message and writes nothing`, async () => {
			const m = await plantReproduction();
			const before = await liveDigests(db);
			const run = await runRestore(m.snapshotId, mode);
			expect(run.status).toBe("refused");
			expect(run.error).toContain("2 rows of the snapshot fail their checks");
			expect(run.error).toContain("nothing was written");
			expect(run.progress.chunksLoaded).toBe(0);
			expect((run.report as { rejected?: Rejected } | null)?.rejected?.total).toBe(2);
			expect(await liveDigests(db)).toEqual(before);
			expect(await count(db, `SELECT COUNT(*) AS n FROM sqlite_master WHERE name LIKE 'restore_stage_%' OR name LIKE 'restore_undo_%'`)).toBe(0);

			// The site still works: a new submission, an erasure by e-mail, the listing, the CSV.
			const post = await postJson({ answers: validAnswers() });
			expect(post.status).toBe(201);
			expect((await api("/api/admin/erasures", { method: "POST", json: { email: "live@example.org" } })).status).toBe(201);
			expect((await api("/api/admin/submissions")).status).toBe(200);
			const csv = await api("/api/admin/submissions.csv");
			expect(csv.status).toBe(200);
			expect((await csv.text()).split("\r\n").filter(Boolean)).toHaveLength(2);
		});
	}

	it("without the two bad rows, the same snapshot merges and the site keeps working", async () => {
		const m = await writeSnapshotLines(bucket, {
			time: T0,
			bounds: { submissions: 1 },
			lines: [line("submissions", submission(1, GOOD_ID, goodAnswers))],
		});
		const run = await runRestore(m.snapshotId, "merge");
		expect(run.status).toBe("complete");
		expect((run.report as { rejected?: Rejected }).rejected).toBeUndefined();
		expect(await count(db, `SELECT COUNT(*) AS n FROM submissions WHERE id = ?1`, GOOD_ID)).toBe(1);
		expect((await postJson({ answers: validAnswers() })).status).toBe(201);
	});
});
