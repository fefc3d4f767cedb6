// Pure monitor logic, table-driven: staleness, alert decisions, next scheduled run (croner in workerd).
import { describe, expect, it } from "vitest";
import { decideStaleAlert, type AlertState } from "../src/monitor/alerts";
import { buildPingUrl } from "../src/monitor/heartbeat";
import { nextRunAfter } from "../src/monitor/schedule";
import { computeStaleness } from "../src/monitor/staleness";

const H = 3_600_000;
const T = Date.parse("2026-11-25T02:00:00Z");
const snap = (ms: number) => ({ snapshotId: "s", finishedAt: new Date(ms).toISOString() });

describe("computeStaleness", () => {
	it.each([
		["fresh", snap(T), null, T + 5 * H, { stale: false, ageHours: 5 }],
		["exactly at threshold", snap(T), null, T + 26 * H, { stale: false, ageHours: 26 }],
		["just past threshold", snap(T), null, T + 26 * H + 1000, { stale: true, ageHours: 26 }],
		["future snapshot counts as 0", snap(T + H), null, T, { stale: false, ageHours: 0 }],
		["none, watching 10 h", null, T, T + 10 * H, { stale: false, ageHours: null, effectiveAgeHours: 10 }],
		["none, watching 27 h", null, T, T + 27 * H, { stale: true, ageHours: null, effectiveAgeHours: 27 }],
		["none, never watched", null, null, T, { stale: false, ageHours: null }],
	] as const)("%s", (_name, newest, watching, now, expected) => {
		const s = computeStaleness({ newest, watchingSince: watching === null ? null : new Date(watching), now: new Date(now), maxAgeHours: 26 });
		expect(s).toMatchObject(expected);
	});
});

describe("decideStaleAlert", () => {
	const base: AlertState = { status: "ok", since: "2026-11-25T00:00:00.000Z", lastSentAt: null, createdAt: "2026-11-01T00:00:00.000Z" };
	const at = (h: number) => new Date(T + h * H);
	const sentAt = (h: number) => at(h).toISOString();
	it.each([
		["ok + fresh", base, false, true, 0, "none"],
		["ok + stale", base, true, true, 0, "send_stale"],
		["alerting, sent 1 h ago", { ...base, status: "alerting", lastSentAt: sentAt(0) }, true, true, 1, "none"],
		["alerting, sent 23 h ago", { ...base, status: "alerting", lastSentAt: sentAt(0) }, true, true, 23, "none"],
		["alerting, sent 24 h ago", { ...base, status: "alerting", lastSentAt: sentAt(0) }, true, true, 24, "send_stale"],
		["alerting, delivery released", { ...base, status: "alerting", lastSentAt: null }, true, true, 1, "send_stale"],
		["alerting + fresh snapshot", { ...base, status: "alerting", lastSentAt: sentAt(0) }, false, true, 2, "send_recovered"],
		["alerting + not stale but no snapshot", { ...base, status: "alerting" }, false, false, 2, "none"],
	] as const)("%s -> %s", (_n, state, stale, hasSnapshot, h, expected) => {
		expect(decideStaleAlert(state as AlertState, { stale, newest: hasSnapshot ? snap(T) : null }, at(h))).toBe(expected);
	});
});

describe("nextRunAfter (croner, in workerd)", () => {
	it.each([
		["0 2 * * *", "2026-11-25T01:59:00Z", "2026-11-25T02:00:00.000Z"],
		["0 2 * * *", "2026-11-25T02:00:00Z", "2026-11-26T02:00:00.000Z"],
		["0 * * * *", "2026-11-25T02:30:00Z", "2026-11-25T03:00:00.000Z"],
		["0 3 * * 1", "2026-11-25T02:00:00Z", "2026-11-30T03:00:00.000Z"],
	])("%s after %s", (expr, from, next) => expect(nextRunAfter(expr, new Date(from))).toBe(next));
	it("invalid expression -> null", () => expect(nextRunAfter("not a cron", new Date(T))).toBeNull());
});

describe("buildPingUrl", () => {
	it.each([
		["https://hc-ping.com/uuid", "start", "https://hc-ping.com/uuid/start"],
		["https://hc-ping.com/uuid/", "success", "https://hc-ping.com/uuid"],
		["https://hc-ping.com/uuid", "fail", "https://hc-ping.com/uuid/fail"],
	] as const)("%s %s", (base, kind, url) => expect(buildPingUrl(base, kind)).toBe(url));
});
