// Pure rendering: French and English, every event type, local dates, what changed in words, the
// dashboard link, formatters, HTML escaping, MIME builder.
import { describe, expect, it } from "vitest";
import type { NotifyEvent } from "../src/notify/events";
import { buildMimeMessage, encodeHeaderWord } from "../src/notify/mime";
import { describeChanges, escapeHtml, formatBytes, formatCount, formatDuration, renderEvent } from "../src/notify/templates";

const ok: NotifyEvent = {
	type: "backup_succeeded",
	runId: "scheduled-2026-11-25",
	trigger: "scheduled",
	snapshotId: "2026-11-25T020000Z-abc",
	startedAt: "2026-11-25T02:00:00Z",
	tables: { submissions: 1234, roles: 9, counters: 40, erasures: 1, erased_submissions: 1, audit_log: 3, backup_runs: 12 },
	previousTables: { submissions: 1222, roles: 8, counters: 38, erasures: 1, erased_submissions: 1, audit_log: 2, backup_runs: 11 },
	newSubmissions: 12,
	bytes: 1_572_864,
	durationMs: 125_000,
	retention: { kept: 30, removed: 1, frozen: false },
};
const failed: NotifyEvent = {
	type: "backup_failed",
	runId: "manual-20261125T020000Z-x1y2z3",
	trigger: "manual",
	stage: "verify",
	error: "checksum mismatch chunk 3",
	attempt: 2,
	at: "2026-11-25T02:00:00Z",
	lastGood: { finishedAt: "2026-11-24T02:01:30Z", submissions: 1222 },
};

const events: NotifyEvent[] = [
	ok,
	failed,
	{ type: "backup_stale", ageHours: 27, thresholdHours: 26, newest: { snapshotId: "2026-11-24T020000Z-x", finishedAt: "2026-11-24T02:01:00Z" } },
	{ type: "backup_stale", ageHours: 30, thresholdHours: 26, newest: null },
	{ type: "backup_recovered", ageHours: 1, thresholdHours: 26, newest: { snapshotId: "2026-11-26T020000Z-y", finishedAt: "2026-11-26T02:01:00Z" }, staleSince: "2026-11-25T05:00:00Z" },
	{ type: "weekly_report", runId: "w1", snapshotsChecked: 5, snapshotsOk: 4, corrupt: [{ snapshotId: "2026-11-20T020000Z-z", chunk: "snapshots/2026-11-20T020000Z-z/chunk-000002.ndjson.gz", reason: "sha256 mismatch" }], drill: { ok: true, snapshotId: "2026-11-25T020000Z-abc", rows: 1243, durationMs: 900, error: null }, counts: { snapshots: 40, totalBytes: 10_000_000, submissions: 1234 } },
	{ type: "retention_frozen", runId: "r3", reason: "submissions_drop", dropPct: 42.4, previousSnapshotId: "2026-11-24T020000Z-a", snapshotId: "2026-11-25T020000Z-b" },
	{ type: "verification_failed", runId: "w2", snapshotId: "2026-11-20T020000Z-z", chunk: null, reason: "manifest sha256 mismatch" },
	{ type: "replication_failed", runId: "r4", snapshotId: "2026-11-25T020000Z-abc", error: "put: 403 Forbidden" },
];

const PARIS = { timeZone: "Europe/Paris", dashboardUrl: "https://questionnaire.example.org/admin/" };

describe("renderEvent", () => {
	it.each(events.map((e) => [e.type, e] as const))("%s renders in both languages without holes, ids or table names in the subject", (_t, event) => {
		for (const locale of ["fr", "en"] as const) {
			const m = renderEvent(event, locale, PARIS);
			for (const s of [m.subject, m.text, m.html]) expect(s).not.toMatch(/undefined|NaN|\[object|null/);
			expect(m.subject.startsWith("[Cafés partenaires] ")).toBe(true);
			// No run or snapshot id, no stage code, no UTC time in the subject.
			expect(m.subject).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{6}Z|scheduled-|manual-|r\d\b|w\d\b|UTC|\(verify\)/);
			expect(m.html).toContain(`<html lang="${locale}">`);
			// The dashboard link, in the text and as a link in the HTML.
			expect(m.text).toContain("https://questionnaire.example.org/admin/");
			expect(m.html).toContain('<a href="https://questionnaire.example.org/admin/"');
			// Internal tables are never named.
			for (const internal of ["audit_log", "backup_runs", "counters", "erased_submissions", "submissions"]) {
				expect(m.text, internal).not.toMatch(new RegExp(`\\b${internal}\\b`));
			}
		}
		expect(renderEvent(event, "fr").text).not.toBe(renderEvent(event, "en").text);
	});

	it("a success: local date and time in the subject and the body, the total, what changed in words, the dashboard", () => {
		const m = renderEvent(ok, "fr", PARIS);
		expect(m.subject).toBe("[Cafés partenaires] Sauvegarde réussie — mercredi 25 novembre à 3\u00a0h\u00a000");
		expect(m.text).toContain("La sauvegarde du mercredi 25 novembre 2026 à 3\u00a0h\u00a000 a réussi et a été vérifiée.");
		expect(m.text).toContain("Réponses enregistrées\u202f: 1\u202f234");
		expect(m.text).toContain("Depuis la sauvegarde précédente\u202f: 12 nouvelles réponses, 1 nouveau rôle");
		expect(m.text).toContain("Taille\u202f: 1,5 Mo");
		expect(m.text).toContain("Durée\u202f: 2 min 5 s");
		expect(m.text).toContain("Conservation\u202f: 30 sauvegardes gardées, 1 supprimée");
		expect(m.text).toContain("Ouvrir le tableau de bord\u202f: https://questionnaire.example.org/admin/");
		expect(m.text).toContain("Heures indiquées : heure d’Europe centrale.");
		// The dashboard's word: "sauvegarde", never "instantané".
		expect(m.text).not.toMatch(/instantané/i);
		const en = renderEvent(ok, "en", PARIS);
		expect(en.subject).toBe("[Cafés partenaires] Backup succeeded — Wednesday 25 November at 03:00");
		expect(en.text).toContain("Answers stored: 1,234");
		expect(en.text).toContain("Since the previous backup: 12 new answers, 1 new role");
		expect(en.text).toContain("Size: 1.5 MB");
	});

	it("a failure: the date, the step in words, what to do, the backup that is still good, the detail for the developer", () => {
		const m = renderEvent(failed, "fr", PARIS);
		expect(m.subject).toBe("[Cafés partenaires] ÉCHEC de la sauvegarde du mercredi 25 novembre à 3\u00a0h\u00a000");
		expect(m.text).toContain(
			"La dernière sauvegarde réussie, celle du mardi 24 novembre 2026 à 3\u00a0h\u00a001 (1\u202f222 réponses), n’est pas touchée par cet échec et reste utilisable.",
		);
		expect(m.text).toContain("Que faire ? Les données relues ne correspondent pas");
		expect(m.text).toContain("Étape en échec\u202f: vérification de la copie");
		expect(m.text).toContain("Origine\u202f: manuelle");
		expect(m.text).toContain("Détail technique (pour le développeur)\u202f: verify — checksum mismatch chunk 3");
		expect(renderEvent({ ...failed, lastGood: null }, "fr").text).toContain("Il n’existe encore aucune sauvegarde réussie.");
		// Not looked up (the listing failed): nothing is claimed either way.
		const unknown = renderEvent({ ...failed, lastGood: undefined }, "fr").text;
		expect(unknown).not.toContain("dernière sauvegarde réussie");
		expect(unknown).not.toContain("aucune sauvegarde réussie");
		expect(renderEvent({ ...failed, at: undefined }, "fr").subject).toBe("[Cafés partenaires] ÉCHEC de la sauvegarde");
	});

	it("dates follow TIMEZONE (summer time included), and the link is left out when no address is known", () => {
		const summer = { ...ok, snapshotId: "2026-07-15T010000Z-abc", startedAt: "2026-07-15T01:00:00Z" } as NotifyEvent;
		expect(renderEvent(summer, "fr", { timeZone: "Europe/Paris" }).subject).toBe("[Cafés partenaires] Sauvegarde réussie — mercredi 15 juillet à 3\u00a0h\u00a000");
		const toronto = renderEvent(summer, "en", { timeZone: "America/Toronto" });
		expect(toronto.subject).toBe("[Cafés partenaires] Backup succeeded — Tuesday 14 July at 21:00");
		expect(toronto.text).toContain("Times shown: Eastern Time.");
		const noLink = renderEvent(ok, "fr", { timeZone: "Europe/Paris" });
		expect(noLink.text).not.toContain("tableau de bord\u202f:");
		expect(noLink.html).not.toContain("<a ");
	});

	it("escapes HTML in every value", () => {
		const m = renderEvent({ type: "verification_failed", runId: "x", snapshotId: "<script>", chunk: null, reason: "a&b" }, "fr");
		expect(m.html).not.toContain("<script>");
		expect(m.html).toContain("&lt;script&gt;");
		expect(m.html).toContain("a&amp;b");
	});
});

describe("describeChanges", () => {
	it.each<[Record<string, number>, Record<string, number> | null, string | null, string | null]>([
		[{ submissions: 5 }, null, null, null],
		[{ submissions: 5, roles: 2 }, { submissions: 5, roles: 2 }, "aucun changement", "no change"],
		[{ submissions: 6 }, { submissions: 5 }, "1 nouvelle réponse", "1 new answer"],
		[{ submissions: 3, roles: 4 }, { submissions: 5, roles: 2 }, "2 réponses en moins, 2 nouveaux rôles", "2 fewer answers, 2 new roles"],
		[{ erasures: 2, audit_log: 9, counters: 4 }, { erasures: 1, audit_log: 1 }, "1 nouvelle demande d’effacement", "1 new erasure request"],
		[{ audit_log: 9, backup_runs: 3 }, { audit_log: 1 }, "aucun changement", "no change"],
	])("%j since %j", (current, previous, fr, en) => {
		expect(describeChanges(current, previous, "fr")).toBe(fr);
		expect(describeChanges(current, previous, "en")).toBe(en);
	});
});

describe("formatters", () => {
	it.each([
		[0, "0 o", "0 B"],
		[1023, "1023 o", "1023 B"],
		[1536, "1,5 Ko", "1.5 KB"],
		[5 * 1024 ** 3, "5,0 Go", "5.0 GB"],
	])("formatBytes(%i)", (n, fr, en) => {
		expect(formatBytes(n, "fr")).toBe(fr);
		expect(formatBytes(n, "en")).toBe(en);
	});
	it.each([
		[400, "0,4 s"],
		[1000, "1 s"],
		[125_000, "2 min 5 s"],
		[3_600_000, "1 h"],
		[3_723_000, "1 h 2 min 3 s"],
	])("formatDuration(%i)", (ms, fr) => expect(formatDuration(ms, "fr")).toBe(fr));
	it("formatCount and escapeHtml", () => {
		expect(formatCount(-1234567, "en")).toBe("-1,234,567");
		expect(formatCount(999, "fr")).toBe("999");
		expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	});
});

describe("buildMimeMessage", () => {
	it("CRLF headers, encoded subject, base64 parts, no header injection", () => {
		const raw = buildMimeMessage({
			from: "a@b.test",
			to: "c@d.test\r\nBcc: evil@x.test",
			subject: "Échec",
			text: "été",
			html: "<p>été</p>",
			date: new Date("2026-11-25T02:00:00Z"),
			messageId: "k.1@b.test",
		});
		expect(raw.split("\r\n").filter((l) => l.startsWith("Bcc:"))).toEqual([]);
		expect(raw).toContain("To: c@d.test Bcc: evil@x.test\r\n");
		expect(raw).toContain(`Subject: ${encodeHeaderWord("Échec")}\r\n`);
		expect(encodeHeaderWord("Échec")).toBe("=?UTF-8?B?w4ljaGVj?=");
		expect(encodeHeaderWord("plain")).toBe("plain");
		expect(raw).toContain("Content-Transfer-Encoding: base64\r\n\r\nw6l0w6k=\r\n");
		expect(raw.endsWith("--\r\n")).toBe(true);
	});
});
