// Pure rendering: French and English, every event type, formatters, HTML escaping, MIME builder.
import { describe, expect, it } from "vitest";
import type { NotifyEvent } from "../src/notify/events";
import { buildMimeMessage, encodeHeaderWord } from "../src/notify/mime";
import { escapeHtml, formatBytes, formatCount, formatDuration, renderEvent } from "../src/notify/templates";

const events: NotifyEvent[] = [
	{ type: "backup_succeeded", runId: "r1", trigger: "scheduled", snapshotId: "2026-11-25T020000Z-abc", tables: { submissions: 1234, roles: 9 }, newSubmissions: 12, bytes: 1_572_864, durationMs: 125_000, retention: { kept: 30, removed: 1, frozen: false } },
	{ type: "backup_failed", runId: "r2", trigger: "manual", stage: "verify", error: "checksum mismatch chunk 3", attempt: 2 },
	{ type: "backup_stale", ageHours: 27, thresholdHours: 26, newest: { snapshotId: "2026-11-24T020000Z-x", finishedAt: "2026-11-24T02:01:00Z" } },
	{ type: "backup_stale", ageHours: 30, thresholdHours: 26, newest: null },
	{ type: "backup_recovered", ageHours: 1, thresholdHours: 26, newest: { snapshotId: "2026-11-26T020000Z-y", finishedAt: "2026-11-26T02:01:00Z" }, staleSince: "2026-11-25T05:00:00Z" },
	{ type: "weekly_report", runId: "w1", snapshotsChecked: 5, snapshotsOk: 4, corrupt: [{ snapshotId: "2026-11-20T020000Z-z", chunk: "snapshots/2026-11-20T020000Z-z/chunk-000002.ndjson.gz", reason: "sha256 mismatch" }], drill: { ok: true, snapshotId: "2026-11-25T020000Z-abc", rows: 1243, durationMs: 900, error: null }, counts: { snapshots: 40, totalBytes: 10_000_000, submissions: 1234 } },
	{ type: "retention_frozen", runId: "r3", reason: "submissions_drop", dropPct: 42.4, previousSnapshotId: "a", snapshotId: "b" },
	{ type: "verification_failed", runId: "w2", snapshotId: "2026-11-20T020000Z-z", chunk: null, reason: "manifest sha256 mismatch" },
];

describe("renderEvent", () => {
	it.each(events.map((e) => [e.type, e] as const))("%s renders in both languages without holes", (_t, event) => {
		for (const locale of ["fr", "en"] as const) {
			const m = renderEvent(event, locale);
			for (const s of [m.subject, m.text, m.html]) expect(s).not.toMatch(/undefined|NaN|\[object|null/);
			expect(m.subject.startsWith("[Cafés partenaires] ")).toBe(true);
			expect(m.html).toContain(`<html lang="${locale}">`);
		}
		expect(renderEvent(event, "fr").text).not.toBe(renderEvent(event, "en").text);
	});

	it("French by default wording, English with LOCALE=en", () => {
		const ok = events[0]!;
		expect(renderEvent(ok, "fr").subject).toBe("[Cafés partenaires] Sauvegarde réussie — 2026-11-25T020000Z-abc");
		expect(renderEvent(ok, "en").subject).toBe("[Cafés partenaires] Backup succeeded — 2026-11-25T020000Z-abc");
		const fr = renderEvent(ok, "fr").text;
		expect(fr).toContain("Taille : 1,5 Mio");
		expect(fr).toContain("Durée : 2 min 5 s");
		expect(fr).toContain("Nouvelles réponses depuis la sauvegarde précédente : +12");
		expect(fr).toContain("Conservation : 30 instantané(s) conservé(s), 1 supprimé(s)");
		expect(fr).toContain("submissions : 1\u202f234");
		const en = renderEvent(ok, "en").text;
		expect(en).toContain("Size: 1.5 MiB");
		expect(en).toContain("submissions: 1,234");
		expect(renderEvent(events[1]!, "fr").text).toContain("Que faire ? Les données relues");
		expect(renderEvent(events[3]!, "en").text).toContain("No verified backup exists (watched for 30 hours).");
	});

	it("escapes HTML in every value", () => {
		const m = renderEvent({ type: "verification_failed", runId: "x", snapshotId: "<script>", chunk: null, reason: "a&b" }, "fr");
		expect(m.html).not.toContain("<script>");
		expect(m.html).toContain("&lt;script&gt;");
		expect(m.html).toContain("a&amp;b");
	});
});

describe("formatters", () => {
	it.each([
		[0, "0 o", "0 B"],
		[1023, "1023 o", "1023 B"],
		[1536, "1,5 Kio", "1.5 KiB"],
		[5 * 1024 ** 3, "5,0 Gio", "5.0 GiB"],
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
