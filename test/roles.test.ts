// Dynamic roles: the normalisation table (pure), then deduplication, first spelling, use counts
// and GET /api/roles through the real Worker and local D1.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	buildRoleKey,
	buildRoleRef,
	normaliseRoleLabel,
	ROLE_MAX_LENGTH,
} from "../src/questionnaire/roles";
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

type ListedRole = { key: string; label: string; use_count: number; created_at: string; last_used_at: string | null };

async function fetchRoleList(): Promise<ListedRole[]> {
	const res = await exports.default.fetch("http://example.com/api/roles");
	expect(res.status).toBe(200);
	return ((await res.json()) as { roles: ListedRole[] }).roles;
}

describe("roles through submissions", () => {
	it("lists nothing before any submission", async () => {
		expect(await fetchRoleList()).toEqual([]);
	});

	it("deduplicates spellings, keeps the first one, counts uses, lists the most used first", async () => {
		const post = async (role: string) => {
			const res = await postJson({ answers: validAnswers({ role }) });
			expect(res.status, role).toBe(201);
		};
		await post("Serveuse");
		await post(" formateur ");
		const first = await env.DB.prepare("SELECT created_at FROM roles WHERE role_key = 'formateur'").first<{ created_at: string }>();
		for (const spelling of ["Formateur", "FORMATEUR", "Formatéur", "  FORMATÉUR "]) await post(spelling);
		await post("Barista");
		await post("barista");

		const roles = await fetchRoleList();
		expect(roles.map(({ key, label, use_count }) => ({ key, label, use_count }))).toEqual([
			{ key: "formateur", label: "formateur", use_count: 5 },
			{ key: "barista", label: "Barista", use_count: 2 },
			{ key: "serveuse", label: "Serveuse", use_count: 1 },
		]);
		const formateur = roles[0]!;
		expect(formateur.created_at).toBe(first!.created_at);
		expect(formateur.last_used_at! >= formateur.created_at).toBe(true);

		// Each submission keeps the spelling its respondent typed (normalised), and counts under the key.
		const { results } = await env.DB.prepare(
			"SELECT json_extract(answers, '$.role') AS typed FROM submissions WHERE role_key = 'formateur' ORDER BY seq",
		).all<{ typed: string }>();
		expect(results.map((r) => r.typed)).toEqual(["formateur", "Formateur", "FORMATEUR", "Formatéur", "FORMATÉUR"]);
	});
});
