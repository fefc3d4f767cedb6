// Every reason the retention policy writes is recognised as data (code + values), so that the
// dashboard and the CLI can say it in words; and a snapshot kept only by the removal cap is
// reported as removed later, not as kept.
import { describe, expect, it } from "vitest";
import { buildSnapshotId } from "../src/snapshots/format";
import { planRetention, type SnapshotFacts } from "../src/retention/policy";
import { buildRetentionFate, parseRetentionReason } from "../src/retention/reason";

let n = 0;
const snap = (iso: string, over: Partial<SnapshotFacts> = {}): SnapshotFacts => {
	const time = new Date(iso);
	return { id: buildSnapshotId(time, `r${++n}`), time, verified: true, tables: { submissions: 100 }, ...over };
};

describe("parseRetentionReason", () => {
	it.each([
		["daily 2026-12-02", { code: "daily", period: "2026-12-02" }],
		["weekly 2026-W49", { code: "weekly", period: "2026-W49" }],
		["monthly 2026-11", { code: "monthly", period: "2026-11" }],
		["newest verified", { code: "newest" }],
		["future-dated: kept", { code: "future" }],
		["pinned: data loss seen in 2026-12-02T020000Z-ab12: submissions 5 → 3 (2 missing)", { code: "pinned", detectedIn: "2026-12-02T020000Z-ab12" }],
		["in use: restore restore-2026-12-02t100000z-1a2b3c4d is reading this snapshot", { code: "in_use", reader: "restore", runId: "restore-2026-12-02t100000z-1a2b3c4d" }],
		["in use: verification verify-1 is reading the snapshots", { code: "in_use", reader: "verification", runId: "verify-1" }],
		["held: the last backup failed, nothing is pruned", { code: "held" }],
		["deferred: at most 10% of snapshots removed per run", { code: "deferred", maxRemovePct: 10 }],
		["outside the daily, weekly and monthly slots", { code: "outside" }],
		["something new", { code: "other", text: "something new" }],
	])("%s", (text, expected) => {
		expect(parseRetentionReason(text)).toEqual(expected);
	});

	it("recognises every reason of a real plan (no `other`), and reports deferred removals as removed later", () => {
		const snapshots: SnapshotFacts[] = [];
		for (let d = 1; d <= 40; d++) snapshots.push(snap(`2026-10-${String(((d - 1) % 31) + 1).padStart(2, "0")}T02:00:00Z`));
		snapshots.push(snap("2027-06-01T02:00:00Z")); // future-dated
		snapshots.push(snap("2026-11-30T02:00:00Z", { tables: { submissions: 90 } })); // a loss: pins the others
		const plan = planRetention({
			snapshots,
			policy: { keepDaily: 3, keepWeekly: 1, keepMonthly: 1 },
			limits: { maxRemovePct: 10 },
			now: new Date("2026-12-02T12:00:00Z"),
			backupStatus: "complete",
			readers: [{ kind: "restore", runId: "restore-x", snapshotId: snapshots[0]!.id }],
		});
		const codes = new Set(plan.decisions.flatMap((d) => d.reasons.map((r) => parseRetentionReason(r).code)));
		expect([...codes].sort()).toEqual(["daily", "future", "in_use", "monthly", "newest", "pinned", "weekly"].sort());
		const released = planRetention({
			snapshots: snapshots.filter((s) => s.tables.submissions === 100),
			policy: { keepDaily: 3, keepWeekly: 1, keepMonthly: 1 },
			limits: { maxRemovePct: 10 },
			now: new Date("2026-12-02T12:00:00Z"),
			backupStatus: "complete",
		});
		const fates = released.decisions.map(buildRetentionFate);
		expect(fates).toContain("remove");
		expect(fates).toContain("remove_later");
		const later = released.decisions.filter((d) => buildRetentionFate(d) === "remove_later");
		for (const d of later) expect(d.reasons.map((r) => parseRetentionReason(r).code)).toEqual(["deferred"]);
		expect(new Set(released.decisions.flatMap((d) => d.reasons.map((r) => parseRetentionReason(r).code)))).not.toContain("other");
		const held = planRetention({
			snapshots: snapshots.filter((s) => s.tables.submissions === 100),
			policy: { keepDaily: 1, keepWeekly: 0, keepMonthly: 0 },
			limits: { maxRemovePct: 10 },
			now: new Date("2026-12-02T12:00:00Z"),
			backupStatus: "failed",
		});
		expect(held.decisions.flatMap((d) => d.reasons.map((r) => parseRetentionReason(r).code))).toContain("held");
		expect(held.decisions.map(buildRetentionFate)).not.toContain("remove");
	});

	it("a removed snapshot is `remove`, whatever its reason says", () => {
		expect(buildRetentionFate({ keep: false, reasons: ["outside the daily, weekly and monthly slots"] })).toBe("remove");
		expect(buildRetentionFate({ keep: true, reasons: ["daily 2026-12-02", "deferred: at most 10% of snapshots removed per run"] })).toBe("keep");
		expect(buildRetentionFate({ keep: true, reasons: [] })).toBe("keep");
	});
});
