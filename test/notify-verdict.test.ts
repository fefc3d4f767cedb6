// The verdict at the top of the e-mails (success, failure, no recent backup): the rendering, then
// the messages the local receiving server gets from real backups and from the hourly monitor.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { runHourlyMonitor } from "../src/monitor/hourly";
import { buildVerdict } from "../src/monitor/verdict";
import type { NotifyEvent, Verdict } from "../src/notify/events";
import { formatDateTime, renderEvent } from "../src/notify/templates";
import { decodeSnapshot, insertMetadata, insertSubmissions, resetStorage, runBackup } from "./backup-helpers";
import { envWith, fetchCaptured, uniquePrefix } from "./receiver/client";

type Mail = { subject: string; text: string; html: string };

const H = 3_600_000;

/** The Resend e-mails of the test deployment whose body mentions `needle`. */
async function mailsMentioning(needle: string): Promise<Mail[]> {
	return (await fetchCaptured("/global/resend/emails")).filter((r) => r.body.includes(needle)).map((r) => JSON.parse(r.body) as Mail);
}

const WARNING: Verdict = buildVerdict({
	now: "2026-12-03T10:00:00Z",
	timeZone: "Europe/Paris",
	thresholdHours: 26,
	lastRun: { status: "complete", startedAt: "2026-12-03T02:00:00Z", finishedAt: "2026-12-03T02:01:00Z" },
	newestSnapshot: { finishedAt: "2026-12-03T02:01:00Z" },
	stale: false,
	channels: [],
});

const SUCCEEDED: NotifyEvent = {
	type: "backup_succeeded",
	runId: "scheduled-2026-12-03",
	trigger: "scheduled",
	snapshotId: "2026-12-03T020000Z-abcd",
	startedAt: "2026-12-03T02:00:00Z",
	tables: { submissions: 3 },
	newSubmissions: 1,
	bytes: 2048,
	durationMs: 1200,
	retention: null,
};

describe("the verdict in a rendered message", () => {
	it("comes first: the level in words, each reason with what to do, then the message's own title", () => {
		const m = renderEvent({ ...SUCCEEDED, verdict: WARNING }, "fr");
		expect(m.text).toMatch(
			/^État général : Attention\n- Aucune alerte par e-mail ni webhook n’est configurée : personne ne sera prévenu en cas d’échec\.\n {2}À faire\u202f: Demandez au développeur .*\n\nLa sauvegarde du jeudi 3 décembre 2026 à 3\u00a0h\u00a000 a réussi/,
		);
		// In HTML too, before the title, with the level as data and in words.
		const verdictAt = m.html.indexOf('data-verdict="warning"');
		expect(verdictAt).toBeGreaterThan(0);
		expect(verdictAt).toBeLessThan(m.html.indexOf("<h1"));
		expect(m.html).toContain("État général : Attention");
		// The subject is unchanged.
		expect(m.subject).toBe("[Cafés partenaires] Sauvegarde réussie — jeudi 3 décembre à 3\u00a0h\u00a000");
	});

	it("all well: one line with the newest verified backup's local date; English when asked", () => {
		const ok = buildVerdict({
			now: "2026-12-03T10:00:00Z",
			timeZone: "Europe/Paris",
			thresholdHours: 26,
			lastRun: null,
			newestSnapshot: { finishedAt: "2026-12-03T02:01:00Z" },
			stale: false,
		});
		expect(renderEvent({ ...SUCCEEDED, verdict: ok }, "fr").text.split("\n")[0]).toBe(
			"État général : Tout va bien — Dernière sauvegarde vérifiée : jeudi 3 décembre 2026 à 3\u00a0h\u00a001.",
		);
		expect(renderEvent({ ...SUCCEEDED, verdict: WARNING }, "en").text).toMatch(/^Overall: Attention\n- No e-mail or webhook alert is configured.*\n {2}What to do: Ask/);
	});

	it("without a verdict (not computed), the message starts with its title as before", () => {
		expect(renderEvent(SUCCEEDED, "fr").text.startsWith("La sauvegarde du jeudi 3 décembre 2026")).toBe(true);
		expect(renderEvent(SUCCEEDED, "fr").html).not.toContain("data-verdict");
	});
});

describe("the verdict in e-mails from real runs", () => {
	beforeAll(async () => {
		await resetStorage();
		await insertMetadata();
		await insertSubmissions(3);
	});

	it("a successful backup: « Tout va bien » and the date of the backup just made", async () => {
		const runId = "manual-20261203T020000Z-vrdok";
		await runBackup(runId, { trigger: "manual", requestedAt: Date.parse("2026-12-03T02:00:00Z") });
		const run = await env.DB.prepare("SELECT snapshot_id FROM backup_runs WHERE id = ?").bind(runId).first<{ snapshot_id: string }>();
		const { manifest } = await decodeSnapshot(run!.snapshot_id);
		const [mail, ...more] = await mailsMentioning(run!.snapshot_id);
		expect(more).toEqual([]);
		expect(mail!.text.split("\n")[0]).toBe(
			`État général : Tout va bien — Dernière sauvegarde vérifiée : ${formatDateTime(manifest.finishedAt, "fr", "Europe/Paris")}.`,
		);
		expect(mail!.html).toContain('data-verdict="ok"');
		// The run keeps the verdict hook's result with the others.
		const details = JSON.parse(((await env.DB.prepare("SELECT details FROM backup_runs WHERE id = ?").bind(runId).first()) as { details: string }).details);
		expect(details.hooks.verdict).toMatchObject({ ok: true, result: { level: "ok" } });
	});

	it("a failed backup: « Attention », naming the failed run and the intact backup by their local dates", async () => {
		const runId = "manual-20261203T030000Z-vrdfl";
		await runBackup(
			runId,
			{ trigger: "manual", requestedAt: Date.parse("2026-12-03T03:00:00Z") },
			async (m) => m.mockStepError({ name: "export part 1" }, new Error("put: Unspecified error (0)")),
			"errored",
		);
		const good = await env.DB.prepare("SELECT snapshot_id FROM backup_runs WHERE status = 'complete' ORDER BY snapshot_id DESC LIMIT 1").first<{ snapshot_id: string }>();
		const { manifest } = await decodeSnapshot(good!.snapshot_id);
		const [mail, ...more] = await mailsMentioning(runId);
		expect(more).toEqual([]);
		const lines = mail!.text.split("\n");
		expect(lines[0]).toBe("État général : Attention");
		expect(lines[1]).toBe(
			`- La sauvegarde du jeudi 3 décembre 2026 à 4\u00a0h\u00a000 a échoué ; celle du ${formatDateTime(manifest.finishedAt, "fr", "Europe/Paris")} est intacte et reste utilisable.`,
		);
		expect(lines[2]).toMatch(/^ {2}À faire\u202f: Rien à faire si la prochaine sauvegarde réussit\./);
		// Then the failure notice itself, as before.
		expect(lines[4]).toBe("La sauvegarde du jeudi 3 décembre 2026 à 4\u00a0h\u00a000 a échoué : aucune nouvelle copie des données n’a été faite.");
		expect(lines.slice(0, 3).join("\n")).not.toContain(good!.snapshot_id);
	});

	it("no recent backup (hourly monitor): « Problème » first, with what to do", async () => {
		await resetStorage();
		await env.DB.prepare("DELETE FROM alert_state").run();
		const p = uniquePrefix("stale");
		const e = envWith({ resend: `${p}/resend` });
		const t0 = Date.parse("2026-12-01T02:00:00Z");
		expect((await runHourlyMonitor(e, new Date(t0))).action).toBe("none");
		expect((await runHourlyMonitor(e, new Date(t0 + 27 * H))).action).toBe("send_stale");
		const [req, ...more] = await fetchCaptured(p);
		expect(more).toEqual([]);
		const mail = JSON.parse(req!.body) as Mail;
		const lines = mail.text.split("\n");
		expect(lines[0]).toBe("État général : Problème");
		expect(lines[1]).toBe("- Aucune sauvegarde vérifiée n’existe, plus de 26 heures après la mise en service.");
		expect(lines[2]).toMatch(/^ {2}À faire\u202f: Lancez une sauvegarde depuis le tableau de bord/);
		expect(mail.text).toContain("Aucune sauvegarde vérifiée n’existe (surveillance depuis 27 heures).");
	});
});
