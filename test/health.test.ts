// GET /api/health through the real app: its shape, the backup freshness it reports, and the cache
// that keeps an unauthenticated caller from listing R2 more than once a minute.
import { exports } from "cloudflare:workers";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { app } from "../src/http/app";
import { fetchCachedBackupHealth, HEALTH_CACHE_MS } from "../src/http/health";
import { getConfig } from "../src/config";
import { clearSnapshots, writeSnapshot } from "./helpers/snapshot";

const H = 3_600_000;

/** The real bucket, counting its list calls (and failing them when told to). */
function countingEnv(options: { failList?: boolean } = {}) {
	const calls = { list: 0 };
	const bucket = new Proxy(env.R2_BUCKET, {
		get(target, prop) {
			if (prop === "list") {
				return async (...args: Parameters<R2Bucket["list"]>) => {
					calls.list++;
					if (options.failList) throw new Error("list: We encountered an internal error. (10001)");
					return target.list(...args);
				};
			}
			const value = Reflect.get(target, prop) as unknown;
			return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
		},
	});
	// A new env object: its own cache entry, as a new isolate would have.
	return { env: { ...env, R2_BUCKET: bucket } as Env, calls };
}

async function health(testEnv: Env): Promise<{ ok: boolean; version: string; backup: { ok: boolean; ageHours: number | null } }> {
	const res = await app.request("/api/health", {}, testEnv);
	expect(res.status).toBe(200);
	return res.json();
}

beforeEach(() => clearSnapshots(env.R2_BUCKET));
afterEach(() => vi.useRealTimers());

describe("GET /api/health", () => {
	it("answers ok and the version, nothing else", async () => {
		const res = await exports.default.fetch("http://example.com/api/health");
		expect(res.status).toBe(200);
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		const body = await res.json();
		expect(Object.keys(body as object).sort()).toEqual(["backup", "ok", "version"]);
	});

	it("empty case: no snapshot, backup not ok and no age", async () => {
		const body = await health(countingEnv().env);
		expect(body.backup).toEqual({ ok: false, ageHours: null });
	});

	it("ok with a recent verified snapshot, not ok when it is too old", async () => {
		await writeSnapshot(env.R2_BUCKET, { time: new Date(Date.now() - 2 * H), tables: { submissions: { rows: [] } } });
		let body = await health(countingEnv().env);
		expect(body.backup.ok).toBe(true);
		expect(Object.keys(body.backup).sort()).toEqual(["ageHours", "ok"]);
		expect(body.backup.ageHours).toBeGreaterThanOrEqual(2);
		await clearSnapshots(env.R2_BUCKET);
		await writeSnapshot(env.R2_BUCKET, { time: new Date(Date.now() - 27 * H), tables: { submissions: { rows: [] } } });
		body = await health(countingEnv().env);
		expect(body.backup.ok).toBe(false);
		expect(body.backup.ageHours).toBeGreaterThanOrEqual(27);
	});

	it("has the schema applied to local D1", async () => {
		const { results } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name='submissions'").all();
		expect(results).toHaveLength(1);
	});

	it("unknown paths get the JSON error envelope", async () => {
		const res = await exports.default.fetch("http://example.com/api/nope");
		expect(res.status).toBe(404);
		expect(await res.json()).toEqual({ error: { code: "not_found", message: "No such resource." } });
	});
});

describe("GET /api/health lists R2 at most once a minute", () => {
	it("two calls within a minute do one listing, and the second answer is the cached one", async () => {
		const { env: testEnv, calls } = countingEnv();
		expect((await health(testEnv)).backup).toEqual({ ok: false, ageHours: null });
		expect(calls.list).toBe(1);
		// A snapshot appears between the calls: the cached answer does not see it yet.
		await writeSnapshot(env.R2_BUCKET, { time: new Date(Date.now() - H), tables: { submissions: { rows: [] } } });
		expect((await health(testEnv)).backup).toEqual({ ok: false, ageHours: null });
		expect(calls.list).toBe(1);
	});

	it("through the Worker's own entry too (one env per isolate): a snapshot written between two calls is not seen", async () => {
		const first = (await (await exports.default.fetch("http://example.com/api/health")).json()) as { backup: unknown };
		await writeSnapshot(env.R2_BUCKET, { time: new Date(Date.now() - H), tables: { submissions: { rows: [] } } });
		const second = (await (await exports.default.fetch("http://example.com/api/health")).json()) as { backup: unknown };
		expect(first.backup).toEqual({ ok: false, ageHours: null });
		expect(second.backup).toEqual(first.backup);
	});

	it("a minute after the listing, the next call lists again and sees the new snapshot", async () => {
		const { env: testEnv, calls } = countingEnv();
		const config = getConfig(testEnv);
		const t0 = new Date("2026-11-25T10:00:00Z");
		expect(await fetchCachedBackupHealth(testEnv, config, t0)).toEqual({ ok: false, ageHours: null });
		await writeSnapshot(env.R2_BUCKET, { time: new Date("2026-11-25T09:00:00Z"), tables: { submissions: { rows: [] } } });
		// Just under a minute: cached.
		expect(await fetchCachedBackupHealth(testEnv, config, new Date(t0.getTime() + HEALTH_CACHE_MS - 1))).toEqual({ ok: false, ageHours: null });
		expect(calls.list).toBe(1);
		// A minute: listed again.
		const later = await fetchCachedBackupHealth(testEnv, config, new Date(t0.getTime() + HEALTH_CACHE_MS));
		expect(later.ok).toBe(true);
		expect(later.ageHours).toBe(1);
		expect(calls.list).toBe(2);
	});

	it("the same through the route, with the request's time moved a minute on", async () => {
		const { env: testEnv, calls } = countingEnv();
		vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
		expect((await health(testEnv)).backup.ok).toBe(false);
		await writeSnapshot(env.R2_BUCKET, { time: new Date(Date.now() - H), tables: { submissions: { rows: [] } } });
		vi.setSystemTime(Date.now() + HEALTH_CACHE_MS - 1000);
		expect((await health(testEnv)).backup.ok).toBe(false);
		expect(calls.list).toBe(1);
		vi.setSystemTime(Date.now() + 1000);
		expect((await health(testEnv)).backup.ok).toBe(true);
		expect(calls.list).toBe(2);
	});

	it("a clock that went back does not reuse an answer from its future", async () => {
		const { env: testEnv, calls } = countingEnv();
		const config = getConfig(testEnv);
		const t0 = new Date("2026-11-25T10:00:00Z");
		await fetchCachedBackupHealth(testEnv, config, t0);
		await fetchCachedBackupHealth(testEnv, config, new Date(t0.getTime() - 1));
		expect(calls.list).toBe(2);
	});

	it("failure path: a failing R2 listing is 'not ok', and is cached like any answer (R2 is not hammered)", async () => {
		const { env: testEnv, calls } = countingEnv({ failList: true });
		await writeSnapshot(env.R2_BUCKET, { time: new Date(Date.now() - H), tables: { submissions: { rows: [] } } });
		expect((await health(testEnv)).backup).toEqual({ ok: false, ageHours: null });
		expect((await health(testEnv)).backup).toEqual({ ok: false, ageHours: null });
		expect(calls.list).toBe(1);
	});

	it("calls arriving together share one listing", async () => {
		const { env: testEnv, calls } = countingEnv();
		await Promise.all([health(testEnv), health(testEnv), health(testEnv)]);
		expect(calls.list).toBe(1);
	});
});
