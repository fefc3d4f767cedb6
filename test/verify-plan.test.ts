// Pure parts of the weekly verification: the sample, the rotating chunk sample, the drill's rules.
import { describe, expect, it } from "vitest";
import { digestRows, EMPTY_DIGEST } from "../src/snapshots/format";
import {
	buildDrillRule,
	buildReadSelection,
	describeCoverage,
	buildVerifySample,
	compareDrillTable,
	projectRow,
} from "../src/verify/plan";
import { buildVerifyRunId, compareWithManifest } from "../src/jobs/verify-workflow";
import { buildEntryBlock } from "../src/jobs/entry-blocks";

describe("buildVerifySample", () => {
	const ids = ["s6", "s5", "s4", "s3", "s2", "s1"]; // newest first
	it.each([
		{ name: "0 = every snapshot", sample: 0, checks: {}, want: ids },
		{ name: "sample larger than the history", sample: 10, checks: {}, want: ids },
		{ name: "never-checked first, oldest first; the newest always", sample: 3, checks: {}, want: ["s6", "s2", "s1"] },
		{
			name: "least recently checked next",
			sample: 3,
			checks: { s1: "2026-11-23T03:00:00Z", s2: "2026-11-23T03:00:00Z", s3: "2026-11-16T03:00:00Z", s4: "2026-11-23T03:00:00Z", s5: "2026-11-23T03:00:00Z" },
			want: ["s6", "s3", "s1"],
		},
		{ name: "sample of 1: only the newest", sample: 1, checks: {}, want: ["s6"] },
	])("$name", ({ sample, checks, want }) => {
		expect(buildVerifySample(ids, new Map(Object.entries(checks)), sample)).toEqual(want);
	});

	it("rotates: four weekly runs of 3 out of 6 cover every snapshot", () => {
		const checked = new Map<string, string>();
		const seen = new Set<string>();
		for (let week = 1; week <= 4; week++) {
			for (const id of buildVerifySample(ids, checked, 3)) {
				seen.add(id);
				checked.set(id, `2026-11-0${week}T03:00:00Z`);
			}
		}
		expect([...seen].sort()).toEqual([...ids].sort());
	});
});

describe("buildReadSelection: the rotating sample of chunks", () => {
	// Newest first, as the plan lists them; parts per chunk.
	const snaps = [
		{ id: "2026-11-30T020000Z-d", partsPerChunk: [2, 2] },
		{ id: "2026-11-29T020000Z-c", partsPerChunk: [1, 3, 1] },
		{ id: "2026-11-28T020000Z-b", partsPerChunk: [2, 2] },
		{ id: "2026-11-27T020000Z-a", partsPerChunk: [4] },
	];

	it("reads everything, and clears the cursor, when everything fits the budget", () => {
		const sel = buildReadSelection(snaps, "2026-11-28T020000Z-b/1", 1000);
		expect(sel.reads.map((r) => [r.id, r.ranges, r.whole])).toEqual(snaps.map((s) => [s.id, [[1, s.partsPerChunk.length]], true]));
		expect(sel).toMatchObject({ cursor: null, chunksTotal: 8, chunksRead: 8, partsTotal: 17, partsRead: 17, cycleRuns: 1 });
		expect(describeCoverage(sel).fr).toBe("tous les morceaux relus cette semaine");
	});

	it("with a tiny budget: the newest whole every run, the others in turn, every chunk within cycleRuns runs", () => {
		let cursor: string | null = null;
		const seen = new Set<string>();
		const first = buildReadSelection(snaps, cursor, 6);
		// 4 parts of the newest, then at least a quarter of the budget (2 parts) for the others.
		expect(first.reads[0]).toEqual({ id: snaps[0]!.id, ranges: [[1, 2]], whole: true });
		expect(first.cycleRuns).toBe(7); // 13 other parts, 2 per run
		expect(describeCoverage(first).fr).toMatch(/^\d+ % des morceaux relus cette semaine ; tous relus en 7 semaines$/);
		for (let run = 0; run < first.cycleRuns; run++) {
			const sel = buildReadSelection(snaps, cursor, 6);
			expect(sel.reads[0]!.id).toBe(snaps[0]!.id);
			expect(sel.partsRead).toBeLessThanOrEqual(4 + 4); // one chunk may overrun a little, never more than one
			for (const r of sel.reads.slice(1)) for (const [from, to] of r.ranges) for (let n = from; n <= to; n++) seen.add(`${r.id}/${n}`);
			cursor = sel.cursor;
		}
		const others = snaps.slice(1).flatMap((s) => s.partsPerChunk.map((_, i) => `${s.id}/${i + 1}`));
		expect([...seen].sort()).toEqual(others.sort());
	});

	it("starts after the cursor, oldest snapshot first, and wraps around", () => {
		const sel = buildReadSelection(snaps, "2026-11-29T020000Z-c/3", 6);
		// After the last chunk of the newest "other" snapshot comes the oldest one again.
		expect(sel.reads.slice(1)).toEqual([{ id: "2026-11-27T020000Z-a", ranges: [[1, 1]], whole: true }]);
		expect(sel.cursor).toBe("2026-11-27T020000Z-a/1");
		// An unknown cursor (a snapshot deleted since) goes on from the next one in order.
		expect(buildReadSelection(snaps, "2026-11-27T120000Z-x/9", 6).reads[1]).toEqual({ id: "2026-11-28T020000Z-b", ranges: [[1, 1]], whole: false });
	});

	it("nothing retained: nothing to read", () => {
		expect(buildReadSelection([], "x/1", 10)).toMatchObject({ reads: [], cursor: null, chunksTotal: 0 });
		expect(describeCoverage({ chunksTotal: 0, chunksRead: 0, cycleRuns: 1 }).en).toBe("no chunk to read");
	});
});

describe("buildEntryBlock", () => {
	it("lists consecutive chunks up to the parts budget, at least one", () => {
		expect(buildEntryBlock([1, 2, 3, 7, 8], 0, [400, 400, 400, 1, 1, 1, 1, 1])).toBe(2);
		expect(buildEntryBlock([1, 2, 3, 7, 8], 2, [400, 400, 400, 1, 1, 1, 1, 1])).toBe(1);
		expect(buildEntryBlock([5], 0, [1, 1, 1, 1, 5000])).toBe(1);
	});
});

describe("restore drill rules", () => {
	it("compares bounded tables, ignores moving role counters, skips unbounded tables", () => {
		expect(buildDrillRule("submissions", 10)).toEqual({ compare: true, ignoreColumns: [], excludeErased: true });
		expect(buildDrillRule("roles", 3)).toEqual({ compare: true, ignoreColumns: ["use_count", "last_used_at", "label", "approved_at", "merged_into"], excludeErased: false });
		expect(buildDrillRule("audit_log", 0)).toMatchObject({ compare: true, excludeErased: false });
		expect(buildDrillRule("counters", null)).toMatchObject({ compare: false });
	});

	it("projects rows onto the snapshot's columns (a column added later is not a difference)", () => {
		const live = { seq: 1, role_key: "x", label: "X", use_count: 9, new_col: "later" };
		expect(projectRow(live, ["use_count"], ["seq", "role_key", "label", "use_count"])).toEqual({ seq: 1, role_key: "x", label: "X" });
		expect(projectRow({ seq: 1 }, [], ["seq", "gone"])).toEqual({ seq: 1, gone: null });
	});

	it("names what differs", () => {
		const rule = buildDrillRule("submissions", 2);
		const a = { rows: 2, digest: digestRows("submissions", [{ id: "a" }, { id: "b" }]) };
		const b = { rows: 2, digest: digestRows("submissions", [{ id: "a" }, { id: "c" }]) };
		expect(compareDrillTable({ table: "submissions", rule, snapshot: a, live: a, erased: 1 })).toMatchObject({ ok: true, note: null, erasedSinceSnapshot: 1 });
		expect(compareDrillTable({ table: "submissions", rule, snapshot: a, live: b, erased: 0 }).note).toBe("same number of rows, different content");
		expect(compareDrillTable({ table: "submissions", rule, snapshot: a, live: { rows: 1, digest: EMPTY_DIGEST }, erased: 0 }).note).toBe(
			"2 rows in the snapshot, 1 live",
		);
	});
});

describe("whole-snapshot check and run ids", () => {
	it("the chunks' sums must give the manifest's tables back", () => {
		const rows = [{ id: "a" }, { id: "b" }];
		const expected = { submissions: { rows: 2, digest: digestRows("submissions", rows) } };
		expect(compareWithManifest({ id: "s", expected }, { submissions: { rows: 2, digest: digestRows("submissions", rows) } })).toEqual([]);
		const bad = compareWithManifest({ id: "s", expected }, { submissions: { rows: 2, digest: digestRows("submissions", [{ id: "x" }, { id: "b" }]) } });
		expect(bad).toMatchObject([{ snapshotId: "s", chunk: null, reason: "content_digest" }]);
		expect(compareWithManifest({ id: "s", expected }, {})).toHaveLength(1);
	});

	it("one run id per scheduled day", () => {
		expect(buildVerifyRunId(Date.parse("2026-11-30T03:00:00Z"))).toBe("verify-2026-11-30");
		expect(buildVerifyRunId(Date.parse("2026-11-30T03:00:59.999Z"))).toBe("verify-2026-11-30");
	});
});
