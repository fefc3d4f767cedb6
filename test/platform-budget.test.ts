// The platform budget (issue 10 item 6): usage counted by the app itself on real local D1/R2
// (a submission's rows, a backup's R2 operations and steps), the pure report (80 % warnings, Paid
// without daily limits), the status's `platform` object, and a write restore refused when it
// cannot finish within today's D1 write limit — with nothing written.
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { fetchUsageFigures } from "../src/db/platform-usage";
import { PLAN_LIMITS } from "../src/platform/plans";
import {
	CRON_TRIGGERS_USED,
	boundRestoreWrites,
	buildRestoreBudget,
	describeRestoreBudget,
	estimateRestoreWrites,
	platformReport,
	type PlatformUsage,
} from "../src/platform/budget";
import { meterD1 } from "../src/db/metered";
import { UsageMeter, usageDay } from "../src/platform/usage-meter";
import { ADMIN, insertSubmissions, resetStorage, runBackup } from "./backup-helpers";
import { clearSnapshots, writeSnapshotOfDatabase } from "./helpers/snapshot";
import { api, count, runRestore, seed, wipe, type SeedSubmission } from "./helpers/restore-snapshot";
import { postJson, uniqueIp, validAnswers } from "./helpers/submissions";

const db = env.DB;
const today = () => usageDay(new Date());
const usage = () => fetchUsageFigures(db, today());

async function clearUsage(): Promise<void> {
	await db.prepare("DELETE FROM platform_usage").run();
}

async function seedWrittenToday(rows: number): Promise<void> {
	await db.prepare("INSERT INTO platform_usage (day, d1_rows_written) VALUES (?1, ?2)").bind(today(), rows).run();
}

const NONE: PlatformUsage = {
	d1RowsReadToday: 0,
	d1RowsWrittenToday: 0,
	r2ClassAMonth: 0,
	r2ClassBMonth: 0,
	d1SizeBytes: 0,
	backupSteps: 0,
	verifySteps: 0,
	r2BytesStored: 0,
	cronTriggers: 1,
};

function subs(n: number, prefix = "p"): SeedSubmission[] {
	return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i + 1}`, role: ["formateur", "gerant"][i % 2]!, day: "2026-11-10" }));
}

describe("platformReport (pure)", () => {
	it("warns above 80 % of each limit, not at it, and says what to do", () => {
		const r = platformReport("free", { ...NONE, d1RowsWrittenToday: 80_000, d1RowsReadToday: 4_000_001, verifySteps: 1000, r2ClassAMonth: 10 });
		const byKey = Object.fromEntries(r.figures.map((f) => [f.key, f]));
		expect(byKey.d1RowsWrittenToday).toMatchObject({ value: 80_000, limit: 100_000, percent: 80, warning: false });
		expect(byKey.d1RowsReadToday).toMatchObject({ limit: 5_000_000, percent: 80, warning: true });
		expect(byKey.verifySteps).toMatchObject({ limit: 1024, percent: 97.7, warning: true });
		expect(byKey.r2ClassAMonth).toMatchObject({ limit: 1_000_000, percent: 0, warning: false });
		expect(byKey.cronTriggers).toMatchObject({ value: 1, limit: 5, percent: 20, warning: false });
		expect(r.warnings.map((w) => w.key)).toEqual(["verifySteps", "d1RowsReadToday"]);
		expect(r.warnings[0]!.message.fr).toMatch(/^Étapes de la dernière vérification \(par instance\) : 97,7 % de la limite — .*VERIFY_SAMPLE/);
		expect(r.warnings[1]!.message.en).toMatch(/80% of the limit — beyond it the database refuses reads until 00:00 UTC/);
		expect(r.limits).toMatchObject({ d1RowsWrittenPerDay: 100_000, stepsPerInstance: 1024, cronTriggers: 5, r2StorageBytes: 10 * 1024 ** 3 });
	});

	it("the empty case: every figure at zero, no warning", () => {
		const r = platformReport("free", { ...NONE, cronTriggers: 0 });
		expect(r.figures).toHaveLength(9);
		expect(r.figures.every((f) => f.value === 0 && f.percent === 0 && !f.warning)).toBe(true);
		expect(r.warnings).toEqual([]);
	});

	it("Paid has no daily D1 limits: those figures have no limit, no percent and never warn", () => {
		const r = platformReport("paid", { ...NONE, d1RowsWrittenToday: 10_000_000, d1RowsReadToday: 1e9, backupSteps: 1000 });
		const byKey = Object.fromEntries(r.figures.map((f) => [f.key, f]));
		expect(byKey.d1RowsWrittenToday).toMatchObject({ limit: null, percent: null, warning: false });
		expect(byKey.d1RowsReadToday).toMatchObject({ limit: null, percent: null, warning: false });
		expect(byKey.backupSteps).toMatchObject({ limit: 10_000, percent: 10, warning: false });
		expect(r.warnings).toEqual([]);
	});

	it("the app's cron triggers are the ones wrangler.jsonc declares", () => {
		expect(JSON.parse(env.TEST_WRANGLER_CRONS)).toHaveLength(CRON_TRIGGERS_USED);
	});
});

describe("restore write budget (pure)", () => {
	const writes = estimateRestoreWrites(
		{ submissions: { inSnapshot: 30_000, added: 1_000, skippedErased: 10 }, counters: { inSnapshot: 20, added: 0, skippedErased: 0 } },
		10,
	);
	const now = new Date("2026-12-03T10:00:00Z");

	it("a merge writes only the missing rows, a replace every row", () => {
		expect(writes.merge).toBeLessThan(writes.replace);
		expect(writes.merge).toBeGreaterThanOrEqual(1_000 * 5);
		expect(writes.replace).toBeGreaterThanOrEqual(29_990 * 5);
		expect(boundRestoreWrites({ rows: 1_000 }, 2).merge).toBe(boundRestoreWrites({ rows: 1_000 }, 2).replace);
	});

	it("fits: no message; over what is left today: refused, wait for 00:00 UTC, or merge instead", () => {
		expect(buildRestoreBudget("free", writes, 0, now)).toMatchObject({ dailyLimit: 100_000, merge: { fits: true }, replace: { fits: false } });
		const b = buildRestoreBudget("free", { merge: 5_000, replace: 90_000 }, 20_000, now);
		expect(b).toMatchObject({ day: "2026-12-03", writtenToday: 20_000, resetsAt: "2026-12-04T00:00:00.000Z", merge: { rows: 5_000, fits: true }, replace: { rows: 90_000, fits: false } });
		expect(b.message!.fr).toMatch(/Un remplacement écrirait jusqu'à 90\s000 lignes.*100\s000 par jour.*20\s000 ont déjà été écrites.*il en reste 80\s000.*après minuit UTC.*Une fusion.*tient dans le budget/);
		expect(b.message!.en).toMatch(/A replace would write up to 90,000 rows.*Start it again after 00:00 UTC.*A merge.*fits today's budget/);
		expect(buildRestoreBudget("free", { merge: 5_000, replace: 90_000 }, 0, now).message).toBeNull();
		// The refusal of a replace points to the merge that fits; the refusal of a merge does not.
		expect(describeRestoreBudget(b, "replace").en).toMatch(/^A replace would write .*A merge, which only adds the missing rows \(5,000\), fits today's budget\.$/);
		const both = buildRestoreBudget("free", { merge: 85_000, replace: 90_000 }, 20_000, now);
		expect(describeRestoreBudget(both, "merge").en).toMatch(/^A merge would write up to 85,000 rows.*Start it again after 00:00 UTC[^]*$/);
		expect(describeRestoreBudget(both, "merge").en).not.toMatch(/A replace/);
	});

	it("larger than a whole day: Paid or a fresh database; on Paid nothing is ever refused", () => {
		const b = buildRestoreBudget("free", { merge: 150_000, replace: 300_000 }, 0, now);
		expect(b.merge.fits || b.replace.fits).toBe(false);
		expect(b.message!.fr).toMatch(/offre payante.*CLOUDFLARE_PLAN=paid.*docs\/restore-runbook\.md/);
		expect(b.message!.fr).not.toMatch(/Une fusion, qui/);
		const paid = buildRestoreBudget("paid", { merge: 1e9, replace: 1e9 }, 1e9, now);
		expect(paid).toMatchObject({ dailyLimit: null, merge: { fits: true }, replace: { fits: true }, message: null });
	});
});

describe("usage accounting (real local D1 and R2)", () => {
	beforeEach(async () => {
		await resetStorage();
		await clearUsage();
	});

	it("the D1 meter adds each statement's and each batch's meta, and first() keeps its meaning", async () => {
		const meter = new UsageMeter();
		const metered = meterD1(db, meter);
		await metered.prepare("INSERT INTO audit_log (at, action, detail) VALUES ('2026-12-03T00:00:00Z', 'meter-test', '{}')").run();
		await metered.batch([metered.prepare("SELECT 1"), metered.prepare("SELECT COUNT(*) AS n FROM audit_log")]);
		expect(await metered.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = ?").bind("meter-test").first("n")).toBe(1);
		expect(await metered.prepare("SELECT action FROM audit_log WHERE action = 'none'").first()).toBeNull();
		await expect(metered.prepare("SELECT 1 AS one").first("two")).rejects.toThrow(/Column not found/);
		const delta = meter.take();
		expect(delta!.d1RowsWritten).toBeGreaterThanOrEqual(1);
		expect(delta!.d1RowsRead).toBeGreaterThanOrEqual(2);
		expect(delta!.d1SizeBytes).toBeGreaterThan(0);
		// Taken: nothing left, so a quiet invocation writes nothing.
		expect(meter.take()).toBeNull();
	});

	it("a submission increases today's rows written (by at least its own rows), once per request", async () => {
		const before = await usage();
		const res = await postJson({ answers: validAnswers() }, { ip: uniqueIp() });
		expect(res.status).toBe(201);
		const after = await usage();
		// The submission, its counters, its role… plus the accounting's own row.
		expect(after.d1RowsWrittenToday - before.d1RowsWrittenToday).toBeGreaterThanOrEqual(4);
		expect(after.d1RowsReadToday).toBeGreaterThan(0);
		expect(await count(db, "SELECT COUNT(*) AS n FROM platform_usage")).toBe(1);
		const second = await postJson({ answers: validAnswers() }, { ip: uniqueIp() });
		expect(second.status).toBe(201);
		expect((await usage()).d1RowsWrittenToday).toBeGreaterThan(after.d1RowsWrittenToday);
	});

	it("a refused submission (bad input) writes no data row: only the reads it made are counted", async () => {
		const res = await postJson({ nonsense: true }, { ip: uniqueIp() });
		expect(res.status).toBe(400);
		const u = await usage();
		expect(await count(db, "SELECT COUNT(*) AS n FROM submissions")).toBe(0);
		// At most the accounting's own row (a refusal may read nothing at all: then nothing is written).
		expect(u.d1RowsWrittenToday).toBeLessThanOrEqual(1);
	});

	it("a backup adds R2 Class A operations (chunks, manifest, listings), Class B reads, and its steps", async () => {
		await insertSubmissions(30);
		await runBackup("manual-20261203T020000Z-platfm", { trigger: "manual", requestedAt: Date.parse("2026-12-03T02:00:00Z"), chunkBytes: 1024 });
		const u = await usage();
		const objects = (await env.R2_BUCKET.list({ prefix: "snapshots/" })).objects.length;
		expect(objects).toBeGreaterThanOrEqual(2);
		// Every object written is one put at least (plus listings of garbage collection, retention…).
		expect(u.r2ClassAMonth).toBeGreaterThanOrEqual(objects);
		// Every chunk and the manifest are read back.
		expect(u.r2ClassBMonth).toBeGreaterThanOrEqual(objects);
		expect(u.backupSteps).toBeGreaterThanOrEqual(objects + 2);
		expect(u.d1RowsReadToday).toBeGreaterThanOrEqual(30);
	});
});

describe("GET /api/admin/status: platform", () => {
	beforeEach(async () => {
		await resetStorage();
		await clearUsage();
		await clearSnapshots(env.R2_BUCKET);
	});

	it("states the plan, its limits and each figure, with a warning above 80 %", async () => {
		await seedWrittenToday(85_000);
		const res = await exports.default.fetch("http://example.com/api/admin/status", { headers: ADMIN });
		expect(res.status).toBe(200);
		const { platform } = await res.json<{ platform: any }>();
		expect(platform.plan).toBe("free");
		expect(platform.limits).toMatchObject({ d1RowsWrittenPerDay: PLAN_LIMITS.free.d1RowsWrittenPerDay, stepsPerInstance: 1024 });
		expect(platform.figures.map((f: any) => f.key)).toEqual([
			"backupSteps",
			"verifySteps",
			"d1RowsReadToday",
			"d1RowsWrittenToday",
			"d1SizeBytes",
			"r2BytesStored",
			"r2ClassAMonth",
			"r2ClassBMonth",
			"cronTriggers",
		]);
		const written = platform.figures.find((f: any) => f.key === "d1RowsWrittenToday");
		expect(written.value).toBeGreaterThanOrEqual(85_000);
		expect(written).toMatchObject({ limit: 100_000, warning: true });
		expect(platform.warnings).toEqual([{ key: "d1RowsWrittenToday", message: { fr: expect.stringMatching(/refuse les écritures/), en: expect.any(String) } }]);
	});

	it("the empty case: nothing counted yet, no warning", async () => {
		const res = await exports.default.fetch("http://example.com/api/admin/status", { headers: ADMIN });
		const { platform } = await res.json<{ platform: any }>();
		expect(platform.warnings).toEqual([]);
		expect(platform.figures.find((f: any) => f.key === "r2BytesStored").value).toBe(0);
		expect(platform.figures.find((f: any) => f.key === "cronTriggers").value).toBe(1);
	});
});

describe("restore and the daily write limit", () => {
	const T0 = new Date("2026-11-20T02:00:00Z");

	beforeEach(async () => {
		await wipe(db);
		await clearSnapshots(env.R2_BUCKET);
		await clearUsage();
	});

	it("the dry run states the rows a merge and a replace would write; within budget, no message", async () => {
		await seed(db, subs(10));
		const m = await writeSnapshotOfDatabase(env.R2_BUCKET, db, T0, undefined, 5);
		const run = await runRestore(m.snapshotId, "dry-run");
		expect(run.status).toBe("complete");
		const budget = (run.report as any).budget;
		expect(budget).toMatchObject({ plan: "free", dailyLimit: 100_000, merge: { fits: true }, replace: { fits: true }, message: null });
		// Nothing is missing: a merge writes only bookkeeping; a replace reloads every row.
		expect(budget.merge.rows).toBeLessThan(budget.replace.rows);
		expect(budget.replace.rows).toBeGreaterThanOrEqual(10 * 5);
	});

	it("near the limit: the dry run says a write restore would be refused, and a merge is refused with nothing written", async () => {
		await seed(db, subs(10));
		const m = await writeSnapshotOfDatabase(env.R2_BUCKET, db, T0, undefined, 5);
		await db.prepare("DELETE FROM submissions WHERE id IN ('p-1', 'p-2')").run();
		await seedWrittenToday(99_990);

		const dry = await runRestore(m.snapshotId, "dry-run");
		const budget = (dry.report as any).budget;
		expect(budget.writtenToday).toBeGreaterThanOrEqual(99_990);
		expect(budget).toMatchObject({ merge: { fits: false }, replace: { fits: false } });
		expect(budget.message.fr).toMatch(/Une fusion écrirait jusqu'à .* lignes.*serait refusée.*après minuit UTC/);

		const runsBefore = await count(db, "SELECT COUNT(*) AS n FROM restore_runs");
		const liveBefore = await count(db, "SELECT COUNT(*) AS n FROM submissions");
		for (const mode of ["merge", "replace"]) {
			const res = await api("/api/admin/restore", { method: "POST", json: { snapshotId: m.snapshotId, mode } });
			expect(res.status).toBe(409);
			const body = await res.json<{ error: { code: string; message: string } }>();
			expect(body.error.code).toBe("daily_write_limit");
			expect(body.error.message).toMatch(/would write up to .* rows.*Free plan allows 100,000 a day.*00:00 UTC/);
		}
		expect(await count(db, "SELECT COUNT(*) AS n FROM restore_runs")).toBe(runsBefore);
		expect(await count(db, "SELECT COUNT(*) AS n FROM submissions")).toBe(liveBefore);
		expect(await count(db, "SELECT COUNT(*) AS n FROM data_locks")).toBe(0);
	});

	it("the dry run's estimate holds: a real merge and a real replace write no more than it said", async () => {
		await seed(db, subs(40));
		const m = await writeSnapshotOfDatabase(env.R2_BUCKET, db, T0, undefined, 9);
		await wipe(db);
		const dry = await runRestore(m.snapshotId, "dry-run");
		const budget = (dry.report as any).budget;

		const beforeMerge = (await usage()).d1RowsWrittenToday;
		expect((await runRestore(m.snapshotId, "merge")).status).toBe("complete");
		const merged = (await usage()).d1RowsWrittenToday - beforeMerge;
		expect(merged).toBeGreaterThan(40);
		expect(merged).toBeLessThanOrEqual(budget.merge.rows);

		const beforeReplace = (await usage()).d1RowsWrittenToday;
		expect((await runRestore(m.snapshotId, "replace")).status).toBe("complete");
		const replaced = (await usage()).d1RowsWrittenToday - beforeReplace;
		expect(replaced).toBeGreaterThan(40);
		expect(replaced).toBeLessThanOrEqual(budget.replace.rows);
	});
});
