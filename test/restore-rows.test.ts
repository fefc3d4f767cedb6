// The row checks of a restore, pure: a table of good and bad rows for checkSnapshotRow, the chunk
// scan (refused rows named by table, key and position; canonical lines), and a check that the
// rules list exactly the columns of the migrated schema.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { questionnaire } from "../src/questionnaire/definition";
import { MAX_REJECTED_LISTED, describeRejected, scanChunkText } from "../src/restore/plan";
import { ROW_RULES, checkSnapshotRow, describeRowKey, type RowCheckContext } from "../src/restore/rows";
import type { ChunkEntry, Row } from "../src/snapshots/format";

const NOW = Date.parse("2026-11-20T02:00:00.000Z");
const ctx: RowCheckContext = {
	now: NOW,
	bounds: { roles: 10, submissions: 100, erasures: 5, counters: null, erased_submissions: null },
	definitions: new Map([[questionnaire.version, questionnaire]]),
};
const UUID = "0b7d8a52-1f6e-4c1a-9d7e-3c2b1a0f9e8d";
const AT = "2026-11-12T10:00:00.000Z";
const current = { cafe: "Le Petit Café", ville: "Lyon", role: "Gérant", satisfaction: 4, consentement: true };

const good: Record<string, Row> = {
	roles: { seq: 1, role_key: "gerant", label: "Gérant", created_at: AT, use_count: 2, last_used_at: null },
	submissions: { seq: 7, id: UUID, received_at: AT, questionnaire_version: questionnaire.version, role_key: "gerant", answers: JSON.stringify(current), validation: '{"outcome":"accepted"}' },
	counters: { name: "day:2026-11-12", value: 3, updated_at: AT },
	erasures: { seq: 1, id: "erasure-2026-11-13t100000z-ab12cd34", requested_at: AT, submission_ids: JSON.stringify([UUID]), email_hash: "a".repeat(64), email_salt: "0123456789abcdef0123456789abcdef" },
	erased_submissions: { submission_id: UUID, erasure_id: "erasure-2026-11-13t100000z-ab12cd34", erased_at: AT },
};

/** [name, table, change to the good row, expected reason (prefix) or null when it must pass]. */
const cases: [string, string, Row, string | null][] = [
	// Good variants
	["an older questionnaire version with any answers of plain shapes", "submissions", { questionnaire_version: "1", answers: '{"cafe":"x","note":3,"ok":true,"tags":["a"]}' }, null],
	["an older version with no answers", "submissions", { questionnaire_version: "1", answers: "{}" }, null],
	["no role (empty role key)", "submissions", { role_key: "", questionnaire_version: "1" }, null],
	["optional answers of the current version", "submissions", { answers: JSON.stringify({ ...current, frequence: "mensuelle", activites: ["bar", "cuisine"], email: "a@b.fr", commentaire: "Bien." }) }, null],
	["a timestamp a few seconds ahead (clock skew)", "submissions", { received_at: "2026-11-20T02:00:30.000Z" }, null],
	["a timestamp without milliseconds", "roles", { created_at: "2026-11-01T08:00:00Z" }, null],
	["a role without a last use", "roles", { last_used_at: null }, null],
	["a seq equal to the bound", "submissions", { seq: 100 }, null],
	["an erasure by id (no hash, no salt)", "erasures", { email_hash: null, email_salt: null }, null],
	["an erasure with an empty id list", "erasures", { submission_ids: "[]" }, null],
	["the total counter", "counters", { name: "total" }, null],
	["a role counter", "counters", { name: "role:gerant" }, null],
	["an older roles row without use_count (defaulted)", "roles", { use_count: undefined as unknown as null }, null],
	// seq
	["seq 2^63 − 1 (read by JavaScript as 2^63)", "submissions", { seq: 9223372036854775807 }, "seq: not a whole number"],
	["seq above the bound", "submissions", { seq: 101 }, "seq: above the snapshot's bound (100)"],
	["seq 0", "roles", { seq: 0 }, "seq: not a whole number"],
	["seq negative", "erasures", { seq: -1 }, "seq: not a whole number"],
	["seq not whole", "submissions", { seq: 1.5 }, "seq: not a whole number"],
	["seq as text", "submissions", { seq: "7" }, "seq: not a whole number"],
	["seq missing", "submissions", { seq: undefined as unknown as null }, "seq: missing"],
	// JSON columns
	["answers not JSON", "submissions", { answers: "not json" }, "answers: not valid JSON"],
	["answers a JSON list", "submissions", { answers: "[1,2]" }, "answers: not a JSON object"],
	["answers JSON null", "submissions", { answers: "null" }, "answers: not a JSON object"],
	["answers as a number cell", "submissions", { answers: 5 }, "answers: not JSON text"],
	["answers of an older version with a nested object", "submissions", { questionnaire_version: "1", answers: '{"cafe":{"a":1}}' }, "answers: holds a value that is not"],
	["answers of an older version with an odd key", "submissions", { questionnaire_version: "1", answers: '{"Café du coin":"x"}' }, "answers: holds a key that is not a question id"],
	["answers of the current version without a required question", "submissions", { answers: JSON.stringify({ ...current, cafe: undefined }) }, "answers: question cafe is required"],
	["answers of the current version with an unknown question", "submissions", { answers: JSON.stringify({ ...current, extra: "x" }) }, "answers: holds an answer to no question"],
	["answers of the current version, scale out of range", "submissions", { answers: JSON.stringify({ ...current, satisfaction: 9 }) }, "answers: question satisfaction: not a whole number from 1 to 5"],
	["answers of the current version, consent not given", "submissions", { answers: JSON.stringify({ ...current, consentement: false }) }, "answers: question consentement: required consent"],
	["answers of the current version, unknown option", "submissions", { answers: JSON.stringify({ ...current, frequence: "jamais-jamais" }) }, "answers: question frequence: not one of its options"],
	["answers of the current version, repeated options", "submissions", { answers: JSON.stringify({ ...current, activites: ["bar", "bar"] }) }, "answers: question activites: not a list of its options"],
	["answers of the current version, text too long", "submissions", { answers: JSON.stringify({ ...current, cafe: "x".repeat(121) }) }, "answers: question cafe: not a text of 1 to 120"],
	["answers of the current version, bad e-mail", "submissions", { answers: JSON.stringify({ ...current, email: "not an address" }) }, "answers: question email: not an e-mail address"],
	["validation not JSON", "submissions", { validation: "{" }, "validation: not valid JSON"],
	["submission_ids not a list", "erasures", { submission_ids: '{"a":1}' }, "submission_ids: not a JSON list of ids"],
	["submission_ids holding a non-id", "erasures", { submission_ids: '["<script>"]' }, "submission_ids: holds something that is not an id"],
	// NOT NULL and types
	["NULL in a NOT NULL column", "submissions", { received_at: null }, "received_at: empty (NULL) in a NOT NULL column"],
	["label NULL", "roles", { label: null }, "label: empty (NULL)"],
	["use_count negative", "roles", { use_count: -2 }, "use_count: not a whole number ≥ 0"],
	["counter value as text", "counters", { value: "3" }, "value: not a whole number ≥ 0"],
	["questionnaire version with spaces", "submissions", { questionnaire_version: "v 1" }, "questionnaire_version: not a questionnaire version"],
	["an extra column", "submissions", { ip: "1.2.3.4" }, "ip: not a column of submissions"],
	["an extra column with an odd name", "submissions", { "Marie Dupont": "x" }, "a column of an invalid name"],
	// ids
	["an id with a quote", "submissions", { id: 'a"b' }, "id: not an id"],
	["an id of 101 characters", "submissions", { id: "a".repeat(101) }, "id: not an id"],
	["an empty id", "erased_submissions", { submission_id: "" }, "submission_id: not an id"],
	["a role key with a zero-width space", "roles", { role_key: "ger\u200bant" }, "role_key: not a role key"],
	["an empty role label", "roles", { label: "  " }, "label: empty"],
	["a counter name of another kind", "counters", { name: "hits" }, "name: not a counter name"],
	["a counter of an impossible day", "counters", { name: "day:2026-02-30" }, "name: not a counter name"],
	// timestamps
	["a timestamp in the future", "submissions", { received_at: "2026-11-20T02:05:00.000Z" }, "received_at: in the future"],
	["a timestamp in 2099", "erasures", { requested_at: "2099-01-01T00:00:00.000Z" }, "requested_at: in the future"],
	["a date that does not exist", "roles", { created_at: "2026-02-30T10:00:00.000Z" }, "created_at: not an ISO 8601 UTC timestamp"],
	["a local time", "erased_submissions", { erased_at: "2026-11-12 10:00:00" }, "erased_at: not an ISO 8601 UTC timestamp"],
	["a timestamp as a number", "counters", { updated_at: 1763000000000 }, "updated_at: not a timestamp"],
	// pairs
	["a hash without its salt", "erasures", { email_salt: null }, "email_hash: set without email_salt"],
	["a hash in upper case", "erasures", { email_hash: "A".repeat(64) }, "email_hash: not lowercase hexadecimal"],
];

describe("checkSnapshotRow", () => {
	for (const [table, row] of Object.entries(good)) {
		it(`accepts a good ${table} row`, () => expect(checkSnapshotRow(table, row, ctx)).toBeNull());
	}
	for (const [name, table, change, expected] of cases) {
		it(`${expected === null ? "accepts" : "refuses"} ${name}`, () => {
			const row: Row = { ...good[table]! };
			for (const [k, v] of Object.entries(change)) {
				if (v === undefined) delete row[k];
				else row[k] = v;
			}
			const reason = checkSnapshotRow(table, row, ctx);
			if (expected === null) expect(reason).toBeNull();
			else {
				expect(reason).not.toBeNull();
				expect(reason!.startsWith(expected), `${reason} should start with ${expected}`).toBe(true);
			}
		});
	}

	it("refuses seq rows of a table whose manifest records no bound", () => {
		expect(checkSnapshotRow("submissions", good.submissions!, { ...ctx, bounds: {} })).toBe("seq: the manifest records no bound for table submissions");
	});

	it("never quotes a value in its reason", () => {
		const secret = "Marie-Secret-Dupont";
		for (const [table, column] of [["submissions", "answers"], ["submissions", "id"], ["roles", "label"], ["counters", "name"], ["erasures", "submission_ids"], ["submissions", "received_at"]] as const) {
			const reason = checkSnapshotRow(table, { ...good[table]!, [column]: `${secret}\u0000"{` }, ctx);
			expect(reason).not.toBeNull();
			expect(reason).not.toContain("Marie");
		}
	});

	it("names rows by id or seq, never by role key or a role counter", () => {
		expect(describeRowKey("submissions", good.submissions!)).toBe(UUID);
		expect(describeRowKey("erased_submissions", good.erased_submissions!)).toBe(UUID);
		expect(describeRowKey("roles", { ...good.roles!, role_key: "marie dupont" })).toBe("seq 1");
		expect(describeRowKey("counters", { name: "role:marie dupont", value: 1, updated_at: AT })).toBeNull();
		expect(describeRowKey("counters", good.counters!)).toBe("day:2026-11-12");
		expect(describeRowKey("submissions", { id: "<b>", seq: 9223372036854775807 })).toBeNull();
	});
});

describe("the rules follow the schema", () => {
	it("list exactly the columns of each restored table, with their NOT NULL and defaults", async () => {
		for (const [table, columns] of Object.entries(ROW_RULES)) {
			const { results } = await env.DB.prepare(`SELECT name, "notnull" AS nn, dflt_value AS def, pk FROM pragma_table_info(?1)`)
				.bind(table)
				.all<{ name: string; nn: number; def: string | null; pk: number }>();
			expect(Object.keys(columns).sort(), table).toEqual(results.map((c) => c.name).sort());
			for (const c of results) {
				const rule = columns[c.name]!;
				// An INTEGER PRIMARY KEY (seq) is never NULL although PRAGMA says notnull = 0.
				const nullable = c.nn === 0 && c.pk === 0;
				expect(Boolean(rule.nullable), `${table}.${c.name} nullable`).toBe(nullable);
				expect(Boolean(rule.hasDefault), `${table}.${c.name} default`).toBe(c.def !== null);
			}
		}
	});
});

describe("scanChunkText", () => {
	const entry = (lines: string[], tables: Record<string, number>): [ChunkEntry, string] => [
		{ n: 3, key: "snapshots/x/chunk-000003.ndjson.gz", bytes: 0, sha256: "", rows: lines.length, tables },
		lines.map((l) => `${l}\n`).join(""),
	];
	const rec = (table: string, row: Row) => JSON.stringify({ table, row });

	it("accepts good rows, lists the erased ids, ignores tables that are not restored", () => {
		const [e, text] = entry([rec("submissions", good.submissions!), rec("erasures", good.erasures!), rec("audit_log", { seq: 1, at: "x", action: "y", detail: null })], { submissions: 1, erasures: 1, audit_log: 1 });
		const scan = scanChunkText(e, text, ctx);
		expect(scan).toEqual({ ok: true, erasedIds: [UUID], rejected: { total: 0, rows: [] } });
	});

	it("the empty chunk", () => {
		const [e, text] = entry([], {});
		expect(scanChunkText(e, text, ctx)).toEqual({ ok: true, erasedIds: [], rejected: { total: 0, rows: [] } });
	});

	it("refuses a line spelled differently from what the backup writes (repeated key, number spelling)", () => {
		const line = rec("submissions", good.submissions!);
		const repeated = line.replace('"seq":7', '"seq":9223372036854775807,"seq":7');
		const spelled = line.replace('"seq":7', '"seq":7.0');
		const [e, text] = entry([repeated, spelled, line], { submissions: 3 });
		const scan = scanChunkText(e, text, ctx);
		expect(scan.ok).toBe(true);
		if (!scan.ok) return;
		expect(scan.rejected.total).toBe(2);
		expect(scan.rejected.rows.map((r) => [r.line, r.chunk, r.key])).toEqual([[1, 3, UUID], [2, 3, UUID]]);
		for (const r of scan.rejected.rows) expect(r.reason).toMatch(/^record: not in the form the backup writes/);
	});

	it("names a row without a usable key by its position", () => {
		const [e, text] = entry([rec("roles", { ...good.roles!, seq: "x" })], { roles: 1 });
		const scan = scanChunkText(e, text, ctx);
		expect(scan.ok && scan.rejected.rows[0]).toEqual({ table: "roles", key: "chunk 3 line 1", chunk: 3, line: 1, reason: "seq: not a whole number from 1 to 2^53 − 1" });
	});

	it("counts every refused row but lists at most MAX_REJECTED_LISTED", () => {
		const lines = Array.from({ length: MAX_REJECTED_LISTED + 5 }, (_, i) => rec("counters", { name: `day:2026-11-${String((i % 28) + 1).padStart(2, "0")}`, value: -1, updated_at: AT }));
		const [e, text] = entry(lines, { counters: lines.length });
		const scan = scanChunkText(e, text, ctx);
		expect(scan.ok && scan.rejected.total).toBe(MAX_REJECTED_LISTED + 5);
		expect(scan.ok && scan.rejected.rows.length).toBe(MAX_REJECTED_LISTED);
	});

	it("refuses the whole chunk when a line is not JSON, not a record, or the counts differ", () => {
		const [e1, t1] = entry(["{not json"], { submissions: 1 });
		expect(scanChunkText(e1, t1, ctx)).toEqual({ ok: false, reason: "chunk 3 (snapshots/x/chunk-000003.ndjson.gz): line 1 is not valid JSON" });
		const [e2, t2] = entry(['{"table":"submissions"}'], { submissions: 1 });
		expect(scanChunkText(e2, t2, ctx)).toMatchObject({ ok: false, reason: expect.stringContaining("line 1 is not a {table,row} record") });
		const [e3, t3] = entry([rec("submissions", good.submissions!)], { submissions: 2 });
		expect(scanChunkText(e3, t3, ctx)).toMatchObject({ ok: false, reason: expect.stringContaining("records per table differ from the manifest") });
		const [e4, t4] = entry([rec("submissions", good.submissions!)], { submissions: 1 });
		expect(scanChunkText({ ...e4, rows: 2 }, t4, ctx)).toMatchObject({ ok: false, reason: expect.stringContaining("1 records, manifest says 2") });
	});

	it("describes a refusal with the count and the first row", () => {
		expect(describeRejected({ total: 1, rows: [{ table: "submissions", key: UUID, chunk: 1, line: 4, reason: "answers: not valid JSON" }] })).toBe(
			`1 row of the snapshot fails its checks (first: submissions ${UUID}, answers: not valid JSON); nothing was written. A dry run lists them (docs/restore-runbook.md, "Contrôle des lignes").`,
		);
	});
});
