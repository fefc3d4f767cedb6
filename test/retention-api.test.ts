// GET /api/admin/retention through the real app: a dry run that explains itself and changes nothing.
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { buildSnapshotId, manifestKey } from "../src/snapshots/format";
import { MANIFEST_SHA_META } from "../src/snapshots/store";
import { clearSnapshots, writeCountSnapshot } from "./helpers/snapshot";

const TOKEN = "test-admin-token-0123456789abcdef";
const DAY = 86_400_000;

function get(query = "", token: string | null = TOKEN) {
	return exports.default.fetch(`http://example.com/api/admin/retention${query}`, {
		headers: token ? { Authorization: `Bearer ${token}` } : {},
	});
}

async function allKeys(): Promise<string[]> {
	const page = await env.R2_BUCKET.list({ prefix: "snapshots/", limit: 1000 });
	return page.objects.map((o) => o.key).sort();
}

type Body = {
	dryRun: boolean;
	kept: number;
	removed: number;
	policy: { keepDaily: number; keepWeekly: number; keepMonthly: number };
	snapshots: Array<{ id: string; keep: boolean; reasons: string[]; verified: boolean; submissions: number | null }>;
	unreadable: Array<{ id: string; reason: string }>;
};

beforeEach(async () => {
	await clearSnapshots(env.R2_BUCKET);
});

/** Snapshots on the 10 days ending today (relative to the wall clock: the endpoint's "now" is the request time). */
async function writeRecentDays(n: number) {
	const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate(), 0, 0);
	for (let i = n - 1; i >= 0; i--) await writeCountSnapshot(env.R2_BUCKET, new Date(today - i * DAY), 10);
}

describe("GET /api/admin/retention", () => {
	it("requires the administrator token", async () => {
		const res = await get("", null);
		expect(res.status).toBe(401);
		expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
		expect((await get("", "wrong-token-wrong-token-wrong")).status).toBe(401);
	});

	it("empty bucket: nothing kept, nothing removed", async () => {
		const res = await get();
		expect(res.status).toBe(200);
		const body = (await res.json()) as Body;
		expect(body).toMatchObject({ dryRun: true, kept: 0, removed: 0, snapshots: [], unreadable: [] });
		expect(body.policy).toEqual({ keepDaily: 30, keepWeekly: 8, keepMonthly: 12 });
	});

	it("explains every decision and deletes nothing", async () => {
		await writeRecentDays(10);
		const before = await allKeys();
		const res = await get("?keepDaily=3&keepWeekly=0&keepMonthly=0");
		expect(res.status).toBe(200);
		const body = (await res.json()) as Body;
		expect(body.dryRun).toBe(true);
		expect(body.policy).toEqual({ keepDaily: 3, keepWeekly: 0, keepMonthly: 0 });
		expect(body.snapshots).toHaveLength(10);
		// 7 outside the 3 daily slots; the 25% cap lets 2 go (floor(10 * 0.25)), 5 deferred
		expect(body.removed).toBe(2);
		expect(body.kept).toBe(8);
		expect(body.snapshots[0]!.reasons[0]).toMatch(/^daily \d{4}-\d{2}-\d{2}$/);
		expect(body.snapshots[0]!.reasons).toContain("newest verified");
		expect(body.snapshots.filter((s) => s.reasons.some((r) => r.startsWith("deferred:")))).toHaveLength(5);
		expect(body.snapshots.at(-1)).toMatchObject({ keep: false, reasons: ["outside the daily, weekly and monthly slots"] });
		expect(body.snapshots.every((s) => s.submissions === 10 && s.verified)).toBe(true);
		// The same reasons as data, and each snapshot's real fate: the deferred ones go later.
		const all = body.snapshots as unknown as Array<{ fate: string; why: Array<{ code: string }> }>;
		expect(all[0]!.why.map((w) => w.code)).toEqual(["daily", "newest"]);
		expect(all[0]!.why[0]).toMatchObject({ period: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
		expect(all.map((s) => s.fate)).toEqual([...Array(3).fill("keep"), ...Array(5).fill("remove_later"), "remove", "remove"]);
		expect(all.filter((s) => s.fate === "remove_later").every((s) => s.why.length === 1 && s.why[0]!.code === "deferred")).toBe(true);
		expect(all.flatMap((s) => s.why.map((w) => w.code))).not.toContain("other");
		expect(await allKeys()).toEqual(before);
	});

	it.each([
		["?keepDaily=abc", "keepDaily", "must be a whole number"],
		["?keepDaily=0", "keepDaily", "must be at least 1"],
		["?keepWeekly=-1", "keepWeekly", "must be a whole number"],
		["?keepMonthly=99999", "keepMonthly", "must be at most 1200"],
		["?keepdaily=3", "keepdaily", "unknown parameter"],
	])("bad input %s → 400 naming %s", async (query, field, why) => {
		await writeRecentDays(2);
		const before = await allKeys();
		const res = await get(query);
		expect(res.status).toBe(400);
		const body = (await res.json()) as { error: { code: string; fields: Record<string, string> } };
		expect(body.error.code).toBe("invalid_query");
		expect(body.error.fields[field]).toBe(why);
		expect(await allKeys()).toEqual(before);
	});

	it("a snapshot with an unreadable manifest is reported and left alone", async () => {
		await writeRecentDays(2);
		const id = buildSnapshotId(new Date(Date.now() - 40 * DAY), "broken");
		await env.R2_BUCKET.put(manifestKey(id), "{ not json", { customMetadata: { [MANIFEST_SHA_META]: "0".repeat(64) } });
		const res = await get();
		expect(res.status).toBe(200);
		const body = (await res.json()) as Body;
		expect(body.unreadable).toEqual([{ id, reason: `manifest of ${id} does not match its SHA-256` }]);
		expect(body.snapshots.map((s) => s.id)).not.toContain(id);
		expect(await env.R2_BUCKET.head(manifestKey(id))).not.toBeNull();
	});
});
