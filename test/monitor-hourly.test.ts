// The hourly dead man's switch on real local D1 and R2: staleness from the scheduled time,
// the stale alert at most once a day, the recovery once, heartbeat pings, cron dispatch.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { runHourlyMonitor } from "../src/monitor/hourly";
import worker from "../src/worker";
import { writeSnapshot } from "./helpers/snapshot";
import { envWith, fetchCaptured, uniquePrefix } from "./receiver/client";

const H = 3_600_000;
const T0 = Date.parse("2026-11-25T02:00:00Z");

async function clearAll() {
	for (let i = 0; i < 50; i++) {
		const page = await env.R2_BUCKET.list();
		if (page.objects.length === 0) break;
		await env.R2_BUCKET.delete(page.objects.map((o) => o.key));
	}
	await env.DB.batch([env.DB.prepare("DELETE FROM alert_state"), env.DB.prepare("DELETE FROM notification_log")]);
}

async function snapshotAt(ms: number) {
	return writeSnapshot(env.R2_BUCKET, {
		time: new Date(ms),
		tables: { submissions: { rows: [{ seq: 1, id: "s1", answers: "{}" }] } },
	});
}

/** Bodies of the webhook messages under `prefix`, by event type. */
async function webhookEvents(prefix: string) {
	return (await fetchCaptured(`${prefix}/hook`)).map((r) => JSON.parse(r.body) as { type: string; ageHours: number });
}

beforeEach(clearAll);

describe("hourly monitor: staleness and alerts", () => {
	it("fresh snapshot: no alert, heartbeat /start then success", async () => {
		const p = uniquePrefix();
		const m = await snapshotAt(T0);
		const e = envWith({ webhook: `${p}/hook`, heartbeat: `${p}/ping` });
		const r = await runHourlyMonitor(e, new Date(T0 + 5 * H));
		expect(r.ok).toBe(true);
		expect(r.staleness).toMatchObject({ stale: false, newest: { snapshotId: m.snapshotId } });
		expect(r.action).toBe("none");
		expect(await webhookEvents(p)).toEqual([]);
		expect((await fetchCaptured(`${p}/ping`)).map((q) => q.path)).toEqual([`${p}/ping/start`, `${p}/ping`]);
	});

	it("age is computed from the scheduled time passed in, not the clock", async () => {
		const p = uniquePrefix();
		await snapshotAt(T0);
		const e = envWith({ webhook: `${p}/hook` });
		// 26 h exactly is not stale (threshold is "more than"); 27 h is.
		expect((await runHourlyMonitor(e, new Date(T0 + 26 * H))).staleness).toMatchObject({ stale: false, ageHours: 26 });
		expect((await runHourlyMonitor(e, new Date(T0 + 27 * H))).staleness).toMatchObject({ stale: true, ageHours: 27 });
	});

	it("stale: alert once, suppressed for 24 h, repeated after a day, recovery sent once", async () => {
		const p = uniquePrefix();
		const old = await snapshotAt(T0);
		const e = envWith({ webhook: `${p}/hook`, heartbeat: `${p}/ping` });
		const at = (h: number) => new Date(T0 + h * H);

		const first = await runHourlyMonitor(e, at(27));
		expect(first).toMatchObject({ action: "send_stale", claimed: true });
		expect(first.report?.delivered).toBe(true);
		// Duplicate delivery of the same cron, then the following hours: no repeat.
		for (const h of [27, 28, 29, 50]) expect((await runHourlyMonitor(e, at(h))).action).toBe("none");
		// A day after the first alert: reminded.
		expect((await runHourlyMonitor(e, at(51))).action).toBe("send_stale");

		let events = await webhookEvents(p);
		expect(events.map((x) => [x.type, x.ageHours])).toEqual([
			["backup_stale", 27],
			["backup_stale", 51],
		]);
		expect((events[0] as unknown as { newest: { snapshotId: string } }).newest.snapshotId).toBe(old.snapshotId);

		// A new verified snapshot arrives: recovery once, then silence.
		await snapshotAt(T0 + 52 * H);
		const rec = await runHourlyMonitor(e, at(53));
		expect(rec).toMatchObject({ action: "send_recovered", claimed: true });
		expect((await runHourlyMonitor(e, at(54))).action).toBe("none");
		events = await webhookEvents(p);
		expect(events.map((x) => x.type)).toEqual(["backup_stale", "backup_stale", "backup_recovered"]);

		// The heartbeat said /fail while stale and success once recovered.
		const pings = (await fetchCaptured(`${p}/ping`)).map((q) => q.path.slice(p.length)).filter((x) => x !== "/ping/start");
		expect(pings).toEqual(["/ping/fail", "/ping/fail", "/ping/fail", "/ping/fail", "/ping/fail", "/ping/fail", "/ping", "/ping"]);
	});

	it("an alert that reached no channel is retried the next hour", async () => {
		const p = uniquePrefix();
		await snapshotAt(T0);
		const failing = envWith({ webhook: `${p}/fail401/hook` });
		const r1 = await runHourlyMonitor(failing, new Date(T0 + 27 * H));
		expect(r1).toMatchObject({ action: "send_stale", claimed: true });
		expect(r1.report?.delivered).toBe(false);
		const working = envWith({ webhook: `${p}/hook` });
		const r2 = await runHourlyMonitor(working, new Date(T0 + 28 * H));
		expect(r2.action).toBe("send_stale");
		expect(r2.report?.delivered).toBe(true);
	});

	it("no snapshot at all: quiet for the threshold after the monitor starts watching, then alerts", async () => {
		const p = uniquePrefix();
		const e = envWith({ webhook: `${p}/hook` });
		expect((await runHourlyMonitor(e, new Date(T0))).action).toBe("none");
		expect((await runHourlyMonitor(e, new Date(T0 + 26 * H))).action).toBe("none");
		const r = await runHourlyMonitor(e, new Date(T0 + 27 * H));
		expect(r.action).toBe("send_stale");
		expect(r.staleness).toMatchObject({ stale: true, ageHours: null, newest: null });
		expect((await webhookEvents(p)).map((x) => x.type)).toEqual(["backup_stale"]);
	});

	it("an incomplete newer folder (no manifest) does not count as a verified backup", async () => {
		const p = uniquePrefix();
		const good = await snapshotAt(T0);
		await env.R2_BUCKET.put("snapshots/2026-11-26T020000Z-broken/chunk-000001.ndjson.gz", new Uint8Array([1, 2, 3]));
		const r = await runHourlyMonitor(envWith({ webhook: `${p}/hook` }), new Date(T0 + 30 * H));
		expect(r.staleness).toMatchObject({ stale: true, newest: { snapshotId: good.snapshotId } });
	});

	it("a heartbeat endpoint that fails is recorded and does not stop the check", async () => {
		const p = uniquePrefix();
		await snapshotAt(T0);
		const r = await runHourlyMonitor(envWith({ heartbeat: `${p}/fail500/ping` }), new Date(T0 + H));
		expect(r).toMatchObject({ ok: true, heartbeat: { start: false, end: false } });
		const { results } = await env.DB.prepare(
			"SELECT event_type, ok, attempts, error FROM notification_log WHERE channel = 'heartbeat' ORDER BY seq",
		).all();
		expect(results).toEqual([
			{ event_type: "heartbeat_start", ok: 0, attempts: 3, error: "HTTP 500" },
			{ event_type: "heartbeat_success", ok: 0, attempts: 3, error: "HTTP 500" },
		]);
	});
});

describe("cron dispatch", () => {
	it('"0 * * * *" runs the monitor with the controller\'s scheduled time', async () => {
		await snapshotAt(T0);
		const scheduledTime = T0 + 40 * H;
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ cron: "0 * * * *", scheduledTime }), env, ctx);
		await waitOnExecutionContext(ctx);
		const state = await env.DB.prepare("SELECT status, since, last_sent_at FROM alert_state WHERE key = 'backup_stale'").first();
		expect(state).toEqual({
			status: "alerting",
			since: new Date(scheduledTime).toISOString(),
			last_sent_at: new Date(scheduledTime).toISOString(),
		});
		// The global test config sends heartbeats to /global/ping; the body names this run.
		const pings = (await fetchCaptured("/global/ping")).filter((q) => q.body.includes(new Date(scheduledTime).toISOString()));
		expect(pings.map((q) => q.path)).toEqual(["/global/ping/start"]);
	});
});

describe("hourly monitor when D1 is unreachable", () => {
	it("still reads R2 and alerts on a stale backup (no suppression possible), and pings /fail", async () => {
		const p = uniquePrefix();
		await snapshotAt(T0);
		// Failure injection for this one binding (test double): every D1 query is rejected, the
		// way an unreachable database answers. R2 and the notification channels are the real ones.
		const unavailable = async () => {
			throw new Error("D1_ERROR: database unavailable");
		};
		const statement = { bind: () => statement, run: unavailable, first: unavailable, all: unavailable, raw: unavailable };
		const downDb = { prepare: () => statement, batch: unavailable, exec: unavailable } as unknown as D1Database;
		const e = { ...envWith({ webhook: `${p}/hook`, heartbeat: `${p}/ping` }), DB: downDb };
		const r = await runHourlyMonitor(e, new Date(T0 + 30 * H));
		expect(r).toMatchObject({ ok: false, action: "send_stale", staleness: { stale: true, ageHours: 30 } });
		expect((await webhookEvents(p)).map((x) => [x.type, x.ageHours])).toEqual([["backup_stale", 30]]);
		expect((await fetchCaptured(`${p}/ping`)).map((q) => q.path)).toEqual([`${p}/ping/start`, `${p}/ping/fail`]);

		// Fresh backups and D1 down: nothing to alert about, but the heartbeat still says /fail.
		const q = uniquePrefix();
		const fresh = { ...envWith({ webhook: `${q}/hook`, heartbeat: `${q}/ping` }), DB: downDb };
		expect(await runHourlyMonitor(fresh, new Date(T0 + 2 * H))).toMatchObject({ ok: false, action: "none" });
		expect(await webhookEvents(q)).toEqual([]);
	});
});
