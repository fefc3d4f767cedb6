// The administrator's roles API through the real Worker and local D1: the list, approve, rename
// (same key, new key, clashes), merge, the audit log (role seqs only, never the typed text), and
// every refusal in the envelope.
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { questionnaire } from "../src/questionnaire/definition";
import { buildRoleKey } from "../src/questionnaire/roles";
import { ADMIN } from "./backup-helpers";
import { postJson, validAnswers } from "./helpers/submissions";

const BASE = "http://example.com";

type AdminRole = {
	key: string;
	label: string;
	uses: number;
	totalUses: number;
	respondents: number;
	predefined: boolean;
	approvedAt: string | null;
	mergedInto: string | null;
	suggested: boolean;
	createdAt: string | null;
	lastUsedAt: string | null;
};
type RoleList = { minRespondents: number; total: number; roles: AdminRole[] };
type Envelope = { error: { code: string; message: string; fields?: Record<string, string> } };

const roleQuestion = questionnaire.questions.find((q) => q.type === "role");
const SUGGESTIONS = roleQuestion?.type === "role" ? (roleQuestion.suggestions ?? []) : [];
const OWNER = SUGGESTIONS.find((s) => s.en === "Owner")!;
const OWNER_KEY = buildRoleKey(OWNER.fr);

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
	return exports.default.fetch(`${BASE}${path}`, {
		method,
		headers: { ...ADMIN, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
		body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
	});
}

const rolePath = (key: string) => `/api/admin/roles/${encodeURIComponent(key)}`;

async function list(): Promise<RoleList> {
	const res = await call("GET", "/api/admin/roles");
	expect(res.status).toBe(200);
	return res.json();
}

const byKey = (l: RoleList, key: string) => l.roles.find((r) => r.key === key);

async function expectError(res: Response, status: number, code: string): Promise<Envelope> {
	expect(res.status).toBe(status);
	const body = (await res.json()) as Envelope;
	expect(body.error.code).toBe(code);
	expect(body.error.message.length).toBeGreaterThan(5);
	return body;
}

async function submit(role: string, cafe: string): Promise<void> {
	expect((await postJson({ answers: validAnswers({ role, cafe }) })).status).toBe(201);
}

async function suggested(): Promise<string[]> {
	const res = await exports.default.fetch(`${BASE}/api/roles`);
	return ((await res.json()) as { roles: { label: string; source: string }[] }).roles.filter((r) => r.source !== "questionnaire").map((r) => r.label);
}

async function auditLines(): Promise<{ action: string; detail: string }[]> {
	return (await env.DB.prepare("SELECT action, detail FROM audit_log WHERE action LIKE 'role_%' ORDER BY seq").all<{ action: string; detail: string }>()).results;
}

beforeEach(async () => {
	await env.DB.batch(["submissions", "roles", "audit_log"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
});

describe("GET /api/admin/roles", () => {
	it("lists the questionnaire's roles when nothing is stored (the empty case)", async () => {
		const l = await list();
		expect(l.minRespondents).toBe(3);
		expect(l.total).toBe(0);
		expect(l.roles.map((r) => [r.label, r.predefined, r.suggested, r.uses])).toEqual(SUGGESTIONS.map((s) => [s.fr, true, true, 0]));
	});

	it("says, for each typed role, its uses, distinct respondents and whether the form suggests it", async () => {
		await submit("Plongeur", "Café A");
		await submit("Plongeur", "Café A");
		await submit("Commis", "Café B");
		await submit("Commis", "Café C");
		await submit("Commis", "Café D");
		const l = await list();
		expect(l.total).toBe(2);
		expect(byKey(l, "commis")).toMatchObject({ label: "Commis", uses: 3, totalUses: 3, respondents: 3, suggested: true, predefined: false });
		expect(byKey(l, "plongeur")).toMatchObject({ uses: 2, respondents: 1, suggested: false, approvedAt: null, mergedInto: null });
	});

	it("needs the administrator token", async () => {
		const res = await exports.default.fetch(`${BASE}/api/admin/roles`);
		await expectError(res, 401, "unauthorized");
	});
});

describe("PATCH /api/admin/roles/{key}", () => {
	it("approves a role (suggested at once), withdraws the approval, and writes one audit line each", async () => {
		await submit("Plongeur", "Café A");
		expect(await suggested()).toEqual([]);
		const approved = await call("PATCH", rolePath("plongeur"), { approved: true });
		expect(approved.status).toBe(200);
		expect(byKey(await approved.json(), "plongeur")).toMatchObject({ suggested: true, approvedAt: expect.any(String) });
		expect(await suggested()).toEqual(["Plongeur"]);
		// Approving again changes nothing and logs nothing.
		expect((await call("PATCH", rolePath("plongeur"), { approved: true })).status).toBe(200);
		expect((await call("PATCH", rolePath("plongeur"), { approved: false })).status).toBe(200);
		expect(await suggested()).toEqual([]);
		const seq = (await env.DB.prepare("SELECT seq FROM roles WHERE role_key = 'plongeur'").first<{ seq: number }>())!.seq;
		expect(await auditLines()).toEqual([
			{ action: "role_approve", detail: JSON.stringify({ role: seq }) },
			{ action: "role_unapprove", detail: JSON.stringify({ role: seq }) },
		]);
	});

	it("renames within the same key (case, accents): the label of the role and of the roles merged into it", async () => {
		await submit("plongeur", "Café A");
		await submit("Aide plonge", "Café B");
		expect((await call("POST", `${rolePath("aide plonge")}/merge`, { into: "plongeur" })).status).toBe(200);
		const res = await call("PATCH", rolePath("plongeur"), { label: "  Plongeur " });
		expect(res.status).toBe(200);
		const rows = await env.DB.prepare("SELECT role_key, label FROM roles ORDER BY seq").all();
		expect(rows.results).toEqual([
			{ role_key: "plongeur", label: "Plongeur" },
			{ role_key: "aide plonge", label: "Plongeur" },
		]);
	});

	it("renames to a new name: a role under the new key, the old one merged into it, approval kept; the answers' role column follows", async () => {
		await submit("Owner de fait", "Café A");
		await call("PATCH", rolePath("owner de fait"), { approved: true });
		const res = await call("PATCH", rolePath("owner de fait"), { label: "Gérant de fait" });
		expect(res.status).toBe(200);
		const l = (await res.json()) as RoleList;
		expect(byKey(l, "gerant de fait")).toMatchObject({ label: "Gérant de fait", uses: 0, totalUses: 1, respondents: 1, suggested: true, approvedAt: expect.any(String) });
		expect(byKey(l, "owner de fait")).toMatchObject({ label: "Gérant de fait", mergedInto: "gerant de fait", suggested: false, approvedAt: null });
		expect(await suggested()).toEqual(["Gérant de fait"]);
		// Readers that join answers to roles by key (the listing, the CSV) show the new name.
		const page = await call("GET", "/api/admin/submissions");
		expect(JSON.stringify(await page.json())).toContain('"role":{"key":"owner de fait","label":"Gérant de fait"}');
		// A respondent typing the new name now counts as the same role.
		await submit("gérant de fait", "Café B");
		expect(byKey(await list(), "gerant de fait")).toMatchObject({ uses: 1, totalUses: 2, respondents: 2 });
		expect((await auditLines()).map((a) => a.action)).toEqual(["role_approve", "role_rename"]);
		const rename = JSON.parse((await auditLines())[1]!.detail) as { role: number; into: number };
		expect(typeof rename.role).toBe("number");
		expect(typeof rename.into).toBe("number");
		expect((await auditLines())[1]!.detail).not.toMatch(/[Gg]érant|[Oo]wner/);
	});

	it("refuses a name another role already has (merge instead), a questionnaire role, a merged role, an empty name", async () => {
		await submit("Plongeur", "Café A");
		await submit("Commis", "Café B");
		await submit(OWNER.fr, "Café C");
		const clash = await expectError(await call("PATCH", rolePath("plongeur"), { label: "COMMIS" }), 409, "role_exists");
		expect(clash.error.fields).toEqual({ into: "commis" });
		// The English name of a questionnaire role is that role too.
		expect((await expectError(await call("PATCH", rolePath("plongeur"), { label: "Owner" }), 409, "role_exists")).error.fields).toEqual({ into: OWNER_KEY });
		await expectError(await call("PATCH", rolePath(OWNER_KEY), { label: "Patron" }), 409, "role_predefined");
		await call("POST", `${rolePath("commis")}/merge`, { into: "plongeur" });
		await expectError(await call("PATCH", rolePath("commis"), { approved: true }), 409, "role_merged");
		const empty = await expectError(await call("PATCH", rolePath("plongeur"), { label: " \u200b " }), 400, "invalid_label");
		expect(empty.error.fields).toEqual({ label: "empty after normalisation" });
		expect((await auditLines()).map((a) => a.action)).toEqual(["role_merge"]);
	});

	it("answers bad input with the envelope: unknown role, empty or unknown fields, wrong types, not JSON", async () => {
		await submit("Plongeur", "Café A");
		await expectError(await call("PATCH", rolePath("nobody"), { approved: true }), 404, "role_not_found");
		const missing = await expectError(await call("PATCH", rolePath("plongeur"), {}), 400, "invalid_request");
		expect(Object.keys(missing.error.fields ?? {})).toEqual(["body"]);
		const extra = await expectError(await call("PATCH", rolePath("plongeur"), { approved: true, colour: "red" }), 400, "invalid_request");
		expect(extra.error.fields).toEqual({ colour: "unknown field" });
		const wrongType = await expectError(await call("PATCH", rolePath("plongeur"), { approved: "yes" }), 400, "invalid_request");
		expect(Object.keys(wrongType.error.fields ?? {})).toEqual(["approved"]);
		await expectError(await call("PATCH", rolePath("plongeur"), '{"approved": tru'), 400, "invalid_json");
		await expectError(await call("PATCH", rolePath("plongeur"), "approved=true", { "Content-Type": "application/x-www-form-urlencoded" }), 415, "unsupported_media_type");
		expect(await auditLines()).toEqual([]);
	});
});

describe("POST /api/admin/roles/{key}/merge", () => {
	it("merges a role into another: answers keep their key, counts add up, one audit line", async () => {
		await submit("Plongeur", "Café A");
		await submit("Plongeuse", "Café B");
		await submit("Plongeuse", "Café C");
		const res = await call("POST", `${rolePath("plongeuse")}/merge`, { into: "plongeur" });
		expect(res.status).toBe(200);
		const l = (await res.json()) as RoleList;
		expect(byKey(l, "plongeur")).toMatchObject({ uses: 1, totalUses: 3, respondents: 3, suggested: true });
		expect(byKey(l, "plongeuse")).toMatchObject({ label: "Plongeur", mergedInto: "plongeur", suggested: false });
		expect(await suggested()).toEqual(["Plongeur"]);
		const keys = await env.DB.prepare("SELECT role_key FROM submissions ORDER BY seq").all<{ role_key: string }>();
		expect(keys.results.map((r) => r.role_key)).toEqual(["plongeur", "plongeuse", "plongeuse"]);
		const seqs = await env.DB.prepare("SELECT role_key, seq FROM roles").all<{ role_key: string; seq: number }>();
		const seqOf = Object.fromEntries(seqs.results.map((r) => [r.role_key, r.seq]));
		expect(await auditLines()).toEqual([{ action: "role_merge", detail: JSON.stringify({ role: seqOf.plongeuse, into: seqOf.plongeur }) }]);
	});

	it("into a merged role means into the role it counts as; into a questionnaire role nobody chose yet creates it", async () => {
		await submit("A", "Café A");
		await submit("B", "Café B");
		await submit("C", "Café C");
		await call("POST", `${rolePath("b")}/merge`, { into: "a" });
		expect((await call("POST", `${rolePath("c")}/merge`, { into: "b" })).status).toBe(200);
		expect(byKey(await list(), "c")).toMatchObject({ mergedInto: "a", label: "A" });
		// Merging "a" (with b and c) into a questionnaire role: the whole group follows.
		const res = await call("POST", `${rolePath("a")}/merge`, { into: OWNER_KEY });
		expect(res.status).toBe(200);
		const l = (await res.json()) as RoleList;
		expect(byKey(l, OWNER_KEY)).toMatchObject({ label: OWNER.fr, predefined: true, totalUses: 3, respondents: 3 });
		for (const k of ["a", "b", "c"]) expect(byKey(l, k)).toMatchObject({ mergedInto: OWNER_KEY, label: OWNER.fr });
	});

	it("refuses a merge into itself, into an unknown role, of an unknown or questionnaire role, and bad bodies", async () => {
		await submit("Plongeur", "Café A");
		await submit(OWNER.fr, "Café B");
		await expectError(await call("POST", `${rolePath("plongeur")}/merge`, { into: "plongeur" }), 400, "same_role");
		const unknown = await expectError(await call("POST", `${rolePath("plongeur")}/merge`, { into: "nobody" }), 400, "unknown_role");
		expect(unknown.error.fields).toEqual({ into: "no such role" });
		await expectError(await call("POST", `${rolePath("nobody")}/merge`, { into: "plongeur" }), 404, "role_not_found");
		await expectError(await call("POST", `${rolePath(OWNER_KEY)}/merge`, { into: "plongeur" }), 409, "role_predefined");
		const missing = await expectError(await call("POST", `${rolePath("plongeur")}/merge`, {}), 400, "invalid_request");
		expect(Object.keys(missing.error.fields ?? {})).toEqual(["into"]);
		await expectError(await call("POST", `${rolePath("plongeur")}/merge`, "{"), 400, "invalid_json");
		expect(await auditLines()).toEqual([]);
		expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM roles WHERE merged_into IS NOT NULL").first<{ n: number }>())!.n).toBe(0);
	});
});
