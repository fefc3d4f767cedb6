// A backup run's progress (stage, rows, chunks, elapsed time) and a failure explained in words,
// through the real Workflow and the run status API (GET /api/admin/backups/:id).
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { buildRunProgress, classifyFailure, explainFailure, type RunFacts } from "../src/backup/explain";
import { formatElapsed, formatShortDateTime } from "../src/local-time";
import { renderEvent } from "../src/notify/templates";
import { ADMIN, fetchRunRow, insertMetadata, insertSubmissions, resetStorage, runBackup } from "./backup-helpers";

const T0 = Date.parse("2026-11-25T02:00:00Z");
const T1 = Date.parse("2026-11-26T02:00:00Z");

beforeEach(async () => {
	await resetStorage();
});

type RunBody = {
	status: string;
	stage: string | null;
	rows: number;
	chunks: number;
	error: string | null;
	progress: { stage: string; stageText: { fr: string; en: string }; rows: number; rowsTotal?: number; chunks: number; elapsedSeconds: number };
	explanation: { fr: string; en: string } | null;
};

async function fetchRunBody(id: string): Promise<RunBody> {
	const res = await exports.default.fetch(`http://example.com/api/admin/backups/${id}`, { headers: ADMIN });
	expect(res.status).toBe(200);
	return res.json();
}

describe("backup progress", () => {
	it("a complete run shows the rows and chunks it wrote, against the rows counted at its start", async () => {
		await insertMetadata();
		await insertSubmissions(300);
		const id = "manual-20261125T020000Z-prog01";
		await runBackup(id, { trigger: "manual", requestedAt: T0, chunkBytes: 1024 });
		const row = await fetchRunRow(id);
		const body = await fetchRunBody(id);
		expect(body.status).toBe("complete");
		expect(body.progress.stage).toBe("done");
		expect(body.progress.stageText.fr).toBe("terminée");
		expect(body.progress.chunks).toBeGreaterThan(3);
		expect(body.progress.chunks).toBe(row!.chunks);
		expect(body.progress.rows).toBe(row!.rows);
		// 300 answers + 2 roles + 2 counters + 1 erasure + 1 erased id + 1 audit entry + this run's own row.
		expect(body.progress.rowsTotal).toBe(308);
		expect(body.progress.rows).toBe(308);
		expect(body.progress.elapsedSeconds).toBeGreaterThanOrEqual(0);
		expect(body.explanation).toBeNull();
	});

	it("a running run shows its stage in words, the rows read so far and the time elapsed", async () => {
		const id = "manual-20261125T020000Z-prog02";
		const startedAt = new Date(Date.now() - 30_000).toISOString();
		await env.DB.prepare(
			"INSERT INTO backup_runs (id, trigger, status, stage, started_at, rows, chunks, rows_total) VALUES (?, 'manual', 'running', 'export', ?, 120, 2, 300)",
		)
			.bind(id, startedAt)
			.run();
		const body = await fetchRunBody(id);
		expect(body.progress).toMatchObject({ stage: "export", stageText: { fr: "copie des données", en: "copying the data" }, rows: 120, rowsTotal: 300, chunks: 2 });
		expect(body.progress.elapsedSeconds).toBeGreaterThanOrEqual(30);
		expect(body.explanation).toBeNull();
	});

	it("a run that fails writing to R2 is explained in words, naming the previous good backup by its date", async () => {
		await insertSubmissions(200);
		const good = "manual-20261125T020000Z-good01";
		await runBackup(good, { trigger: "manual", requestedAt: T0 });
		const bad = "manual-20261126T020000Z-fail01";
		await runBackup(
			bad,
			{ trigger: "manual", requestedAt: T1, chunkBytes: 1024 },
			async (m) => {
				await m.mockStepError({ name: "write chunk 2" }, new Error("put: Unspecified error (0)"));
			},
			"errored",
		);
		const row = await fetchRunRow(bad);
		expect(row).toMatchObject({ status: "failed", stage: "export", failed_step: "write chunk 2", chunks: 1 });
		const body = await fetchRunBody(bad);
		// The technical detail stays available; the words come first.
		expect(body.error).toContain("put: Unspecified error (0)");
		expect(body.progress).toMatchObject({ stage: "export", chunks: 1 });
		expect(body.progress.rows).toBeGreaterThan(0);
		const goodRow = await fetchRunRow(good);
		const prevDate = formatShortDateTime(String(goodRow!.started_at), "fr", "Europe/Paris", new Date());
		const failDate = formatShortDateTime(String(row!.started_at), "fr", "Europe/Paris", new Date());
		expect(body.explanation!.fr).toBe(
			`La sauvegarde du ${failDate} n'a pas pu écrire dans le stockage R2. Votre sauvegarde précédente, du ${prevDate}, est intacte. ` +
				"Réessayez avec « Lancer une sauvegarde maintenant » (ou npm run admin -- backup) ; si l'échec se répète, consultez docs/restore-runbook.md et transmettez le détail technique au développeur.",
		);
		expect(body.explanation!.en).toContain("could not write to R2 storage");
		expect(body.explanation!.fr).not.toContain("Unspecified");
		// The dashboard's status shows the same explanation for the last run.
		const status = (await (await exports.default.fetch("http://example.com/api/admin/status", { headers: ADMIN })).json()) as {
			lastRun: { id: string; explanation?: { fr: string } };
		};
		expect(status.lastRun.id).toBe(bad);
		expect(status.lastRun.explanation?.fr).toBe(body.explanation!.fr);
	});

	it("a first backup failing reading D1 says that no backup has succeeded yet", async () => {
		await insertSubmissions(10);
		const id = "manual-20261125T020000Z-fail02";
		await runBackup(
			id,
			{ trigger: "manual", requestedAt: T0 },
			async (m) => {
				await m.mockStepError({ name: "export part 1" }, new Error("D1_ERROR: disk I/O error"));
			},
			"errored",
		);
		const body = await fetchRunBody(id);
		expect(body.status).toBe("failed");
		expect(body.explanation!.fr).toContain("n'a pas pu lire la base de données (D1)");
		expect(body.explanation!.fr).toContain("Aucune sauvegarde n'a encore réussi");
		expect(body.explanation!.en).toContain("No backup has succeeded yet");
	});
});

describe("failure classes and words (pure)", () => {
	const base: RunFacts = {
		status: "failed",
		stage: "export",
		startedAt: "2026-12-03T02:00:00.000Z",
		finishedAt: "2026-12-03T02:01:00.000Z",
		rows: 0,
		chunks: 0,
		rowsTotal: null,
		failedStep: null,
		error: null,
	};
	it.each([
		["export", "write chunk 3", "Error: put: Unspecified error (0)", "storage"],
		["export", "export part 2", "D1_ERROR: network lost", "database"],
		["begin", "begin", "D1_ERROR: too many requests", "database"],
		["verify", "write chunk 1", "verification failed: chunk 1 sha256 differs", "verify"],
		["finish", "finish", "snapshot x is complete and verified in R2, but D1 down", "after-commit"],
		["lock", "acquire data lock 7", "replace r1 kept the data locked (since …) for the 60 minutes this backup waited", "lock-wait"],
		["manifest", "write manifest", "the data lock was taken from this run (judged stale)", "lock-lost"],
		["queued", null, "run ended without recording its outcome (workflow terminated)", "vanished"],
		["begin", null, "something odd", "unknown"],
	] as const)("stage %s, step %s, %s -> %s", (stage, step, error, kind) => {
		expect(classifyFailure(stage, step, error)).toBe(kind);
	});

	it("dates are local (TIMEZONE), with the year only when it is not this year's", () => {
		const now = new Date("2026-12-03T10:00:00Z");
		expect(formatShortDateTime("2026-12-02T22:46:00Z", "fr", "Europe/Paris", now)).toBe("2 déc. à 23\u00a0h\u00a046");
		expect(formatShortDateTime("2026-12-02T22:46:00Z", "en", "Europe/Paris", now)).toBe("2 Dec at 23:46");
		expect(formatShortDateTime("2025-12-02T02:00:00Z", "fr", "Europe/Paris", now)).toBe("2 déc. 2025 à 03\u00a0h\u00a000");
		expect(formatShortDateTime("2026-12-02T22:46:00Z", "fr", "America/New_York", now)).toBe("2 déc. à 17\u00a0h\u00a046");
		expect(formatShortDateTime("not a date", "fr", "Europe/Paris", now)).toBe("not a date");
		expect(formatElapsed(5)).toBe("5\u00a0s");
		expect(formatElapsed(185)).toBe("3\u00a0min\u00a005\u00a0s");
	});

	it("a failure after the commit says the backup is usable, without naming an older one", () => {
		const w = explainFailure({ ...base, stage: "finish", failedStep: "finish", error: "snapshot s is complete and verified in R2, but x" }, { startedAt: "2026-12-02T02:00:00Z" }, "Europe/Paris", new Date("2026-12-03T10:00:00Z"));
		expect(w.fr).toContain("a bien été écrite et vérifiée");
		expect(w.fr).not.toContain("précédente");
	});

	it("the failure e-mail says what could not be done, in words, before the previous good backup", () => {
		const mail = renderEvent(
			{
				type: "backup_failed",
				runId: "manual-20261203T020000Z-abcdef",
				trigger: "manual",
				stage: "export",
				error: "Error: put: Unspecified error (0)",
				attempt: 6,
				failedStep: "write chunk 2",
				at: "2026-12-03T02:00:00.000Z",
				lastGood: { finishedAt: "2026-12-02T02:01:00.000Z", submissions: 120 },
			},
			"fr",
		);
		const cause = mail.text.indexOf("La sauvegarde n'a pas pu écrire dans le stockage R2.");
		expect(cause).toBeGreaterThan(0);
		expect(cause).toBeLessThan(mail.text.indexOf("La dernière sauvegarde réussie"));
		// The raw error is still there, as the technical detail.
		expect(mail.text).toContain("put: Unspecified error (0)");
	});

	it("progress before any count is known has no total, and a queued run reads as waiting", () => {
		const p = buildRunProgress({ ...base, status: "queued", stage: "waiting for replace restore-1", finishedAt: null }, new Date("2026-12-03T02:00:10Z"));
		expect(p).toEqual({
			stage: "waiting for replace restore-1",
			stageText: { fr: "attente de la fin d'une restauration ou d'un effacement", en: "waiting for a restore or an erasure to finish" },
			rows: 0,
			chunks: 0,
			elapsedSeconds: 10,
		});
	});
});
