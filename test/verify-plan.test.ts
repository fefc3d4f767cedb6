// Pure parts of the weekly verification: the sample, the step batches, the drill's rules.
import { describe, expect, it } from "vitest";
import { digestRows, EMPTY_DIGEST } from "../src/snapshots/format";
import {
	buildChunkBatches,
	buildDrillRule,
	buildVerifySample,
	compareDrillTable,
	projectRow,
} from "../src/verify/plan";
import { buildVerifyRunId, compareWithManifest } from "../src/jobs/verify-workflow";

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

describe("buildChunkBatches", () => {
	const chunk = (n: number, bytes: number) => ({ n, bytes });
	it.each([
		{ name: "no chunk, no step", chunks: [], budget: 100, max: 10, want: [] },
		{ name: "all in one step", chunks: [chunk(1, 10), chunk(2, 10), chunk(3, 10)], budget: 100, max: 10, want: [[1, 3]] },
		{ name: "split by bytes", chunks: [chunk(1, 60), chunk(2, 30), chunk(3, 20), chunk(4, 90)], budget: 100, max: 10, want: [[1, 2], [3, 3], [4, 4]] },
		{ name: "a chunk larger than the budget gets its own step", chunks: [chunk(1, 10), chunk(2, 500), chunk(3, 10)], budget: 100, max: 10, want: [[1, 1], [2, 2], [3, 3]] },
		{ name: "split by count", chunks: [1, 2, 3, 4, 5].map((n) => chunk(n, 1)), budget: 100, max: 2, want: [[1, 2], [3, 4], [5, 5]] },
	])("$name", ({ chunks, budget, max, want }) => {
		expect(buildChunkBatches(chunks, budget, max)).toEqual(want);
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
