// Dynamic roles: the normalisation table (pure), then deduplication, first spelling, use counts
// and GET /api/roles through the real Worker and local D1: only roles of several distinct
// respondents, approved ones, and the questionnaire's own are ever suggested.
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { app } from "../src/http/app";
import { questionnaire } from "../src/questionnaire/definition";
import {
	buildRoleKey,
	buildRoleRef,
	normaliseRoleLabel,
	ROLE_MAX_LENGTH,
} from "../src/questionnaire/roles";
import { ADMIN } from "./backup-helpers";
import { postJson, validAnswers } from "./helpers/submissions";

describe("normaliseRoleLabel", () => {
	it.each<[string, string]>([
		["Formateur", "Formateur"],
		["  Formateur  ", "Formateur"],
		["Chef   de\tcuisine", "Chef de cuisine"],
		["Chef\nde\r\ncuisine", "Chef de cuisine"],
		["Chef\u00a0de\u202fcuisine", "Chef de cuisine"],
		["Form\u200bateur", "Formateur"],
		["\ufeffFormateur\u00ad", "Formateur"],
		["Formate\u0301ur", "Formatéur"], // decomposed accent -> NFC
		["   ", ""],
		["", ""],
	])("%j -> %j", (raw, expected) => {
		expect(normaliseRoleLabel(raw)).toBe(expected);
	});

	it("cuts to the length limit without splitting a character, and trims the cut", () => {
		expect(normaliseRoleLabel("a".repeat(ROLE_MAX_LENGTH + 10))).toHaveLength(ROLE_MAX_LENGTH);
		expect(normaliseRoleLabel("Chef de cuisine", 5)).toBe("Chef");
		expect(normaliseRoleLabel("ab☕️cd", 3)).toBe("ab☕");
		expect(normaliseRoleLabel("😀😀😀", 2)).toBe("😀😀");
	});
});

describe("buildRoleKey", () => {
	it.each<[string, string]>([
		["formateur", "formateur"],
		[" Formateur ", "formateur"],
		["FORMATEUR", "formateur"],
		["Formatéur", "formateur"],
		["FORMATÉUR", "formateur"],
		["formate\u0301ur", "formateur"],
		["Formateur\u00a0", "formateur"],
		["Chef  de Cuisine", "chef de cuisine"],
		["Maître d’hôtel", "maitre d'hotel"],
		["maitre d'hotel", "maitre d'hotel"],
		["Chargée de l’accueil", "chargee de l'accueil"],
		["Cœur de métier", "coeur de metier"],
		["Aide‑cuisinier", "aide-cuisinier"],
		["Ｆｏｒｍａｔｅｕｒ", "formateur"], // full-width letters (NFKD)
	])("%j -> %j", (label, key) => {
		expect(buildRoleKey(label)).toBe(key);
	});

	it("keeps roles that differ by more than case and accents apart", () => {
		const keys = ["Formateur", "Formatrice", "Formateur·rice", "Serveur", "Serveuse"].map(buildRoleKey);
		expect(new Set(keys).size).toBe(keys.length);
	});

	it("ignores invisible format characters (bidi marks and isolates), so look-alikes are one role", () => {
		for (const disguised of ["Formateur\u200e", "\u202eFormateur", "\u2066Formateur\u2069", "Forma\u061cteur"]) {
			expect(buildRoleRef(disguised), JSON.stringify(disguised)).toEqual({ key: "formateur", label: "Formateur" });
		}
	});

	it("gives no role when nothing visible is left (only accents, only format characters)", () => {
		expect(buildRoleRef("\u0301\u0301")).toBeUndefined();
		expect(buildRoleRef("\u200e\u202e")).toBeUndefined();
	});

	it("gives no role for blank input", () => {
		expect(buildRoleRef("  \t ")).toBeUndefined();
		expect(buildRoleRef(" Barista ")).toEqual({ key: "barista", label: "Barista" });
	});
});

type ListedRole = { key: string; label: string; source: "questionnaire" | "approved" | "shared" };

async function fetchRoleList(query = "", vars?: Record<string, string>): Promise<ListedRole[]> {
	const req = new Request(`http://example.com/api/roles${query}`);
	const res = vars
		? await app.fetch(req, { ...env, ...vars }, { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext)
		: await exports.default.fetch(req);
	expect(res.status).toBe(200);
	return ((await res.json()) as { roles: ListedRole[] }).roles;
}

/** The roles typed by respondents that GET /api/roles lists (the questionnaire's own left out). */
async function typedSuggestions(query = "", vars?: Record<string, string>): Promise<ListedRole[]> {
	return (await fetchRoleList(query, vars)).filter((r) => r.source !== "questionnaire");
}

const roleQuestion = questionnaire.questions.find((q) => q.type === "role");
const SUGGESTIONS = roleQuestion?.type === "role" ? (roleQuestion.suggestions ?? []) : [];

/** One accepted submission with this role, from this café (one café + town = one respondent). */
async function submit(role: string, cafe = "Le Petit Café", ville = "Lyon"): Promise<string> {
	const res = await postJson({ answers: validAnswers({ role, cafe, ville }) });
	expect(res.status, role).toBe(201);
	return ((await res.json()) as { id: string }).id;
}

describe("roles through submissions", () => {
	beforeEach(async () => {
		await env.DB.batch([env.DB.prepare("DELETE FROM submissions"), env.DB.prepare("DELETE FROM roles")]);
	});

	it("lists only the questionnaire's roles before any submission, in the page's language", async () => {
		expect(await fetchRoleList()).toEqual(
			SUGGESTIONS.map((s) => ({ key: buildRoleKey(s.fr), label: s.fr, source: "questionnaire" })),
		);
		expect((await fetchRoleList("?lang=en")).map((r) => r.label)).toEqual(SUGGESTIONS.map((s) => s.en ?? s.fr));
		expect(SUGGESTIONS.length).toBeGreaterThan(3);
	});

	it("deduplicates spellings, keeps the first one, and counts uses", async () => {
		await submit("Serveuse");
		await submit(" formateur ");
		const first = await env.DB.prepare("SELECT created_at FROM roles WHERE role_key = 'formateur'").first<{ created_at: string }>();
		for (const spelling of ["Formateur", "FORMATEUR", "Formatéur", "  FORMATÉUR "]) await submit(spelling);
		await submit("Plongeur");
		await submit("plongeur");

		const { results } = await env.DB.prepare("SELECT role_key AS key, label, use_count, created_at FROM roles ORDER BY use_count DESC, seq").all();
		expect(results.map(({ key, label, use_count }) => ({ key, label, use_count }))).toEqual([
			{ key: "formateur", label: "formateur", use_count: 5 },
			{ key: "plongeur", label: "Plongeur", use_count: 2 },
			{ key: "serveuse", label: "Serveuse", use_count: 1 },
		]);
		expect(results[0]!.created_at).toBe(first!.created_at);

		// Each submission keeps the spelling its respondent typed (normalised), and counts under the key.
		const typed = await env.DB.prepare(
			"SELECT json_extract(answers, '$.role') AS typed FROM submissions WHERE role_key = 'formateur' ORDER BY seq",
		).all<{ typed: string }>();
		expect(typed.results.map((r) => r.typed)).toEqual(["formateur", "Formateur", "FORMATEUR", "Formatéur", "FORMATÉUR"]);
	});

	it("never suggests what one respondent typed, however often: only a role of ROLE_SUGGEST_MIN_USES (3) distinct respondents", async () => {
		// One café posting five times is one respondent; the same café in other letter case too.
		for (const cafe of ["Le Zinc", "LE ZINC", "  le zinc ", "Le Zinc", "Le Zinc"]) await submit("Owner de fait", cafe, "Dole");
		await submit("Plongeur", "Café A", "Dole");
		await submit("Plongeur", "Café B", "Dole");
		expect(await typedSuggestions()).toEqual([]);
		// A third café: "Plongeur" now has three respondents. The same café name in another town is another café.
		await submit("plongeur", "Café A", "Arbois");
		expect(await typedSuggestions()).toEqual([{ key: "plongeur", label: "Plongeur", source: "shared" }]);
		// The form offers exactly the same list.
		const page = await (await exports.default.fetch("http://example.com/")).text();
		expect(page).toContain('<option value="Plongeur"></option>');
		expect(page).not.toContain("Owner de fait");
	});

	it("follows ROLE_SUGGEST_MIN_USES", async () => {
		await submit("Plongeur", "Café A");
		expect(await typedSuggestions()).toEqual([]);
		expect(await typedSuggestions("", { ROLE_SUGGEST_MIN_USES: "1" })).toEqual([{ key: "plongeur", label: "Plongeur", source: "shared" }]);
	});

	it("lists an approved role whatever its uses, and no longer counts erased respondents", async () => {
		const ids = [await submit("Plongeur", "Café A"), await submit("Plongeur", "Café B"), await submit("Plongeur", "Café C")];
		await submit("Commis", "Café D");
		await env.DB.prepare("UPDATE roles SET approved_at = '2026-11-20T10:00:00Z' WHERE role_key = 'commis'").run();
		expect(await typedSuggestions()).toEqual([
			{ key: "plongeur", label: "Plongeur", source: "shared" },
			{ key: "commis", label: "Commis", source: "approved" },
		]);
		// One of the three asks for erasure: two respondents left, the role is no longer offered.
		const erased = await exports.default.fetch("http://example.com/api/admin/erasures", {
			method: "POST",
			headers: { ...ADMIN, "Content-Type": "application/json" },
			body: JSON.stringify({ submissionId: ids[0] }),
		});
		expect(erased.status).toBe(201);
		expect(await typedSuggestions()).toEqual([{ key: "commis", label: "Commis", source: "approved" }]);
	});

	it("counts a questionnaire role typed in English as that role (one role, whatever the page's language)", async () => {
		const owner = SUGGESTIONS.find((s) => s.en === "Owner")!;
		await submit("owner ");
		const row = await env.DB.prepare("SELECT role_key, json_extract(answers, '$.role') AS typed FROM submissions").first<{ role_key: string; typed: string }>();
		expect(row).toEqual({ role_key: buildRoleKey(owner.fr), typed: "owner" });
		expect(await env.DB.prepare("SELECT label FROM roles").all()).toMatchObject({ results: [{ label: owner.fr }] });
		expect(await typedSuggestions()).toEqual([]);
	});

	it("counts the respondents of merged roles together, under the name of the role merged into", async () => {
		await submit("Plongeur", "Café A");
		await submit("Plongeuse", "Café B");
		await submit("Aide plonge", "Café C");
		expect(await typedSuggestions()).toEqual([]);
		await env.DB.prepare("UPDATE roles SET merged_into = 'plongeur', label = 'Plongeur' WHERE role_key IN ('plongeuse', 'aide plonge')").run();
		expect(await typedSuggestions()).toEqual([{ key: "plongeur", label: "Plongeur", source: "shared" }]);
	});
});
