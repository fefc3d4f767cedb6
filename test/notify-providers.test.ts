// Each notification provider against a real local receiving server (test/receiver/server.ts):
// requests checked field by field against the providers' documented APIs, several channels at
// once, retries, timeouts, misconfiguration, and the notification_log rows they leave.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { sendEvent, type NotifyEvent } from "../src/notify/events";
import { cloudflareEmailNotifier, type EmailSender } from "../src/notify/notifier";
import { renderEvent } from "../src/notify/templates";
import { envWith, fetchCaptured, uniquePrefix } from "./receiver/client";

const NOW = new Date("2026-11-25T02:07:00Z");
const ADMINS = ["admin-one@cap-formations.test", "admin-two@cap-formations.test"];

const failed: NotifyEvent = {
	type: "backup_failed",
	runId: "backup-2026-11-25",
	trigger: "scheduled",
	stage: "export",
	error: "D1_ERROR: database is locked",
	attempt: 3,
};

async function logRows(runId: string) {
	const { results } = await env.DB.prepare(
		"SELECT channel, event_type, ok, attempts, error FROM notification_log WHERE run_id = ? ORDER BY channel",
	)
		.bind(runId)
		.all<{ channel: string; event_type: string; ok: number; attempts: number; error: string | null }>();
	return results;
}

beforeEach(async () => {
	await env.DB.prepare("DELETE FROM notification_log").run();
});

describe("EmailJS provider", () => {
	it("POSTs {base}/api/v1.0/email/send with service_id, template_id, user_id, accessToken, template_params", async () => {
		const p = uniquePrefix();
		const report = await sendEvent(envWith({ emailjs: `${p}/emailjs` }), failed, NOW);
		expect(report.channels).toEqual([expect.objectContaining({ channel: "emailjs", ok: true, attempts: 1 })]);

		const [req, ...more] = await fetchCaptured(p);
		expect(more).toHaveLength(0);
		expect(req!.method).toBe("POST");
		expect(req!.path).toBe(`${p}/emailjs/api/v1.0/email/send`);
		expect(req!.headers["content-type"]).toBe("application/json");
		const body = JSON.parse(req!.body);
		expect(Object.keys(body).sort()).toEqual(["accessToken", "service_id", "template_id", "template_params", "user_id"]);
		expect(body.service_id).toBe("service_test");
		expect(body.template_id).toBe("template_test");
		expect(body.user_id).toBe("public_test"); // the public key
		expect(body.accessToken).toBe("emailjs-private-token"); // EMAIL_API_KEY, the private key
		const rendered = renderEvent(failed, "fr");
		expect(body.template_params).toEqual({
			to_email: ADMINS.join(", "),
			subject: rendered.subject,
			message: rendered.text,
			message_html: rendered.html,
			event_type: "backup_failed",
		});
	});
});

describe("Resend provider", () => {
	it("POSTs {base}/emails with Bearer key, Idempotency-Key and from, to[], subject, text, html", async () => {
		const p = uniquePrefix();
		const report = await sendEvent(envWith({ resend: `${p}/resend` }), failed, NOW);
		expect(report.channels).toEqual([expect.objectContaining({ channel: "resend", ok: true })]);

		const [req, ...more] = await fetchCaptured(p);
		expect(more).toHaveLength(0);
		expect(req!.method).toBe("POST");
		expect(req!.path).toBe(`${p}/resend/emails`);
		expect(req!.headers.authorization).toBe("Bearer re_test_key");
		expect(req!.headers["content-type"]).toBe("application/json");
		expect(req!.headers["idempotency-key"]).toBe("backup_failed/backup-2026-11-25");
		const body = JSON.parse(req!.body);
		const rendered = renderEvent(failed, "fr");
		expect(body).toEqual({
			from: "sauvegardes@cap-formations.test",
			to: ADMINS,
			subject: rendered.subject,
			text: rendered.text,
			html: rendered.html,
		});
	});

	it("is reported as misconfigured without EMAIL_FROM, and nothing is sent", async () => {
		const p = uniquePrefix();
		const e = envWith({ resend: `${p}/resend`, extra: { EMAIL_FROM: "" } });
		const report = await sendEvent(e, failed, NOW);
		expect(report.channels).toEqual([
			expect.objectContaining({ channel: "resend", ok: false, attempts: 0, error: "RESEND_API_KEY needs EMAIL_FROM and ADMIN_EMAIL" }),
		]);
		expect(report.delivered).toBe(false);
		expect(await fetchCaptured(p)).toHaveLength(0);
	});
});

describe("webhook provider", () => {
	it("POSTs the event's fields plus a `text` field (Slack/Discord style)", async () => {
		const p = uniquePrefix();
		await sendEvent(envWith({ webhook: `${p}/hook` }), failed, NOW);
		const [req] = await fetchCaptured(p);
		expect(req!.path).toBe(`${p}/hook`);
		expect(req!.headers["content-type"]).toBe("application/json");
		const body = JSON.parse(req!.body);
		const rendered = renderEvent(failed, "fr");
		expect(body).toEqual({ ...failed, subject: rendered.subject, text: `${rendered.subject}\n\n${rendered.text}` });
	});

	it("speaks English with LOCALE=en", async () => {
		const p = uniquePrefix();
		await sendEvent(envWith({ webhook: `${p}/hook`, extra: { LOCALE: "en" } }), failed, NOW);
		const body = JSON.parse((await fetchCaptured(p))[0]!.body);
		expect(body.subject).toBe("[Cafés partenaires] Backup FAILED");
		expect(body.text).toContain("What to do:");
	});
});

/** Test seam: forwards to the real Miniflare send_email binding and keeps what it was given. */
function recordingSender(real: EmailSender) {
	const sent: Array<{ from: string; to: string; raw: string }> = [];
	const sender: EmailSender = {
		async send(message) {
			// Miniflare's EmailMessage exposes its raw MIME under this key (see miniflare email.worker).
			const m = message as unknown as { from: string; to: string; "EmailMessage::raw"?: string };
			const result = await real.send(message);
			sent.push({ from: m.from, to: m.to, raw: String(m["EmailMessage::raw"] ?? "") });
			return result;
		},
	};
	return { sender, sent };
}

function parseMime(raw: string) {
	const [head, ...rest] = raw.split("\r\n\r\n");
	const headers = Object.fromEntries(
		head!.split("\r\n").map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
	);
	const boundary = /boundary="([^"]+)"/.exec(headers["content-type"] ?? "")![1]!;
	const parts = rest
		.join("\r\n\r\n")
		.split(`--${boundary}`)
		.slice(1, -1)
		.map((part) => {
			const [ph, pb] = part.replace(/^\r\n/, "").split("\r\n\r\n");
			const type = /Content-Type: ([^;\r\n]+)/.exec(ph!)![1];
			const bin = atob(pb!.replace(/\r\n/g, ""));
			return { type, body: new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))) };
		});
	return { headers, parts };
}

function decodeSubject(value: string): string {
	const m = /^=\?UTF-8\?B\?([^?]+)\?=$/.exec(value);
	if (!m) return value;
	return new TextDecoder().decode(Uint8Array.from(atob(m[1]!), (c) => c.charCodeAt(0)));
}

describe("Cloudflare Email provider (send_email binding)", () => {
	it("sends one well-formed MIME message per administrator through the real binding", async () => {
		const { sender, sent } = recordingSender(env.EMAIL);
		const notifier = cloudflareEmailNotifier({ binding: sender, from: "sauvegardes@cap-formations.test" });
		const rendered = renderEvent(failed, "fr");
		await notifier.send(
			{ event: failed, to: ADMINS, ...rendered, idempotencyKey: "backup_failed/backup-2026-11-25", now: NOW },
			AbortSignal.timeout(5000),
		);
		// Miniflare parsed and accepted both (it rejects a message without Message-ID or with a mismatched From).
		expect(sent.map((s) => s.to)).toEqual(ADMINS);
		for (const s of sent) {
			expect(s.from).toBe("sauvegardes@cap-formations.test");
			const mime = parseMime(s.raw);
			expect(mime.headers.from).toBe("sauvegardes@cap-formations.test");
			expect(mime.headers.to).toBe(s.to);
			expect(decodeSubject(mime.headers.subject!)).toBe(rendered.subject);
			expect(mime.headers["message-id"]).toMatch(/^<backup_failed-backup-2026-11-25\.[a-z0-9]+@cap-formations\.test>$/);
			expect(mime.headers.date).toBe("Wed, 25 Nov 2026 02:07:00 GMT");
			expect(mime.headers["mime-version"]).toBe("1.0");
			expect(mime.headers["auto-submitted"]).toBe("auto-generated");
			expect(mime.parts).toEqual([
				{ type: "text/plain", body: rendered.text },
				{ type: "text/html", body: rendered.html },
			]);
		}
		expect(sent[0]!.raw).not.toBe(sent[1]!.raw); // one per recipient, distinct Message-IDs
	});

	it("is enabled by EMAIL_FROM with the real binding, via sendEvent", async () => {
		const report = await sendEvent(envWith({ cloudflareEmail: true }), failed, NOW);
		expect(report.channels).toEqual([expect.objectContaining({ channel: "cloudflare_email", ok: true, attempts: 1 })]);
	});

	it("a rejected recipient is a failed channel, not an exception", async () => {
		const notifier = cloudflareEmailNotifier({
			binding: { send: async () => Promise.reject(new Error("destination address not verified")) },
			from: "sauvegardes@cap-formations.test",
		});
		await expect(
			notifier.send({ event: failed, to: ADMINS, ...renderEvent(failed, "fr"), idempotencyKey: "k", now: NOW }, AbortSignal.timeout(1000)),
		).rejects.toThrow("send_email: destination address not verified");
	});
});

describe("several channels at once, and failures", () => {
	it("delivers to all four channels and records one notification_log row each", async () => {
		const p = uniquePrefix();
		const e = envWith({ emailjs: `${p}/emailjs`, resend: `${p}/resend`, webhook: `${p}/hook`, cloudflareEmail: true });
		const report = await sendEvent(e, failed, NOW);
		expect(report.delivered).toBe(true);
		expect(report.channels.map((c) => [c.channel, c.ok]).sort()).toEqual([
			["cloudflare_email", true],
			["emailjs", true],
			["resend", true],
			["webhook", true],
		]);
		expect((await fetchCaptured(p)).map((r) => r.path).sort()).toEqual([
			`${p}/emailjs/api/v1.0/email/send`,
			`${p}/hook`,
			`${p}/resend/emails`,
		]);
		expect(await logRows(failed.runId)).toEqual([
			{ channel: "cloudflare_email", event_type: "backup_failed", ok: 1, attempts: 1, error: null },
			{ channel: "emailjs", event_type: "backup_failed", ok: 1, attempts: 1, error: null },
			{ channel: "resend", event_type: "backup_failed", ok: 1, attempts: 1, error: null },
			{ channel: "webhook", event_type: "backup_failed", ok: 1, attempts: 1, error: null },
		]);
	});

	it("a provider answering 500 is retried 3 times, recorded as failed, and the others still deliver", async () => {
		const p = uniquePrefix();
		const e = envWith({ resend: `${p}/fail500/resend`, webhook: `${p}/hook` });
		const report = await sendEvent(e, failed, NOW);
		expect(report.delivered).toBe(true);
		const resend = report.channels.find((c) => c.channel === "resend")!;
		expect(resend).toMatchObject({ ok: false, attempts: 3, error: "HTTP 500" });
		const captured = await fetchCaptured(p);
		expect(captured.filter((r) => r.path.endsWith("/emails"))).toHaveLength(3);
		// The same Idempotency-Key on every retry, so Resend would drop a duplicate.
		expect(new Set(captured.filter((r) => r.path.endsWith("/emails")).map((r) => r.headers["idempotency-key"])).size).toBe(1);
		expect(await logRows(failed.runId)).toEqual([
			{ channel: "resend", event_type: "backup_failed", ok: 0, attempts: 3, error: "HTTP 500" },
			{ channel: "webhook", event_type: "backup_failed", ok: 1, attempts: 1, error: null },
		]);
	});

	it("a 401 (bad key) is not retried", async () => {
		const p = uniquePrefix();
		const report = await sendEvent(envWith({ webhook: `${p}/fail401/hook` }), failed, NOW);
		expect(report.channels).toEqual([expect.objectContaining({ channel: "webhook", ok: false, attempts: 1, error: "HTTP 401" })]);
		expect(report.delivered).toBe(false);
		expect(await fetchCaptured(p)).toHaveLength(1);
	});

	it("a transient 503 then success counts as delivered on attempt 2", async () => {
		const p = uniquePrefix();
		const report = await sendEvent(envWith({ webhook: `${p}/flaky/hook` }), failed, NOW);
		expect(report.channels).toEqual([expect.objectContaining({ channel: "webhook", ok: true, attempts: 2, error: null })]);
		expect(await fetchCaptured(p)).toHaveLength(2);
	});

	it("a provider that never answers times out on every attempt; sendEvent still resolves", async () => {
		const p = uniquePrefix();
		const e = envWith({ emailjs: `${p}/hang/emailjs`, webhook: `${p}/hook`, extra: { NOTIFY_TIMEOUT_MS: "200" } });
		const report = await sendEvent(e, failed, NOW);
		expect(report.channels.find((c) => c.channel === "emailjs")).toMatchObject({ ok: false, attempts: 3, error: "request failed: timeout" });
		expect(report.channels.find((c) => c.channel === "webhook")).toMatchObject({ ok: true });
		expect((await fetchCaptured(`${p}/hang`)).length).toBe(3);
	});

	it("half-configured EmailJS is reported, not silently skipped", async () => {
		const p = uniquePrefix();
		const e = envWith({ webhook: `${p}/hook`, extra: { EMAILJS_SERVICE_ID: "service_only" } });
		const report = await sendEvent(e, failed, NOW);
		expect(report.channels.find((c) => c.channel === "emailjs")).toMatchObject({
			ok: false,
			attempts: 0,
			error: "missing EMAIL_API_KEY, EMAILJS_TEMPLATE_ID, EMAILJS_PUBLIC_KEY",
		});
	});

	it("no channel configured: nothing sent, nothing recorded, counted as delivered", async () => {
		const report = await sendEvent(envWith({}), failed, NOW);
		expect(report).toEqual({ eventType: "backup_failed", at: NOW.toISOString(), delivered: true, channels: [] });
		expect(await logRows(failed.runId)).toEqual([]);
	});

	it("an invalid configuration never throws: it is a failed 'config' channel", async () => {
		const report = await sendEvent(envWith({ extra: { BACKUP_MAX_AGE_HOURS: "soon" } }), failed, NOW);
		expect(report.delivered).toBe(false);
		expect(report.channels).toEqual([expect.objectContaining({ channel: "config", ok: false })]);
		expect(report.channels[0]!.error).toContain("BACKUP_MAX_AGE_HOURS");
	});
});
