// GET /api/admin/status through the real app, on real local D1 and R2 (GET /api/health: health.test.ts).
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { sendEvent } from "../src/notify/events";
import { writeSnapshot } from "./helpers/snapshot";
import { envWith, uniquePrefix } from "./receiver/client";

const ADMIN = { Authorization: "Bearer test-admin-token-0123456789abcdef" };
const H = 3_600_000;
/** No copy outside Cloudflare configured (the test environment has one). */
const NO_OFFSITE = { OFFSITE_S3_ENDPOINT: "", OFFSITE_S3_BUCKET: "", OFFSITE_S3_ACCESS_KEY_ID: "", OFFSITE_S3_SECRET_ACCESS_KEY: "" };

async function clearAll() {
	for (let i = 0; i < 50; i++) {
		const page = await env.R2_BUCKET.list();
		if (page.objects.length === 0) break;
		await env.R2_BUCKET.delete(page.objects.map((o) => o.key));
	}
	await env.DB.batch([
		env.DB.prepare("DELETE FROM alert_state"),
		env.DB.prepare("DELETE FROM notification_log"),
		env.DB.prepare("DELETE FROM backup_runs"),
	]);
}

const get = (path: string, headers: Record<string, string> = ADMIN) => exports.default.fetch(`http://example.com${path}`, { headers });

beforeEach(clearAll);

describe("GET /api/admin/status", () => {
	it("requires the admin token (401, envelope, nothing revealed)", async () => {
		for (const headers of [{}, { Authorization: "Bearer wrong-token-wrong-token-wrong" }] as Array<Record<string, string>>) {
			const res = await get("/api/admin/status", headers);
			expect(res.status).toBe(401);
			expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "A valid administrator token is required." } });
		}
	});

	it("empty case: no run, no snapshot, every configured channel unused", async () => {
		const res = await get("/api/admin/status");
		expect(res.status).toBe(200);
		const body = (await res.json()) as Record<string, any>;
		expect(body.lastRun).toBeNull();
		expect(body.newestSnapshot).toBeNull();
		expect(body.snapshots).toEqual({ count: 0, totalBytes: 0, ignored: [], pending: 0 });
		expect(body.alert).toBeNull();
		expect(body.thresholdHours).toBe(26);
		expect(body.schedule).toBe("0 2 * * *");
		expect(body.timezone).toBe("Europe/Paris");
		// Next 02:00 UTC strictly after the request time.
		const next = Date.parse(body.nextScheduledRun);
		expect(new Date(next).toISOString().slice(11)).toBe("02:00:00.000Z");
		expect(next - Date.parse(body.now)).toBeGreaterThan(0);
		expect(next - Date.parse(body.now)).toBeLessThanOrEqual(24 * H);
		expect(body.retention).toEqual({ keepDaily: 30, keepWeekly: 8, keepMonthly: 12, freezeDropPct: 20, maxRemovePct: 25 });
		expect(body.channels.map((c: any) => [c.channel, c.configured, c.health])).toEqual([
			["cloudflare_email", true, "unused"],
			["emailjs", true, "unused"],
			["heartbeat", true, "unused"],
			["resend", true, "unused"],
			["webhook", true, "unused"],
		]);
		// Fresh install: one verdict, a warning that says what to do, not a row of "none".
		expect(body.verdict.level).toBe("warning");
		expect(body.verdict.label).toEqual({ fr: "Attention", en: "Attention" });
		expect(body.verdict.reasons).toEqual([
			{
				code: "no_backup",
				level: "warning",
				text: { fr: "Aucune sauvegarde pour l’instant.", en: "No backup yet." },
				action: expect.objectContaining({ fr: expect.stringContaining("Lancer une sauvegarde") }),
			},
		]);
	});

	it("last run, newest verified snapshot with its age, totals, and each channel's health", async () => {
		const now = Date.now(); // the endpoint uses the request time; snapshots are placed relative to it
		const older = await writeSnapshot(env.R2_BUCKET, { time: new Date(now - 50 * H), tables: { submissions: { rows: [{ seq: 1 }] } } });
		const newer = await writeSnapshot(env.R2_BUCKET, { time: new Date(now - 3 * H), tables: { submissions: { rows: [{ seq: 1 }, { seq: 2 }] } } });
		await env.R2_BUCKET.put("snapshots/2099-01-01T000000Z-incomplete/chunk-000001.ndjson.gz", new Uint8Array([1]));
		await env.DB.prepare(
			`INSERT INTO backup_runs (id, trigger, status, stage, started_at, finished_at, snapshot_id, rows, bytes, chunks, error)
			 VALUES ('run-b', 'scheduled', 'failed', 'export', ?, ?, NULL, 0, 0, 0, 'D1_ERROR: boom'),
			        ('run-a', 'scheduled', 'complete', NULL, ?, ?, ?, 2, 10, 1, NULL)`,
		)
			.bind(new Date(now - 2 * H).toISOString(), new Date(now - 2 * H).toISOString(), new Date(now - 3 * H).toISOString(), new Date(now - 3 * H).toISOString(), newer.snapshotId)
			.run();
		// Channel history: the webhook failed last, Resend succeeded.
		const p = uniquePrefix();
		const t = new Date(now - H);
		await sendEvent(envWith({ resend: `${p}/resend` }), { type: "verification_failed", runId: "v1", snapshotId: "s", chunk: null, reason: "r" }, t);
		await sendEvent(envWith({ webhook: `${p}/fail401/hook` }), { type: "verification_failed", runId: "v1", snapshotId: "s", chunk: null, reason: "r" }, t);

		const body = (await (await get("/api/admin/status")).json()) as Record<string, any>;
		expect(body.lastRun).toMatchObject({ id: "run-b", status: "failed", stage: "export", error: "D1_ERROR: boom" });
		expect(body.newestSnapshot.snapshotId).toBe(newer.snapshotId);
		expect(body.newestSnapshot.ageHours).toBeGreaterThanOrEqual(3);
		expect(body.newestSnapshot.ageHours).toBeLessThan(4);
		expect(body.stale).toBe(false);
		expect(body.snapshots).toEqual({ count: 2, totalBytes: older.bytes + newer.bytes, ignored: [], pending: 0 });
		const byName = Object.fromEntries(body.channels.map((c: any) => [c.channel, c]));
		expect(byName.resend).toMatchObject({ health: "ok", lastEventType: "verification_failed", lastError: null, failuresLast7Days: 0 });
		expect(byName.webhook).toMatchObject({ health: "failing", lastError: "HTTP 401", failuresLast7Days: 1, lastSuccessAt: null });
		expect(byName.emailjs).toMatchObject({ health: "unused" });
		// The failed run is a warning that names the intact backup by its local date; the failing
		// webhook is named as what it is.
		expect(body.verdict.level).toBe("warning");
		// (The test's copy outside Cloudflare holds no copy of these snapshots: it may add its own warning.)
		expect(body.verdict.reasons.map((r: any) => r.code).filter((c: string) => !c.startsWith("offsite_"))).toEqual(["last_run_failed", "channel_failing"]);
		const intact = new Intl.DateTimeFormat("fr-FR", { timeZone: "Europe/Paris", day: "numeric", month: "long" }).format(new Date(now - 3 * H));
		expect(body.verdict.reasons[0].text.fr).toMatch(new RegExp(`a échoué ; celle du \\S+ ${intact} \\d{4} à .* est intacte`));
		expect(body.verdict.reasons[1].text.fr).toMatch(/^Le dernier envoi par Webhook, le .* a échoué\.$/);
		expect(JSON.stringify(body.verdict)).not.toContain(newer.snapshotId);
	});

	it("verdict: all well with a fresh backup; « personne ne sera prévenu » without any channel", async () => {
		const { app } = await import("../src/http/app");
		const now = Date.now();
		await writeSnapshot(env.R2_BUCKET, { time: new Date(now - 2 * H), tables: { submissions: { rows: [{ seq: 1 }] } } });
		const withMail = (await (await app.request("/api/admin/status", { headers: ADMIN }, envWith({ resend: "/unused", extra: NO_OFFSITE }))).json()) as Record<string, any>;
		expect(withMail.verdict).toMatchObject({ level: "ok", label: { fr: "Tout va bien" }, reasons: [] });
		expect(withMail.verdict.summary.fr).toMatch(/^Dernière sauvegarde vérifiée : .* 20\d\d à .*\.$/);

		const nobody = (await (await app.request("/api/admin/status", { headers: ADMIN }, envWith({ extra: NO_OFFSITE }))).json()) as Record<string, any>;
		expect(nobody.channels).toEqual([]);
		expect(nobody.verdict.level).toBe("warning");
		expect(nobody.verdict.reasons.map((r: any) => r.code)).toEqual(["no_channel"]);
		expect(nobody.verdict.reasons[0].text.fr).toContain("personne ne sera prévenu");
	});

	it("stale when the newest verified snapshot is older than BACKUP_MAX_AGE_HOURS", async () => {
		await writeSnapshot(env.R2_BUCKET, { time: new Date(Date.now() - 30 * H), tables: { submissions: { rows: [] } } });
		const body = (await (await get("/api/admin/status")).json()) as Record<string, any>;
		expect(body.stale).toBe(true);
		expect(body.newestSnapshot.ageHours).toBeGreaterThanOrEqual(30);
		expect(body.verdict.level).toBe("problem");
		expect(body.verdict.label.fr).toBe("Problème");
		expect(body.verdict.reasons[0].code).toBe("stale");
	});

	it("a misconfigured channel is shown as such", async () => {
		const { app } = await import("../src/http/app");
		const res = await app.request("/api/admin/status", { headers: ADMIN }, envWith({ extra: { EMAILJS_TEMPLATE_ID: "only-this" } }));
		const body = (await res.json()) as Record<string, any>;
		expect(body.channels).toEqual([
			expect.objectContaining({ channel: "emailjs", configured: false, health: "misconfigured", lastError: "missing EMAIL_API_KEY, EMAILJS_SERVICE_ID, EMAILJS_PUBLIC_KEY" }),
		]);
	});
});
