// The e-mails an administrator acts on, as the local receiving server gets them (test/receiver/)
// from real backups: a readable local date and time and no ids in the subject, the total of
// answers and what changed in words, the backup still good after a failure, the dashboard link
// (DASHBOARD_URL, else the address of the request that started the run), TIMEZONE, and French
// only: no distinctive word of the English catalogue in a French e-mail.
import { introspectWorkflow } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { sendEvent, type NotifyEvent } from "../src/notify/events";
import { EMAIL_TEXTS, formatDateTime } from "../src/notify/templates";
import { ADMIN, decodeSnapshot, insertMetadata, insertSubmissions, resetStorage, runBackup } from "./backup-helpers";
import { envWith, fetchCaptured, uniquePrefix } from "./receiver/client";

type Mail = { subject: string; text: string; html: string };

/** The Resend e-mails the receiver got from the test deployment whose body mentions `needle`. */
async function mailsMentioning(needle: string): Promise<Mail[]> {
	return (await fetchCaptured("/global/resend/emails"))
		.filter((r) => r.body.includes(needle))
		.map((r) => JSON.parse(r.body) as Mail);
}

/** Every string of a catalogue (functions called with a placeholder), for the word lists below. */
function catalogueStrings(value: unknown): string[] {
	if (typeof value === "string") return [value];
	if (typeof value === "function") return [String((value as (...a: unknown[]) => unknown)("·", "·", "·", (x: number) => String(x)))];
	if (value && typeof value === "object") return Object.values(value).flatMap(catalogueStrings);
	return [];
}

const words = (texts: string[]) => new Set(texts.flatMap((t) => t.toLowerCase().match(/\p{L}{3,}/gu) ?? []));

/** Words of the English e-mail catalogue that the French one never uses ("backup", "failed", "answers"…). */
const FRENCH_WORDS = words(catalogueStrings(EMAIL_TEXTS.fr));
const ENGLISH_ONLY = [...words(catalogueStrings(EMAIL_TEXTS.en))].filter((w) => !FRENCH_WORDS.has(w));

/**
 * The distinctive English words in a message, leaving out the lines that quote technical values
 * as they are (the error for the developer, the run or snapshot reference, the address).
 */
function englishWordsIn(text: string): string[] {
	const t = EMAIL_TEXTS.fr;
	const kept = text
		.split("\n")
		.filter((line) => !line.startsWith(t.technical) && !line.startsWith(t.reference))
		.join("\n")
		.replace(/https?:\/\/\S+/g, "");
	const found = words([kept]);
	return ENGLISH_ONLY.filter((w) => found.has(w));
}

beforeAll(async () => {
	await resetStorage();
	await insertMetadata();
	await insertSubmissions(5);
});

describe("the word lists the French check relies on", () => {
	it("hold the English catalogue's own words, and find them in an English e-mail", async () => {
		for (const w of ["backup", "failed", "answers", "dashboard", "succeeded"]) expect(ENGLISH_ONLY, w).toContain(w);
		expect(ENGLISH_ONLY).not.toContain("cloudflare");
		const p = uniquePrefix("en");
		await sendEvent(envWith({ resend: `${p}/resend`, extra: { LOCALE: "en" } }), { type: "backup_stale", ageHours: 30, thresholdHours: 26, newest: null }, new Date());
		const [req] = await fetchCaptured(p);
		expect(englishWordsIn((JSON.parse(req!.body) as Mail).text).length).toBeGreaterThan(3);
	});
});

describe("backup e-mails, from real backups", () => {
	it("a backup started from the dashboard: local date, total, what changed in words, this deployment's dashboard", async () => {
		await runBackup("scheduled-2026-11-24", { trigger: "scheduled", requestedAt: Date.parse("2026-11-24T02:00:00Z") });
		await insertSubmissions(2, 6);
		await env.DB.prepare("INSERT INTO roles (role_key, label, created_at, use_count) VALUES ('plongeur', 'Plongeur', '2026-11-24T10:00:00Z', 0)").run();
		const introspector = await introspectWorkflow(env.BACKUP_WORKFLOW);
		let runId: string;
		try {
			await introspector.modifyAll(async (m) => m.disableRetryDelays());
			const res = await exports.default.fetch("https://questionnaire.example.org/api/admin/backups", { method: "POST", headers: ADMIN });
			expect(res.status).toBe(202);
			runId = ((await res.json()) as { id: string }).id;
			for (const instance of await introspector.get()) await instance.waitForStatus("complete");
		} finally {
			await introspector.dispose();
		}
		const run = await env.DB.prepare("SELECT snapshot_id, started_at FROM backup_runs WHERE id = ?").bind(runId).first<{ snapshot_id: string; started_at: string }>();
		const [mail, ...more] = await mailsMentioning(run!.snapshot_id);
		expect(more).toEqual([]);
		expect(mail!.subject).toBe(`[Cafés partenaires] Sauvegarde réussie — ${formatDateTime(run!.started_at, "fr", "Europe/Paris", false)}`);
		expect(mail!.subject).not.toContain(run!.snapshot_id);
		expect(mail!.text).toContain(`La sauvegarde du ${formatDateTime(run!.started_at, "fr", "Europe/Paris")} a réussi et a été vérifiée.`);
		expect(mail!.text).toContain("Réponses enregistrées\u202f: 7\n");
		expect(mail!.text).toContain("Depuis la sauvegarde précédente\u202f: 2 nouvelles réponses, 1 nouveau rôle\n");
		expect(mail!.text).toContain("Origine\u202f: manuelle");
		// No DASHBOARD_URL in the test deployment: the address of the request that started the run.
		expect(mail!.text).toContain("Ouvrir le tableau de bord\u202f: https://questionnaire.example.org/admin/");
		expect(mail!.html).toContain('<a href="https://questionnaire.example.org/admin/"');
		expect(mail!.text).not.toMatch(/audit_log|backup_runs|counters|erased_submissions|instantané/);
		expect(englishWordsIn(mail!.text)).toEqual([]);
		expect(englishWordsIn(mail!.subject)).toEqual([]);
	});

	it("a failed backup: its date, the step in words, what to do, and the backup that is still good", async () => {
		// A run id no other test file uses: the receiver is shared by all of them.
		const runId = "manual-20261126T020000Z-mailfl";
		await runBackup(
			runId,
			{ trigger: "manual", requestedAt: Date.parse("2026-11-26T02:00:00Z") },
			async (m) => m.mockStepError({ name: "export part 1" }, new Error("put: Unspecified error (0)")),
			"errored",
		);
		const [mail, ...more] = await mailsMentioning(runId);
		expect(more).toEqual([]);
		expect(mail!.subject).toBe("[Cafés partenaires] ÉCHEC de la sauvegarde du jeudi 26 novembre à 3\u00a0h\u00a000");
		// The newest backup that succeeded is the one of the test above (7 answers), at its local time.
		const good = await env.DB.prepare("SELECT snapshot_id FROM backup_runs WHERE status = 'complete' ORDER BY snapshot_id DESC LIMIT 1").first<{ snapshot_id: string }>();
		const { manifest } = await decodeSnapshot(good!.snapshot_id);
		expect(mail!.text).toContain(
			`La dernière sauvegarde réussie, celle du ${formatDateTime(manifest.finishedAt, "fr", "Europe/Paris")} (7 réponses), n’est pas touchée par cet échec et reste utilisable.`,
		);
		expect(mail!.text).toContain("Étape en échec\u202f: copie des données");
		expect(mail!.text).toContain("Que faire ? Si la prochaine sauvegarde automatique réussit, rien n’est à faire.");
		expect(mail!.text).toContain("Origine\u202f: manuelle");
		// Started without a request (no origin), and the test deployment has no DASHBOARD_URL: no link.
		expect(mail!.text).not.toContain("Ouvrir le tableau de bord");
		expect(englishWordsIn(mail!.text)).toEqual([]);
		expect(englishWordsIn(mail!.subject)).toEqual([]);
	});
});

describe("DASHBOARD_URL and TIMEZONE", () => {
	it("link the configured dashboard and show the configured time zone", async () => {
		const p = uniquePrefix("tz");
		const event: NotifyEvent = { type: "backup_failed", runId: "scheduled-2026-07-15", trigger: "scheduled", stage: "start", error: "x", attempt: 1, at: "2026-07-15T02:00:00Z" };
		const mailEnv = envWith({ resend: `${p}/resend`, extra: { DASHBOARD_URL: "https://admin.cap-formations.test/admin/", TIMEZONE: "America/Toronto" } });
		await sendEvent(mailEnv, event, new Date("2026-07-15T02:01:00Z"), { origin: "https://ignored.example" });
		const mail = JSON.parse((await fetchCaptured(p))[0]!.body) as Mail;
		expect(mail.subject).toBe("[Cafés partenaires] ÉCHEC de la sauvegarde du mardi 14 juillet à 22\u00a0h\u00a000");
		expect(mail.text).toContain("Ouvrir le tableau de bord\u202f: https://admin.cap-formations.test/admin/");
		expect(mail.text).not.toContain("ignored.example");
		expect(mail.text).toContain("Heures indiquées : heure de l’Est nord-américain.");
	});

	it("a bad TIMEZONE is a configuration error naming the variable", async () => {
		const res = await exports.default.fetch("http://example.com/api/health");
		expect(res.status).toBe(200);
		const { parseConfig } = await import("../src/config");
		expect(() => parseConfig({ ...env, TIMEZONE: "Europe/Nowhere" })).toThrow(/TIMEZONE must be an IANA time zone/);
		expect(() => parseConfig({ ...env, DASHBOARD_URL: "not a url" })).toThrow(/DASHBOARD_URL/);
		expect(parseConfig({ ...env }).TIMEZONE).toBe("Europe/Paris");
	});
});
