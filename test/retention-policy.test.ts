// Table-driven tests of the pure retention policy and each of its safety rules.
import { describe, expect, it } from "vitest";
import { buildSnapshotId } from "../src/snapshots/format";
import {
	applyPolicy,
	buildWeekKey,
	capRemovals,
	findDataLoss,
	keepInUse,
	planRetention,
	type ErasureEvent,
	type KnownPin,
	type RetentionPolicy,
	type SnapshotFacts,
} from "../src/retention/policy";

let counter = 0;
/** A snapshot at an ISO time; `verified` true and 100 submissions unless told otherwise. */
function snap(iso: string, over: Partial<SnapshotFacts> = {}): SnapshotFacts {
	const time = new Date(iso);
	counter++;
	return { id: buildSnapshotId(time, `s${counter}`), time, verified: true, tables: { submissions: 100 }, ...over };
}

/** n daily snapshots at 02:00 UTC ending on `lastDay` (inclusive), oldest first. */
function daily(lastDay: string, n: number, skip: (i: number) => boolean = () => false): SnapshotFacts[] {
	const end = new Date(`${lastDay}T02:00:00Z`).getTime();
	const out: SnapshotFacts[] = [];
	for (let i = n - 1; i >= 0; i--) {
		if (skip(i)) continue;
		out.push(snap(new Date(end - i * 86_400_000).toISOString()));
	}
	return out;
}

const defaults: RetentionPolicy = { keepDaily: 30, keepWeekly: 8, keepMonthly: 12 };
const kept = (ds: { keep: boolean; time: string }[]) => ds.filter((d) => d.keep).map((d) => d.time.slice(0, 16));
const removed = (ds: { keep: boolean; time: string }[]) => ds.filter((d) => !d.keep).map((d) => d.time.slice(0, 16));

describe("ISO week keys", () => {
	it.each([
		["2026-11-25T02:00:00Z", "2026-W48"],
		["2026-11-23T00:00:00Z", "2026-W48"], // Monday starts the week
		["2026-11-22T23:59:59Z", "2026-W47"], // Sunday ends the previous one
		["2026-12-31T02:00:00Z", "2026-W53"], // 2026 has 53 ISO weeks
		["2027-01-03T02:00:00Z", "2026-W53"], // year boundary: still the last week of 2026
		["2027-01-04T02:00:00Z", "2027-W01"],
		["2024-12-30T02:00:00Z", "2025-W01"], // a December day in next year's week 1
	])("%s is %s", (iso, key) => {
		expect(buildWeekKey(new Date(iso))).toBe(key);
	});
});

describe("applyPolicy: which snapshot each slot keeps", () => {
	const cases: {
		name: string;
		snapshots: () => SnapshotFacts[];
		policy: RetentionPolicy;
		now: string;
		kept: string[];
		removed: string[];
	}[] = [
		{
			name: "fewer snapshots than the policy allows: all kept",
			snapshots: () => daily("2026-11-25", 3),
			policy: defaults,
			now: "2026-11-25T03:00:00Z",
			kept: ["2026-11-25T02:00", "2026-11-24T02:00", "2026-11-23T02:00"],
			removed: [],
		},
		{
			name: "several snapshots on one day: the newest of the day is the daily one",
			snapshots: () => [
				snap("2026-11-25T02:00:00Z"),
				snap("2026-11-25T09:30:00Z"),
				snap("2026-11-25T17:45:00Z"),
				snap("2026-11-24T02:00:00Z"),
			],
			policy: { keepDaily: 2, keepWeekly: 0, keepMonthly: 0 },
			now: "2026-11-25T18:00:00Z",
			kept: ["2026-11-25T17:45", "2026-11-24T02:00"],
			removed: ["2026-11-25T09:30", "2026-11-25T02:00"],
		},
		{
			name: "gaps in history do not use up the daily quota (last N days that HAVE a snapshot)",
			snapshots: () => [
				snap("2026-11-01T02:00:00Z"),
				snap("2026-11-02T02:00:00Z"),
				snap("2026-11-10T02:00:00Z"), // 8 days without backups before this one
				snap("2026-11-11T02:00:00Z"),
			],
			policy: { keepDaily: 3, keepWeekly: 0, keepMonthly: 0 },
			now: "2026-11-11T03:00:00Z",
			kept: ["2026-11-11T02:00", "2026-11-10T02:00", "2026-11-02T02:00"],
			removed: ["2026-11-01T02:00"],
		},
		{
			name: "month boundary: the last snapshot of each month is the monthly one",
			snapshots: () => [
				snap("2026-09-15T02:00:00Z"),
				snap("2026-09-30T02:00:00Z"),
				snap("2026-10-01T02:00:00Z"),
				snap("2026-10-31T23:59:00Z"),
				snap("2026-11-01T00:00:00Z"),
			],
			policy: { keepDaily: 1, keepWeekly: 0, keepMonthly: 3 },
			now: "2026-11-01T03:00:00Z",
			kept: ["2026-11-01T00:00", "2026-10-31T23:59", "2026-09-30T02:00"],
			removed: ["2026-10-01T02:00", "2026-09-15T02:00"],
		},
		{
			name: "year boundary: weekly slots follow ISO weeks across the new year, monthly slots the months",
			snapshots: () => [
				snap("2026-12-27T02:00:00Z"), // Sunday, 2026-W52
				snap("2026-12-28T02:00:00Z"), // Monday, 2026-W53
				snap("2026-12-31T02:00:00Z"), // 2026-W53, last of December
				snap("2027-01-03T02:00:00Z"), // Sunday, still 2026-W53
				snap("2027-01-04T02:00:00Z"), // Monday, 2027-W01
			],
			policy: { keepDaily: 1, keepWeekly: 3, keepMonthly: 2 },
			now: "2027-01-04T03:00:00Z",
			kept: ["2027-01-04T02:00", "2027-01-03T02:00", "2026-12-31T02:00", "2026-12-27T02:00"],
			removed: ["2026-12-28T02:00"],
		},
		{
			name: "a future-dated snapshot is kept and takes no slot",
			snapshots: () => [snap("2026-11-24T02:00:00Z"), snap("2026-11-25T02:00:00Z"), snap("2027-03-01T02:00:00Z")],
			policy: { keepDaily: 1, keepWeekly: 0, keepMonthly: 0 },
			now: "2026-11-25T03:00:00Z",
			kept: ["2027-03-01T02:00", "2026-11-25T02:00"],
			removed: ["2026-11-24T02:00"],
		},
		{
			name: "a slot prefers a verified snapshot over a newer corrupt one",
			snapshots: () => [snap("2026-11-25T02:00:00Z"), snap("2026-11-25T14:00:00Z", { verified: false })],
			policy: { keepDaily: 1, keepWeekly: 0, keepMonthly: 0 },
			now: "2026-11-25T15:00:00Z",
			kept: ["2026-11-25T02:00"],
			removed: ["2026-11-25T14:00"],
		},
		{
			name: "empty history: nothing to decide",
			snapshots: () => [],
			policy: defaults,
			now: "2026-11-25T03:00:00Z",
			kept: [],
			removed: [],
		},
	];

	it.each(cases)("$name", (c) => {
		const decisions = applyPolicy(c.snapshots(), c.policy, new Date(c.now));
		expect(kept(decisions)).toEqual(c.kept);
		expect(removed(decisions)).toEqual(c.removed);
	});

	it("60 daily backups with the defaults: 30 dailies, then weekly and monthly ones, with reasons", () => {
		const snaps = daily("2026-11-25", 60);
		const decisions = applyPolicy(snaps, defaults, new Date("2026-11-25T03:00:00Z"));
		expect(decisions.map((d) => d.time.slice(0, 10))).toEqual(
			[...snaps].reverse().map((s) => s.time.toISOString().slice(0, 10)),
		);
		expect(decisions[0]!.reasons).toEqual(["daily 2026-11-25", "weekly 2026-W48", "monthly 2026-11"]);
		const k = kept(decisions).map((t) => t.slice(0, 10));
		// 30 dailies (10-27 .. 11-25), weekly Sundays older than that, the last day of each older month
		expect(k.slice(0, 30)).toHaveLength(30);
		expect(k.slice(30)).toEqual(["2026-10-25", "2026-10-18", "2026-10-11", "2026-09-30"]);
		const oct25 = decisions.find((d) => d.time.startsWith("2026-10-25"))!;
		expect(oct25.reasons).toEqual(["weekly 2026-W43"]);
		expect(decisions.find((d) => d.time.startsWith("2026-10-24"))!.reasons).toEqual([
			"outside the daily, weekly and monthly slots",
		]);
	});
});

describe("safety rules", () => {
	const limits = { maxRemovePct: 100 };
	const now = new Date("2026-11-25T03:00:00Z");
	const policy = { keepDaily: 2, keepWeekly: 0, keepMonthly: 0 };

	it("the newest verified snapshot is never removed, even when newer ones are corrupt", () => {
		const snaps = [
			snap("2026-11-20T02:00:00Z"),
			snap("2026-11-21T02:00:00Z"),
			snap("2026-11-24T02:00:00Z", { verified: false }),
			snap("2026-11-25T02:00:00Z", { verified: false }),
		];
		const plan = planRetention({ snapshots: snaps, policy, limits, now, backupStatus: "complete" });
		expect(kept(plan.decisions)).toEqual(["2026-11-25T02:00", "2026-11-24T02:00", "2026-11-21T02:00"]);
		expect(plan.decisions.find((d) => d.time.startsWith("2026-11-21"))!.reasons).toEqual(["newest verified"]);
	});

	it("no pruning after a failed backup", () => {
		const snaps = daily("2026-11-25", 6);
		const ok = planRetention({ snapshots: snaps, policy, limits, now, backupStatus: "complete" });
		expect(removed(ok.decisions)).toHaveLength(4);
		const held = planRetention({ snapshots: snaps, policy, limits, now, backupStatus: "failed" });
		expect(removed(held.decisions)).toEqual([]);
		expect(held.held).toBe("the last backup failed");
		expect(held.decisions.at(-1)!.reasons[0]).toMatch(/^held: /);
	});

	it.each([
		{ total: 40, pct: 25, removable: 38, removed: 10 },
		{ total: 10, pct: 25, removable: 8, removed: 2 },
		{ total: 3, pct: 25, removable: 1, removed: 0 }, // floor(0.75) = 0: the bound is strict
		{ total: 10, pct: 100, removable: 8, removed: 8 },
	])("at most $pct% of $total snapshots removed per run, oldest first", (c) => {
		const snaps = daily("2026-11-25", c.total);
		const decisions = applyPolicy(snaps, { keepDaily: c.total - c.removable, keepWeekly: 0, keepMonthly: 0 }, now);
		expect(removed(decisions)).toHaveLength(c.removable);
		const capped = capRemovals(decisions, c.pct);
		const gone = removed(capped);
		expect(gone).toHaveLength(c.removed);
		// the removed ones are the oldest
		const oldest = snaps.slice(0, c.removed).map((s) => s.time.toISOString().slice(0, 16));
		expect([...gone].sort()).toEqual(oldest);
		if (c.removable > c.removed) {
			expect(capped.filter((d) => d.reasons.some((r) => r.startsWith("deferred:")))).toHaveLength(c.removable - c.removed);
		}
	});
});

// ---------------------------------------------------------------------------------------------
// Data loss: the detector and the pins

/** Hourly snapshots on 2026-11-25 from 01:00, each read from 1 min to 2 min past its hour. */
function series(rows: Array<number | Record<string, number>>, over: Array<Partial<SnapshotFacts>> = []): SnapshotFacts[] {
	return rows.map((r, i) => {
		const time = new Date(Date.UTC(2026, 10, 25, 1 + i));
		return snap(time.toISOString(), {
			tables: typeof r === "number" ? { submissions: r } : r,
			startedAt: new Date(time.getTime() + 60_000),
			finishedAt: new Date(time.getTime() + 120_000),
			...over[i],
		});
	});
}

/** Erasures of `n` submissions at `min` minutes past `hour`:00 on 2026-11-25. */
const erased = (hour: number, min: number, n: number): ErasureEvent => ({ at: new Date(Date.UTC(2026, 10, 25, hour, min)), submissions: n });
const LATE = new Date("2026-11-26T00:00:00Z");

describe("findDataLoss: what is a loss, and which snapshots it pins", () => {
	const cases: {
		name: string;
		rows: Array<number | Record<string, number>>;
		erasures?: ErasureEvent[];
		/** Indexes of the snapshots named by pins (detectedIn), and whether released. */
		pins?: Array<{ at: number; released: boolean }>;
		/** null = no loss; else the pinned indexes and the losses (fromSnapshot by index). */
		expected: null | { pinned: number[]; tables: Array<{ table: string; from: number; fromAt: number; to: number; erased: number; lost: number }> };
	}[] = [
		{ name: "growth is not a loss", rows: [40, 41, 45], expected: null },
		{ name: "no snapshot, or only one: nothing to compare", rows: [40], expected: null },
		{
			name: "the reproduction: 40, then 10 three times → the 40 is pinned",
			rows: [40, 10, 10, 10],
			expected: { pinned: [0], tables: [{ table: "submissions", from: 40, fromAt: 0, to: 10, erased: 0, lost: 30 }] },
		},
		{
			name: "ONE unexplained row is a loss (answers are only ever deleted by erasure)",
			rows: [100, 99],
			expected: { pinned: [0], tables: [{ table: "submissions", from: 100, fromAt: 0, to: 99, erased: 0, lost: 1 }] },
		},
		{ name: "a drop explained by recorded erasures is not a loss", rows: [100, 70], erasures: [erased(1, 30, 30)], expected: null },
		{ name: "erasures before every snapshot change nothing", rows: [100, 100], erasures: [erased(0, 10, 5)], expected: null },
		{
			name: "partly explained: 2 erased on request, 30 gone without a request",
			rows: [40, 8],
			erasures: [erased(1, 30, 2)],
			expected: { pinned: [0], tables: [{ table: "submissions", from: 40, fromAt: 0, to: 8, erased: 2, lost: 30 }] },
		},
		{
			name: "an erasure recorded while the newest backup was reading gets the benefit of the doubt",
			rows: [100, 99],
			erasures: [erased(2, 1, 1)], // 02:01, inside [02:01, 02:02]
			expected: null,
		},
		{
			name: "an erasure after the newest backup finished explains nothing in it",
			rows: [100, 99],
			erasures: [erased(2, 30, 1)],
			expected: { pinned: [0], tables: [{ table: "submissions", from: 100, fromAt: 0, to: 99, erased: 0, lost: 1 }] },
		},
		{
			name: "the trend, not the last two: a loss two backups ago is still seen",
			rows: [40, 10, 10],
			expected: { pinned: [0], tables: [{ table: "submissions", from: 40, fromAt: 0, to: 10, erased: 0, lost: 30 }] },
		},
		{
			name: "a slow leak is compared with the fullest snapshot; everything up to the last one holding lost rows is pinned",
			rows: [100, 99, 98, 97],
			expected: { pinned: [0, 1, 2], tables: [{ table: "submissions", from: 100, fromAt: 0, to: 97, erased: 0, lost: 3 }] },
		},
		{
			name: "each watched table on its own: roles lost, submissions grew; unknown tables are ignored",
			rows: [{ submissions: 10, roles: 5, counters: 9 }, { submissions: 12, roles: 3, counters: 1 }],
			expected: { pinned: [0], tables: [{ table: "roles", from: 5, fromAt: 0, to: 3, erased: 0, lost: 2 }] },
		},
		{
			name: "several tables: one pin, up to the newest snapshot that still held any lost row",
			rows: [{ submissions: 40, audit_log: 10 }, { submissions: 40, audit_log: 5 }, { submissions: 10, audit_log: 5 }],
			expected: {
				pinned: [0, 1],
				tables: [
					{ table: "submissions", from: 40, fromAt: 1, to: 10, erased: 0, lost: 30 },
					{ table: "audit_log", from: 10, fromAt: 0, to: 5, erased: 0, lost: 5 },
				],
			},
		},
		{ name: "a table the newest manifest does not list is not compared", rows: [{ submissions: 40 }, {}], expected: null },
		{ name: "an existing pin covers its loss: not pinned twice", rows: [40, 10, 10], pins: [{ at: 1, released: false }], expected: null },
		{ name: "a released pin is the new baseline: the same level is not a loss", rows: [40, 10, 10], pins: [{ at: 1, released: true }], expected: null },
		{
			name: "after a released pin, a further loss pins again, every older snapshot included",
			rows: [40, 10, 10, 8],
			pins: [{ at: 1, released: true }],
			expected: { pinned: [0, 1, 2], tables: [{ table: "submissions", from: 10, fromAt: 2, to: 8, erased: 0, lost: 2 }] },
		},
	];

	it.each(cases)("$name", (c) => {
		const snaps = series(c.rows);
		const pins = (c.pins ?? []).map((p) => ({ detectedIn: snaps[p.at]!.id, released: p.released }));
		const found = findDataLoss({ snapshots: snaps, erasures: c.erasures, pins, now: LATE });
		if (c.expected === null) return expect(found).toBeNull();
		const newest = snaps.at(-1)!;
		expect(found).toEqual({
			id: `pin-${newest.id}`,
			detectedIn: newest.id,
			lastBefore: snaps[c.expected.pinned.at(-1)!]!.id,
			snapshotIds: c.expected.pinned.map((i) => snaps[i]!.id),
			tables: c.expected.tables.map(({ fromAt, ...t }) => ({ ...t, fromSnapshot: snaps[fromAt]!.id })),
			reason: expect.stringMatching(new RegExp(`^data loss seen in ${newest.id}: ${c.expected.tables[0]!.table} `)),
		});
	});

	it("a future-dated snapshot is neither the newest nor compared", () => {
		const snaps = [...series([40, 40]), snap("2027-03-01T00:00:00Z", { tables: { submissions: 1 } })];
		expect(findDataLoss({ snapshots: snaps, now: LATE })).toBeNull();
	});

	it("the reason names each table, what was lost and what erasures explain", () => {
		const found = findDataLoss({ snapshots: series([40, 8]), erasures: [erased(1, 30, 2)], now: LATE });
		expect(found!.reason).toMatch(/: submissions 40 → 8 \(30 missing, 2 erased on request\)$/);
	});
});

describe("planRetention with pins and readers", () => {
	const oneDay = { keepDaily: 1, keepWeekly: 0, keepMonthly: 0 };
	const limits = { maxRemovePct: 100 };
	/** P at 10:00 with 40 answers, then three backups with 10 (the reproduction, same day). */
	const repro = () => [
		snap("2026-11-25T10:00:00Z", { tables: { submissions: 40 } }),
		snap("2026-11-25T11:00:00Z", { tables: { submissions: 10 } }),
		snap("2026-11-25T12:00:00Z", { tables: { submissions: 10 } }),
		snap("2026-11-25T13:00:00Z", { tables: { submissions: 10 } }),
	];
	const pinOf = (snaps: SnapshotFacts[], released: boolean): KnownPin => ({
		id: `pin-${snaps[1]!.id}`,
		detectedIn: snaps[1]!.id,
		reason: `data loss seen in ${snaps[1]!.id}: submissions 40 → 10 (30 missing)`,
		snapshotIds: [snaps[0]!.id],
		released,
	});

	const cases: {
		name: string;
		snapshots: () => SnapshotFacts[];
		policy?: RetentionPolicy;
		pins?: (s: SnapshotFacts[]) => KnownPin[];
		readers?: (s: SnapshotFacts[]) => Array<{ kind: "restore" | "verification"; runId: string; snapshotId: string | null }>;
		/** Reasons per snapshot index (newest first in the plan; here by index of `snapshots`). */
		reasons: Array<string[] | "removed">;
		newPin: boolean;
	}[] = [
		{
			name: "no pin yet: the loss is seen now, P pinned in this very plan and holds the day's slot",
			snapshots: repro,
			reasons: [["daily 2026-11-25", "pinned: "], "removed", "removed", ["newest verified"]],
			newPin: true,
		},
		{
			name: "a pin stored earlier keeps P through any number of later backups",
			snapshots: () => [...repro(), snap("2026-11-25T14:00:00Z", { tables: { submissions: 10 } }), snap("2026-11-25T15:00:00Z", { tables: { submissions: 11 } })],
			pins: (s) => [pinOf(s, false)],
			reasons: [["daily 2026-11-25", "pinned: "], "removed", "removed", "removed", "removed", ["newest verified"]],
			newPin: false,
		},
		{
			name: "released: the normal policy applies again (the slot goes to the newest, P is removed)",
			snapshots: repro,
			pins: (s) => [pinOf(s, true)],
			reasons: ["removed", "removed", "removed", ["daily 2026-11-25", "newest verified"]],
			newPin: false,
		},
		{
			name: "a pinned snapshot wins the weekly and monthly slots too",
			policy: { keepDaily: 1, keepWeekly: 1, keepMonthly: 1 },
			snapshots: () => [
				snap("2026-11-23T10:00:00Z", { tables: { submissions: 40 } }),
				snap("2026-11-24T10:00:00Z", { tables: { submissions: 10 } }),
				snap("2026-11-25T10:00:00Z", { tables: { submissions: 10 } }),
			],
			pins: (s) => [{ ...pinOf(s, false) }],
			reasons: [["weekly 2026-W48", "monthly 2026-11", "pinned: "], "removed", ["daily 2026-11-25", "newest verified"]],
			newPin: false,
		},
		{
			name: "a snapshot a running restore reads is kept",
			snapshots: () => series([10, 10, 10]),
			readers: (s) => [{ kind: "restore", runId: "restore-1", snapshotId: s[0]!.id }],
			reasons: [["in use: restore restore-1 is reading this snapshot"], "removed", ["daily 2026-11-25", "newest verified"]],
			newPin: false,
		},
		{
			name: "a running verification holds every snapshot",
			snapshots: () => series([10, 10, 10]),
			readers: () => [{ kind: "verification", runId: "verify-2026-11-23", snapshotId: null }],
			reasons: [
				["in use: verification verify-2026-11-23 is reading the snapshots"],
				["in use: verification verify-2026-11-23 is reading the snapshots"],
				["daily 2026-11-25", "in use: verification verify-2026-11-23 is reading the snapshots", "newest verified"],
			],
			newPin: false,
		},
	];

	it.each(cases)("$name", (c) => {
		const snaps = c.snapshots();
		const plan = planRetention({
			snapshots: snaps,
			policy: c.policy ?? oneDay,
			limits,
			now: LATE,
			backupStatus: "complete",
			pins: c.pins?.(snaps),
			readers: c.readers?.(snaps),
		});
		expect(plan.newPin !== null).toBe(c.newPin);
		const byId = new Map(plan.decisions.map((d) => [d.id, d]));
		c.reasons.forEach((want, i) => {
			const d = byId.get(snaps[i]!.id)!;
			if (want === "removed") return expect(d, `snapshot ${i}`).toMatchObject({ keep: false });
			expect(d.keep, `snapshot ${i}`).toBe(true);
			// "pinned: " stands for any pinned reason (its text is tested above).
			expect(d.reasons.map((r) => (r.startsWith("pinned: ") ? "pinned: " : r)), `snapshot ${i}`).toEqual(want);
		});
	});

	it("keepInUse only turns removals into keeps, adding its reason to kept ones", () => {
		const decisions = [
			{ id: "a", time: "2026-11-25T01:00:00.000Z", keep: true, reasons: ["daily 2026-11-25"] },
			{ id: "b", time: "2026-11-24T01:00:00.000Z", keep: false, reasons: ["outside the daily, weekly and monthly slots"] },
			{ id: "c", time: "2026-11-23T01:00:00.000Z", keep: false, reasons: ["outside the daily, weekly and monthly slots"] },
		];
		expect(keepInUse(decisions, [{ kind: "restore", runId: "r", snapshotId: "b" }])).toEqual([
			decisions[0],
			{ id: "b", time: decisions[1]!.time, keep: true, reasons: ["in use: restore r is reading this snapshot"] },
			decisions[2],
		]);
		expect(keepInUse(decisions, [])).toEqual(decisions);
	});

	it("pins do not survive a failed backup any differently: held and pinned reasons side by side", () => {
		const snaps = repro();
		const plan = planRetention({ snapshots: snaps, policy: oneDay, limits, now: LATE, backupStatus: "failed", pins: [pinOf(snaps, false)] });
		expect(plan.decisions.filter((d) => !d.keep)).toEqual([]);
		expect(plan.held).toBe("the last backup failed");
	});
});
