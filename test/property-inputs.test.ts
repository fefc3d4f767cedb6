// Property-based tests (fast-check) of every input surface, in workerd against the real app and
// local D1: the public form (JSON and urlencoded), the admin JSON bodies (restore, erasure, pin
// release) and snapshot rows on restore. Properties: no answer is 5xx; a refused request stores
// nothing (row counts of every written table before/after); every 4xx JSON body is the error
// envelope. Runs are kept small (numRuns below) so the suite stays fast; seeds are random (a
// failure prints its seed and the shrunk counterexample).
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { questionnaire } from "../src/questionnaire/definition";
import { buildRowCheckContext } from "../src/restore/load";
import { ROW_RULES, checkSnapshotRow } from "../src/restore/rows";
import type { Row } from "../src/snapshots/format";
import { decodeSnapshot, resetStorage, runBackup, snapshotIdOfRun } from "./backup-helpers";
import { api } from "./helpers/restore-snapshot";
import { postForm, postJson, validAnswers } from "./helpers/submissions";

/** Every table a request of these surfaces could write (a refusal must leave all of them as they were). */
const WRITTEN_TABLES = [
	"submissions", "roles", "counters", "erasures", "erased_submissions", "audit_log",
	"restore_runs", "data_locks", "retention_pins", "backup_runs",
] as const;

async function countAll(): Promise<Record<string, number>> {
	const sql = WRITTEN_TABLES.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(", ");
	const row = await env.DB.prepare(`SELECT ${sql}, (SELECT COALESCE(SUM(value), 0) FROM counters) AS counted, (SELECT COALESCE(SUM(use_count), 0) FROM roles) AS uses`).first<Record<string, number>>();
	return row!;
}

/** The error envelope { error: { code, message, fields? } } and nothing else; returns why not, or null. */
function envelopeProblem(body: unknown): string | null {
	if (typeof body !== "object" || body === null || Array.isArray(body)) return "not an object";
	const keys = Object.keys(body);
	if (keys.length !== 1 || keys[0] !== "error") return `top-level keys ${JSON.stringify(keys)}`;
	const error = (body as { error: unknown }).error;
	if (typeof error !== "object" || error === null) return "error is not an object";
	const e = error as Record<string, unknown>;
	for (const k of Object.keys(e)) if (!["code", "message", "fields"].includes(k)) return `unexpected error.${k}`;
	if (typeof e.code !== "string" || !/^[a-z_]+$/.test(e.code)) return "error.code is not a snake_case string";
	if (typeof e.message !== "string" || e.message.length === 0) return "error.message is not a non-empty string";
	if (e.fields !== undefined) {
		if (typeof e.fields !== "object" || e.fields === null || Array.isArray(e.fields)) return "error.fields is not an object";
		if (!Object.values(e.fields).every((v) => typeof v === "string")) return "error.fields holds a non-string";
	}
	if (/\bat .+:\d+:\d+/.test(e.message)) return "error.message looks like a stack trace";
	return null;
}

/** Assert the status is below 500 and, for a 4xx JSON answer, that the body is the envelope. */
async function expectSafeAnswer(res: Response, label: string): Promise<unknown> {
	expect(res.status, `${label}: ${res.status}`).toBeLessThan(500);
	const text = await res.text();
	if (res.status >= 400) {
		expect(res.headers.get("Content-Type") ?? "", label).toMatch(/^application\/json/);
		const problem = envelopeProblem(JSON.parse(text));
		expect(problem, `${label}: ${text.slice(0, 300)}`).toBeNull();
	}
	return text.length > 0 && (res.headers.get("Content-Type") ?? "").startsWith("application/json") ? JSON.parse(text) : text;
}

// ---------------------------------------------------------------------------------------------
// Generators

const QUESTION_IDS = questionnaire.questions.map((q) => q.id);
const choiceValues = questionnaire.questions.flatMap((q) => ("options" in q ? q.options.map((o) => o.value) : []));

/** Values that often pass a question's validation and often do not. */
const answerValue: fc.Arbitrary<unknown> = fc.oneof(
	fc.string({ maxLength: 40 }),
	fc.string({ unit: "grapheme", maxLength: 20 }),
	fc.constantFrom(...choiceValues, "", " ", "on", "true", "3", "Gérant", "a@b.fr", "=1+1", "\u0000", "__proto__"),
	fc.array(fc.constantFrom(...choiceValues, "x"), { maxLength: 5 }),
	fc.integer({ min: -2, max: 7 }),
	fc.double(),
	fc.boolean(),
	fc.constant(null),
	fc.string({ minLength: 4001, maxLength: 4100 }),
	fc.jsonValue({ maxDepth: 2 }),
);

/** Valid answers with some questions changed, removed or added (junk keys included). */
const answersArb = fc
	.record({
		changed: fc.dictionary(fc.constantFrom(...QUESTION_IDS), answerValue, { maxKeys: 3 }),
		removed: fc.subarray(QUESTION_IDS, { maxLength: 2 }),
		extra: fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "toString", "site_web")), answerValue, { maxKeys: 2 }),
	})
	.map(({ changed, removed, extra }) => {
		const a: Record<string, unknown> = validAnswers();
		for (const k of removed) delete a[k];
		for (const [k, v] of Object.entries(changed)) a[k] = v;
		for (const [k, v] of Object.entries(extra)) Object.defineProperty(a, k, { value: v, enumerable: true, writable: true, configurable: true });
		return a;
	});

/** A JSON body: the envelope with answers, or anything at all, or text that is not JSON. */
const jsonBodyArb: fc.Arbitrary<unknown> = fc.oneof(
	{ weight: 5, arbitrary: answersArb.map((answers) => ({ answers })) },
	{ weight: 1, arbitrary: fc.record({ answers: answersArb, site_web: fc.oneof(fc.constant(""), fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 })) }) },
	{ weight: 1, arbitrary: fc.record({ answers: answersArb, "cf-turnstile-response": fc.jsonValue({ maxDepth: 1 }) }) },
	{ weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
	{ weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => ({ raw: s })) },
);

// ---------------------------------------------------------------------------------------------

describe("the public form: POST /api/submissions", () => {
	beforeAll(async () => {
		await resetStorage();
	});

	it("JSON: never 5xx; a refusal stores nothing and answers the envelope; a 201 stores exactly its row", async () => {
		let accepted = 0;
		let refused = 0;
		await fc.assert(
			fc.asyncProperty(jsonBodyArb, async (body) => {
				const before = await countAll();
				const raw = typeof body === "object" && body !== null && "raw" in body ? String((body as { raw: string }).raw) : JSON.stringify(body);
				const res = await postJson(raw);
				const out = await expectSafeAnswer(res, `POST ${raw.slice(0, 200)}`);
				const after = await countAll();
				if (res.status === 201) {
					accepted++;
					const { id } = out as { id: string };
					expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM submissions WHERE id = ?").bind(id).first("n")).toBe(1);
					expect(after.submissions).toBe(before.submissions! + 1);
				} else {
					refused++;
					expect([400, 413, 415]).toContain(res.status);
					expect(after).toEqual(before);
				}
			}),
			{ numRuns: 150 },
		);
		// Both paths were really exercised (the generators are biased towards near-valid answers).
		expect(accepted).toBeGreaterThan(0);
		expect(refused).toBeGreaterThan(0);
	});

	it("urlencoded (the form): never 5xx; a refusal stores nothing and shows the form again; a 303 stores one row", async () => {
		const fieldArb = fc.tuple(
			fc.oneof(fc.constantFrom(...QUESTION_IDS, "site_web", "cf-turnstile-response", "__proto__"), fc.string({ maxLength: 8 })),
			fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(...choiceValues, "on", "4", "", "Formateur")),
		);
		const base: [string, string][] = [["cafe", "Le Café"], ["ville", "Lyon"], ["role", "Formateur"], ["satisfaction", "4"], ["consentement", "on"]];
		// Biased towards complete forms (all the required fields, sometimes nothing else) so that the
		// accepted path is exercised in every run, not only by luck (a random subset is complete 1 time in 32).
		const formArb = fc
			.record({
				keep: fc.oneof({ weight: 1, arbitrary: fc.constant(base) }, { weight: 2, arbitrary: fc.subarray(base) }),
				extra: fc.oneof({ weight: 1, arbitrary: fc.constant([] as [string, string][]) }, { weight: 3, arbitrary: fc.array(fieldArb, { maxLength: 6 }) }),
			})
			.map(({ keep, extra }) => [...keep, ...extra]);
		let accepted = 0;
		let refused = 0;
		await fc.assert(
			fc.asyncProperty(formArb, async (fields) => {
				const before = await countAll();
				const res = await postForm(fields);
				expect(res.status, JSON.stringify(fields)).toBeLessThan(500);
				const after = await countAll();
				if (res.status === 303) {
					accepted++;
					expect(res.headers.get("Location") ?? "").toMatch(/\/merci/);
					expect(after.submissions).toBe(before.submissions! + 1);
				} else {
					refused++;
					expect(res.status, JSON.stringify(fields)).toBe(400);
					// A form post gets the form page again (docs/http-api.md), with its values.
					expect(res.headers.get("Content-Type") ?? "").toMatch(/^text\/html/);
					expect(await res.text()).toMatch(/<form/);
					expect(after).toEqual(before);
				}
			}),
			{ numRuns: 100 },
		);
		expect(accepted).toBeGreaterThan(0);
		expect(refused).toBeGreaterThan(0);
	});
});

describe("admin JSON bodies", () => {
	beforeAll(async () => {
		await resetStorage();
		// One answer that an erasure could find, so that a lookup has something to search.
		const r = await postJson({ answers: validAnswers({ email: "personne@exemple.test" }) });
		expect(r.status).toBe(201);
	});

	/** Bodies shaped like each route's request, with fields changed, plus anything at all. */
	const fieldValue = fc.oneof(
		fc.string({ maxLength: 40 }),
		fc.constantFrom("dry-run", "merge", "replace", "", "2026-11-20T020000Z-abc123", "../etc", "autre.personne@exemple.test "),
		fc.jsonValue({ maxDepth: 2 }),
	);
	const bodyOf = (keys: string[]) =>
		fc.oneof(
			{ weight: 4, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 8 })), fieldValue, { maxKeys: 4 }) },
			{ weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
			{ weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => ({ __raw: s })) },
		);
	const send = (path: string, body: unknown, contentType: string) => {
		const raw = typeof body === "object" && body !== null && "__raw" in body ? String((body as { __raw: string }).__raw) : JSON.stringify(body);
		return api(path, { method: "POST", body: raw, headers: { "Content-Type": contentType } });
	};
	const contentType = fc.oneof({ weight: 6, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-8") });

	it("restore request: never 5xx, envelope on 4xx, nothing recorded (no snapshot exists to accept)", async () => {
		await fc.assert(
			fc.asyncProperty(bodyOf(["snapshotId", "mode", "allowUnsigned"]), contentType, async (body, type) => {
				const before = await countAll();
				const res = await send("/api/admin/restore", body, type);
				await expectSafeAnswer(res, `restore ${JSON.stringify(body).slice(0, 200)}`);
				expect([400, 404, 415, 422]).toContain(res.status);
				expect(await countAll()).toEqual(before);
			}),
			{ numRuns: 120 },
		);
	});

	it("erasure request: never 5xx, envelope on 4xx, nothing erased and the data lock released", async () => {
		await fc.assert(
			fc.asyncProperty(bodyOf(["submissionId", "email"]), contentType, async (body, type) => {
				const before = await countAll();
				const res = await send("/api/admin/erasures", body, type);
				await expectSafeAnswer(res, `erasure ${JSON.stringify(body).slice(0, 200)}`);
				expect([400, 404, 415]).toContain(res.status);
				expect(await countAll()).toEqual(before);
			}),
			{ numRuns: 120 },
		);
	});

	it("pin release: any id and body, never 5xx, envelope on 4xx, nothing changed", async () => {
		const idArb = fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom("pin-2026-11-20T020000Z-abc123", "..", "%2e%2e", "pin-"));
		await fc.assert(
			fc.asyncProperty(idArb, bodyOf(["reason", "id"]), contentType, async (id, body, type) => {
				const before = await countAll();
				const res = await send(`/api/admin/pins/${encodeURIComponent(id)}/release`, body, type);
				await expectSafeAnswer(res, `release ${id} ${JSON.stringify(body).slice(0, 200)}`);
				expect(res.status).toBeGreaterThanOrEqual(400);
				expect(await countAll()).toEqual(before);
			}),
			{ numRuns: 80 },
		);
	});
});

describe("snapshot rows on restore: checkSnapshotRow", () => {
	const NOW = Date.parse("2026-11-20T02:00:00.000Z");
	const ctx = buildRowCheckContext(NOW, { roles: 10, submissions: 100, erasures: 5, counters: null, erased_submissions: null });
	const cell = fc.oneof(
		fc.jsonValue({ maxDepth: 2 }),
		fc.string({ maxLength: 30 }),
		fc.integer(),
		fc.double(),
		fc.constantFrom(null, 9223372036854775807, -0, Number.NaN, Infinity, "2026-11-12T10:00:00.000Z", "{}", "[]", '{"cafe":"x"}', "a".repeat(64), questionnaire.version),
		fc.json(),
	);

	it("never throws on any JSON-ish row of any table, and answers null or a reason that names no value", () => {
		const tables = [...Object.keys(ROW_RULES), "audit_log", "backup_runs", "__proto__"];
		fc.assert(
			fc.property(
				fc.constantFrom(...tables),
				fc.dictionary(fc.oneof(fc.constantFrom(...new Set(Object.values(ROW_RULES).flatMap((c) => Object.keys(c)))), fc.string({ maxLength: 10 }), fc.constant("__proto__")), cell, { maxKeys: 9 }),
				(table, row) => {
					const out = checkSnapshotRow(table, row as Row, ctx);
					expect(out === null || typeof out === "string").toBe(true);
					if (typeof out === "string") {
						expect(out.length).toBeGreaterThan(0);
						// Reasons never quote a long value of the row (rows hold personal data).
						for (const v of Object.values(row)) if (typeof v === "string" && v.length >= 12 && !/^[\w:.-]+$/.test(v)) expect(out).not.toContain(v);
					}
				},
			),
			{ numRuns: 2000 },
		);
	});

	it("accepts every row the backup writes, for answers generated through the real form", async () => {
		await resetStorage();
		const textArb = (max: number) => fc.string({ unit: "grapheme", minLength: 1, maxLength: max }).filter((s) => s.trim().length > 0);
		const validArb = fc.record({
			cafe: textArb(60),
			ville: textArb(40),
			role: textArb(40),
			satisfaction: fc.integer({ min: 1, max: 5 }),
			consentement: fc.constant(true),
			commentaire: fc.option(fc.string({ unit: "grapheme", maxLength: 300 }), { nil: undefined }),
		});
		const samples = fc.sample(validArb, { numRuns: 40 });
		let accepted = 0;
		for (const answers of samples) {
			const res = await postJson({ answers: Object.fromEntries(Object.entries(answers).filter(([, v]) => v !== undefined)) });
			expect(res.status).toBeLessThan(500);
			if (res.status === 201) accepted++;
		}
		expect(accepted).toBeGreaterThan(20);
		// An erasure, so that the erasure tables hold rows too.
		const one = await env.DB.prepare("SELECT id FROM submissions LIMIT 1").first<{ id: string }>();
		expect((await api("/api/admin/erasures", { method: "POST", json: { submissionId: one!.id } })).status).toBe(201);

		const runId = `manual-20261125T020000Z-prop${Math.random().toString(36).slice(2, 6)}`;
		await runBackup(runId, { trigger: "manual", requestedAt: Date.now() });
		const { manifest, records } = await decodeSnapshot(await snapshotIdOfRun(runId));
		const bounds = Object.fromEntries(Object.entries(manifest.tables).map(([t, s]) => [t, s.bound]));
		const check = buildRowCheckContext(Date.now(), bounds);
		const restored = records.filter((r) => r.table in ROW_RULES);
		expect(new Set(restored.map((r) => r.table))).toEqual(new Set(Object.keys(ROW_RULES)));
		const refusals = restored.map((r) => [r.table, checkSnapshotRow(r.table, r.row, check)]).filter(([, why]) => why !== null);
		expect(refusals).toEqual([]);
	});
});
