// Table-driven tests of the pure retention policy and each of its safety rules.
import { describe, expect, it } from "vitest";
import { buildSnapshotId } from "../src/snapshots/format";
import {
	applyPolicy,
	buildWeekKey,
	capRemovals,
	findSuspiciousDrop,
	planRetention,
	type RetentionPolicy,
	type SnapshotFacts,
} from "../src/retention/policy";

let counter = 0;
/** A snapshot at an ISO time; `verified` true and 100 submissions unless told otherwise. */
function snap(iso: string, over: Partial<SnapshotFacts> = {}): SnapshotFacts {
	const time = new Date(iso);
	counter++;
	return { id: buildSnapshotId(time, `s${counter}`), time, verified: true, submissions: 100, ...over };
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
	const limits = { maxRemovePct: 100, freezeDropPct: 20 };
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
		{ from: 200, to: 130, pct: 20, frozen: true, dropPct: 35 },
		{ from: 200, to: 160, pct: 20, frozen: false }, // exactly 20%: not MORE than 20%
		{ from: 200, to: 159, pct: 20, frozen: true, dropPct: 20.5 },
		{ from: 200, to: 250, pct: 20, frozen: false }, // growth
		{ from: 0, to: 0, pct: 20, frozen: false },
		{ from: 10, to: 9, pct: 0, frozen: true, dropPct: 10 }, // 0 = any drop freezes
		{ from: 10, to: 0, pct: 100, frozen: false }, // 100 = never freezes
	])("freeze on a drop $from → $to with $pct%: $frozen", (c) => {
		const snaps = [
			...daily("2026-11-23", 3),
			snap("2026-11-24T02:00:00Z", { submissions: c.from }),
			snap("2026-11-25T02:00:00Z", { submissions: c.to }),
		];
		const plan = planRetention({
			snapshots: snaps,
			policy,
			limits: { maxRemovePct: 100, freezeDropPct: c.pct },
			now,
			backupStatus: "complete",
		});
		expect(plan.frozen !== null).toBe(c.frozen);
		if (c.frozen) {
			expect(plan.frozen).toMatchObject({ dropPct: c.dropPct, from: c.from, to: c.to });
			expect(removed(plan.decisions)).toEqual([]);
			expect(plan.decisions.at(-1)!.reasons[0]).toMatch(/^frozen: submissions fell by/);
		} else {
			expect(removed(plan.decisions)).toHaveLength(3);
		}
	});

	it("freeze ignores a future-dated snapshot and unknown counts", () => {
		const now2 = new Date("2026-11-25T03:00:00Z");
		expect(
			findSuspiciousDrop(
				[snap("2026-11-24T02:00:00Z", { submissions: 100 }), snap("2026-11-25T02:00:00Z", { submissions: 100 }), snap("2027-01-01T00:00:00Z", { submissions: 1 })],
				20,
				now2,
			),
		).toBeNull();
		expect(
			findSuspiciousDrop([snap("2026-11-24T02:00:00Z", { submissions: null }), snap("2026-11-25T02:00:00Z", { submissions: 1 })], 20, now2),
		).toBeNull();
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
