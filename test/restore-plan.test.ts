// Pure restore planning: table coverage of the backup registry, request schema, row comparison,
// manifest completeness, SQL parameter splitting. No bindings.
import { describe, expect, it } from "vitest";
import type { ChunkEntry, Manifest, Row } from "../src/snapshots/format";
import {
	addDiffs,
	diffRows,
	erasedIdsInRecords,
	findManifestProblem,
	finishDiff,
	OPERATIONAL_TABLES,
	RESTORE_TABLES,
	restoreRequestSchema,
	submissionIdOfLine,
	columnsOfLine,
	filterErasedLines,
	groupRecordLines,
	joinLinesForParams,
} from "../src/restore/plan";
import { buildInsertSql, renameCreateTable } from "../src/db/restore-tables";
import { exportedTables } from "../src/snapshots/tables";

const subs = RESTORE_TABLES.find((t) => t.table === "submissions")!;
const erasures = RESTORE_TABLES.find((t) => t.table === "erasures")!;

describe("tables", () => {
	it("every exported table is either restored or deliberately operational", () => {
		for (const t of exportedTables) {
			const restored = RESTORE_TABLES.some((r) => r.table === t.name);
			const operational = (OPERATIONAL_TABLES as readonly string[]).includes(t.name);
			expect(restored !== operational, t.name).toBe(true);
		}
		for (const r of RESTORE_TABLES) expect(exportedTables.some((t) => t.name === r.table), r.table).toBe(true);
	});
});

describe("request schema", () => {
	it("defaults to dry-run and rejects anything else", () => {
		expect(restoreRequestSchema.parse({ snapshotId: "2026-11-25T020000Z-abc" })).toEqual({ snapshotId: "2026-11-25T020000Z-abc", mode: "dry-run", allowUnsigned: false });
		expect(restoreRequestSchema.safeParse({ snapshotId: "2026-11-25T020000Z-abc", mode: "REPLACE" }).success).toBe(false);
		expect(restoreRequestSchema.safeParse({ snapshotId: "snapshots/../x" }).success).toBe(false);
	});
});

describe("diffRows / finishDiff", () => {
	const live = new Map<string, Row>([
		["a", { id: "a", v: 1, extra: "new column" }],
		["b", { id: "b", v: 2 }],
	]);
	it("classifies added, differ, unchanged and erased by key, ids only in samples", () => {
		const d = diffRows(subs, [{ id: "a", v: 1 }, { id: "b", v: 3 }, { id: "c", v: 1 }, { id: "x", v: 9 }], live, new Set(["x"]));
		expect(d).toMatchObject({ inSnapshot: 4, added: 1, differ: 1, unchanged: 1, skippedErased: 1 });
		expect(d.samples).toEqual({ added: ["c"], differ: ["b"], disappear: [], skippedErased: ["x"] });
		const done = finishDiff(subs, addDiffs(d, d), 10, ["z", "y"]);
		expect(done.disappear).toBe(10 - 4);
		expect(done.samples.disappear).toEqual(["z", "y"]);
		expect(done.samples.added).toEqual(["c"]); // samples are deduplicated
	});
	it("never reports disappearing rows for tables kept on replace (erasures)", () => {
		expect(finishDiff(erasures, diffRows(erasures, [], new Map(), new Set()), 3, ["e1"]).disappear).toBe(0);
	});
});

describe("erasedIdsInRecords", () => {
	it("reads erased_submissions rows and erasures.submission_ids, ignoring bad JSON", () => {
		const ids = erasedIdsInRecords([
			{ table: "erased_submissions", row: { submission_id: "a" } },
			{ table: "erasures", row: { submission_ids: '["b","a"]' } },
			{ table: "erasures", row: { submission_ids: "not json" } },
			{ table: "submissions", row: { id: "c" } },
		]);
		expect(ids.sort()).toEqual(["a", "b"]);
	});
});

describe("findManifestProblem", () => {
	const chunk = (n: number, tables: Record<string, number>): ChunkEntry => ({
		n, key: `snapshots/2026-11-25T020000Z-a/chunk-00000${n}.ndjson.gz`, bytes: 1, sha256: "0".repeat(64), rows: Object.values(tables).reduce((a, b) => a + b, 0), tables,
	});
	const base = {
		snapshotId: "2026-11-25T020000Z-a",
		tables: { submissions: { rows: 3, digest: "", bound: 3 }, roles: { rows: 1, digest: "", bound: 1 } },
		rows: 4,
		chunks: [chunk(1, { submissions: 2, roles: 1 }), chunk(2, { submissions: 1 })],
		encryption: null,
	} as unknown as Manifest;
	it("accepts a complete manifest and names each kind of gap", () => {
		expect(findManifestProblem(base)).toBeUndefined();
		expect(findManifestProblem({ ...base, chunks: base.chunks.slice(0, 1) })).toMatch(/table submissions: manifest says 3 rows, chunks hold 2/);
		expect(findManifestProblem({ ...base, rows: 5 })).toMatch(/manifest says 5 rows/);
		expect(findManifestProblem({ ...base, chunks: [{ ...base.chunks[0]!, key: "snapshots/other/chunk" }, base.chunks[1]!] })).toMatch(/outside/);
		expect(findManifestProblem({ ...base, encryption: { scheme: "age", recipients: ["age1x"] } })).toMatch(/encrypted/);
	});
});

describe("SQL builders", () => {
	it("joins record lines into JSON arrays under the size limit, and groups lines by table", () => {
		const lines = Array.from({ length: 100 }, (_, i) => JSON.stringify({ table: "submissions", row: { id: `r${i}`, pad: "x".repeat(100) } }));
		const groups = joinLinesForParams(lines, 1000);
		expect(groups.flatMap((g) => JSON.parse(g) as unknown[])).toEqual(lines.map((l) => JSON.parse(l)));
		for (const g of groups) expect(g.length).toBeLessThanOrEqual(1000);
		expect(joinLinesForParams([], 1000)).toEqual([]);
		const text = `${lines[0]}\n{ "row": {"id":"x"}, "table": "roles" }\n{"table":"audit_log","row":{"seq":1}}\n${lines[1]}\n`;
		const byTable = groupRecordLines(text);
		expect([...byTable.keys()].sort()).toEqual(["roles", "submissions"]);
		expect(byTable.get("submissions")).toEqual([lines[0], lines[1]]);
		expect(columnsOfLine(lines[0]!)).toEqual(["id", "pad"]);
	});
	it("refuses identifiers that are not plain names", () => {
		expect(() => buildInsertSql({ target: 'x"; DROP TABLE y; --', columns: ["a"], keepSeqWhenFree: false })).toThrow();
		expect(buildInsertSql({ target: "submissions", columns: ["seq", "id"], keepSeqWhenFree: true })).toContain("CASE WHEN EXISTS");
	});
	it("finds a submission's id in its line without being fooled by the answers, and filters erased ones", () => {
		const line = (id: string, answers: unknown) => JSON.stringify({ table: "submissions", row: { seq: 1, id, answers: JSON.stringify(answers) } });
		const tricky = line('a"b\\c', { id: "not-me", note: '","id":"fake' });
		expect(submissionIdOfLine(tricky)).toBe('a"b\\c');
		expect(submissionIdOfLine(line("plain", { id: "x" }))).toBe("plain");
		expect(submissionIdOfLine('{"row":{"id":"other-writer"},"table":"submissions"}')).toBe("other-writer");
		const lines = [line("k1", {}), line("gone", { id: "k1" }), line("k2", {})];
		expect(filterErasedLines(lines, new Set(["gone"]))).toEqual({ kept: [lines[0], lines[2]], skipped: 1 });
		expect(filterErasedLines(lines, new Set())).toEqual({ kept: lines, skipped: 0 });
	});
	it("renames a CREATE TABLE statement, quoted or not", () => {
		expect(renameCreateTable('CREATE TABLE roles (\n seq INTEGER)', "restore_stage_roles")).toBe('CREATE TABLE "restore_stage_roles" (\n seq INTEGER)');
		expect(renameCreateTable('CREATE TABLE "roles"(a)', "s")).toBe('CREATE TABLE "s" (a)');
	});
});
