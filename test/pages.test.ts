// The public pages: rendering from the questionnaire definition, accessibility wiring of errors,
// kept input, language choice, and the form's urlencoded post through the real app.
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { app } from "../src/http/app";
import { buildFieldTargetId, renderConfirmationPage, renderFormPage, type FormPageOptions } from "../src/http/pages/form";
import { buildContentSecurityPolicy } from "../src/http/pages/headers";
import { parseLocale } from "../src/http/pages/locale";
import { questionnaire, type Questionnaire } from "../src/questionnaire/definition";

const BASE = "http://example.com";

/** The roles the questionnaire itself suggests, in each language. */
const roleQuestion = questionnaire.questions.find((q) => q.type === "role");
const PREDEFINED_FR = (roleQuestion?.type === "role" ? (roleQuestion.suggestions ?? []) : []).map((s) => s.fr);
const PREDEFINED_EN = (roleQuestion?.type === "role" ? (roleQuestion.suggestions ?? []) : []).map((s) => s.en ?? s.fr);

function page(overrides: Partial<FormPageOptions> = {}): string {
	return renderFormPage({ questionnaire, roles: [], values: {}, errors: {}, locale: "fr", ...overrides });
}

/** HTMLRewriter hands out raw attribute and text source: decode the entities hono/jsx escapes. */
function decodeEntities<T extends string | null>(s: T): T {
	if (s === null) return s;
	return s
		.replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
		.replace(/&lt;/g, "<")
		.replace(/&gt;/g, ">")
		.replace(/&quot;/g, '"')
		.replace(/&amp;/g, "&") as T;
}

/** Parse the rendered HTML with the runtime's streaming parser and collect what the tests look at. */
async function inspect(html: string) {
	const inputs: Record<string, string | null>[] = [];
	const labelsFor = new Set<string>();
	const ids = new Set<string>();
	const summaryLinks: string[] = [];
	const datalist: string[] = [];
	let textareaText = "";
	const attrs = (el: Element, names: string[]) =>
		Object.fromEntries(names.map((n) => [n, decodeEntities(el.getAttribute(n))]));
	const names = ["type", "id", "name", "value", "checked", "aria-invalid", "aria-describedby", "required", "list", "tabindex", "autocomplete"];
	await new HTMLRewriter()
		.on("[id]", { element: (el) => void ids.add(el.getAttribute("id")!) })
		.on("input, textarea", { element: (el) => void inputs.push({ tag: el.tagName, ...attrs(el, names) }) })
		.on("label[for]", { element: (el) => void labelsFor.add(el.getAttribute("for")!) })
		.on(".error-summary a", { element: (el) => void summaryLinks.push(el.getAttribute("href")!) })
		.on("datalist option", { element: (el) => void datalist.push(el.getAttribute("value")!) })
		.on("textarea", { text: (t) => void (textareaText += t.text) })
		.transform(new Response(html))
		.text();
	return { inputs, labelsFor, ids, summaryLinks, datalist, textareaText: decodeEntities(textareaText) };
}

describe("parseLocale", () => {
	it.each([
		[undefined, undefined, "fr"],
		["en", undefined, "en"],
		["EN", "fr-FR", "en"],
		["de", "en-GB,en;q=0.9", "en"],
		[undefined, "fr-CH, fr;q=0.9, en;q=0.8", "fr"],
		[undefined, "en-US,en;q=0.9,fr;q=0.8", "en"],
		[undefined, "de-DE,de;q=0.9,en;q=0.5", "en"],
		[undefined, "en;q=0.2,fr;q=0.7", "fr"],
		[undefined, "en;q=0", "fr"],
		[undefined, "es, it", "fr"],
		[undefined, "garbage;;;q=x", "fr"],
	] as const)("lang=%s, Accept-Language=%s → %s", (lang, accept, expected) => {
		expect(parseLocale(lang, accept)).toBe(expected);
	});
});

describe("renderFormPage", () => {
	it("renders every question of the definition, each input with its own label", async () => {
		const html = page();
		const { inputs, labelsFor } = await inspect(html);
		const fieldNames = new Set(inputs.map((i) => i.name));
		for (const q of questionnaire.questions) expect(fieldNames, q.id).toContain(q.id);
		for (const input of inputs) expect(labelsFor, `label for ${input.id}`).toContain(input.id);
		expect(html).toContain('<html lang="fr">');
		expect(html).toContain("Nom du café");
		// Scale 1–5 as five radios inside a fieldset with a legend.
		const scale = inputs.filter((i) => i.name === "satisfaction");
		expect(scale.map((i) => [i.type, i.value])).toEqual(["1", "2", "3", "4", "5"].map((v) => ["radio", v]));
		expect(html).toMatch(/<fieldset[^>]*id="q-satisfaction"[\s\S]*?<legend/);
		// Required fields are marked for assistive technologies, and the form posts to its own address.
		expect(inputs.find((i) => i.name === "cafe")?.required).not.toBeNull();
		expect(inputs.find((i) => i.name === "commentaire")?.required).toBeNull();
		expect(html).toMatch(/<form[^>]*method="post"[^>]*action="\/"/);
		expect(html).not.toContain('class="error-summary"');
		expect(inputs.some((i) => i["aria-invalid"] !== null)).toBe(false);
	});

	it("has a hidden honeypot and no Turnstile widget without a site key", async () => {
		const html = page();
		const honeypot = (await inspect(html)).inputs.find((i) => i.name === "site_web");
		expect(honeypot).toMatchObject({ tabindex: "-1", autocomplete: "off", value: "" });
		expect(html).not.toContain("cf-turnstile");
		expect(html).not.toContain("challenges.cloudflare.com");
		expect(buildContentSecurityPolicy(true)).toContain("frame-src https://challenges.cloudflare.com");
		const withKey = page({ turnstileSiteKey: "1x00000000000000000000AA" });
		expect(withKey).toContain('data-sitekey="1x00000000000000000000AA"');
		expect(withKey).toContain("https://challenges.cloudflare.com/turnstile/v0/api.js");
	});

	it("offers the existing roles in a datalist attached to the role input", async () => {
		const { inputs, datalist } = await inspect(
			page({ roles: [{ key: "gerant", label: "Gérant" }, { key: "serveur", label: "Serveur" }] }),
		);
		const role = inputs.find((i) => i.name === "role");
		expect(role?.list).toBe("q-role-list");
		expect(datalist).toEqual(["Gérant", "Serveur"]);
	});

	it("shows each error next to its field, linked by aria, summarised with links, and keeps the input", async () => {
		const errors = { cafe: "Ce champ est obligatoire.", satisfaction: "Choisissez une note de 1 à 5.", consentement: "Cochez la case." };
		const values = {
			ville: "Besançon",
			role: "Barista <b>",
			commentaire: "Très bien </textarea><script>alert(1)</script>",
			activites: ["bar", "cuisine"],
			frequence: "mensuelle",
			email: "x@example.org",
		};
		const html = page({ errors, values });
		const { inputs, ids, summaryLinks, textareaText } = await inspect(html);
		for (const id of Object.keys(errors)) {
			const fieldInputs = inputs.filter((i) => i.name === id);
			expect(fieldInputs.length, id).toBeGreaterThan(0);
			for (const input of fieldInputs) expect(input["aria-invalid"], id).toBe("true");
			expect(ids).toContain(`q-${id}-error`);
			expect(html).toContain(errors[id as keyof typeof errors]);
		}
		// Single controls point at their error; groups carry it on the fieldset.
		expect(inputs.find((i) => i.name === "cafe")?.["aria-describedby"]).toBe("q-cafe-error");
		expect(html).toMatch(/<fieldset[^>]*id="q-satisfaction"[^>]*aria-describedby="[^"]*q-satisfaction-error/);
		expect(inputs.find((i) => i.name === "ville")?.["aria-invalid"]).toBeNull();
		// Summary: one link per error, in question order, each to an element that exists.
		const order = questionnaire.questions.map((q) => q.id).filter((id) => id in errors);
		expect(summaryLinks).toEqual(order.map((id) => `#${buildFieldTargetId(questionnaire.questions.find((q) => q.id === id)!)}`));
		for (const href of summaryLinks) expect(ids).toContain(href.slice(1));
		expect(html).toMatch(/class="error-summary"[^>]*tabindex="-1"|tabindex="-1"[^>]*class="error-summary"/);
		expect(html).toContain("<title>Erreur :");
		// Kept input, escaped.
		expect(inputs.find((i) => i.name === "ville")?.value).toBe("Besançon");
		expect(inputs.find((i) => i.name === "role")?.value).toBe("Barista <b>");
		expect(inputs.find((i) => i.name === "email")?.value).toBe("x@example.org");
		expect(textareaText).toBe(values.commentaire);
		expect(html).not.toContain("<script>alert(1)</script>");
		const checked = inputs.filter((i) => i.checked !== null).map((i) => `${i.name}=${i.value}`);
		expect(checked.sort()).toEqual(["activites=bar", "activites=cuisine", "frequence=mensuelle"]);
	});

	it("shows a form-level error without field errors", () => {
		const html = page({ formError: "Trop d’envois depuis cette connexion." });
		expect(html).toContain("Trop d’envois depuis cette connexion.");
		expect(html).toContain("L’envoi n’a pas abouti");
	});

	it("is driven by the definition: an added question appears with its label and input", async () => {
		const copy: Questionnaire = {
			...questionnaire,
			questions: [
				...questionnaire.questions,
				{
					id: "horaires",
					type: "single_choice",
					required: true,
					label: { fr: "Vos horaires d'ouverture ?", en: "Your opening hours?" },
					options: [
						{ value: "matin", label: { fr: "Le matin" } },
						{ value: "soir", label: { fr: "Le soir" } },
					],
				},
			],
		};
		const html = renderFormPage({ questionnaire: copy, roles: [], values: { horaires: "soir" }, errors: {}, locale: "en" });
		const { inputs } = await inspect(html);
		expect(html).toContain("Your opening hours?");
		expect(html).toContain("Le matin"); // no English label: French is shown
		expect(inputs.filter((i) => i.name === "horaires").map((i) => [i.value, i.checked !== null])).toEqual([
			["matin", false],
			["soir", true],
		]);
		expect(page()).not.toContain("horaires");
	});

	it("renders English when asked", () => {
		const html = page({ locale: "en" });
		expect(html).toContain('<html lang="en">');
		expect(html).toContain("Name of the café");
		expect(html).toContain('action="/?lang=en"');
		expect(renderConfirmationPage({ locale: "en" })).toContain("Thank you!");
		expect(renderConfirmationPage({ locale: "fr" })).toContain("Merci !");
	});
});

describe("GET / and GET /merci", () => {
	beforeEach(async () => {
		await env.DB.prepare("DELETE FROM roles").run();
	});

	it("serves the French form with the questionnaire's roles, then the approved ones of D1 (never a lone typed one)", async () => {
		await env.DB.batch([
			env.DB.prepare("INSERT INTO roles (role_key, label, created_at, use_count) VALUES (?, ?, ?, ?)").bind("serveur", "Serveur", "2026-11-01T00:00:00Z", 2),
			env.DB.prepare("INSERT INTO roles (role_key, label, created_at, use_count, approved_at) VALUES (?, ?, ?, ?, ?)").bind("chef", "Chef", "2026-11-02T00:00:00Z", 7, "2026-11-03T00:00:00Z"),
		]);
		const res = await exports.default.fetch(`${BASE}/`);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		expect(res.headers.get("cache-control")).toBe("no-store");
		const csp = res.headers.get("content-security-policy") ?? "";
		expect(csp).toContain("script-src 'self'");
		expect(csp).toContain("form-action 'self'");
		expect(csp).not.toContain("challenges.cloudflare.com");
		const html = await res.text();
		expect(html).toContain('<html lang="fr">');
		// "Serveur" has uses but no submission behind them (no respondent): not suggested.
		expect((await inspect(html)).datalist).toEqual([...PREDEFINED_FR, "Chef"]);
	});

	it("offers only the questionnaire's roles when D1 has none yet, in the page's language", async () => {
		const fr = await (await exports.default.fetch(`${BASE}/`)).text();
		expect((await inspect(fr)).datalist).toEqual(PREDEFINED_FR);
		const en = await (await exports.default.fetch(`${BASE}/?lang=en`)).text();
		expect((await inspect(en)).datalist).toEqual(PREDEFINED_EN);
	});

	it("picks English from ?lang=en or Accept-Language", async () => {
		const byQuery = await (await exports.default.fetch(`${BASE}/?lang=en`)).text();
		expect(byQuery).toContain('<html lang="en">');
		const byHeader = await exports.default.fetch(`${BASE}/`, { headers: { "Accept-Language": "en-GB,en;q=0.9" } });
		expect(byHeader.headers.get("content-language")).toBe("en");
		const fallback = await exports.default.fetch(`${BASE}/?lang=xx`, { headers: { "Accept-Language": "de" } });
		expect(fallback.headers.get("content-language")).toBe("fr");
	});

	it("serves the confirmation page", async () => {
		const res = await exports.default.fetch(`${BASE}/merci`);
		expect(res.status).toBe(200);
		expect(await res.text()).toContain("Vos réponses ont bien été enregistrées.");
	});

	it("fails with a clear 500 when the configuration is invalid, without leaking it", async () => {
		const res = await app.fetch(new Request(`${BASE}/`), { ...env, ADMIN_TOKEN: "short" }, {
			waitUntil() {},
			passThroughOnException() {},
			props: {},
		} as unknown as ExecutionContext);
		expect(res.status).toBe(500);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		const text = await res.text();
		expect(text).toContain("Questionnaire momentanément indisponible");
		expect(text).not.toContain("short");
		expect(text).not.toContain("ADMIN_TOKEN");
		expect(text).not.toMatch(/at .*\.ts:\d+/);
	});
});

/** The form as a browser without JavaScript would post it. */
function formBody(fields: [string, string][]): RequestInit {
	return {
		method: "POST",
		headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": "203.0.113.7" },
		body: new URLSearchParams(fields).toString(),
		redirect: "manual",
	};
}

const VALID: [string, string][] = [
	["cafe", "Le Zinc"],
	["ville", "Lyon"],
	["role", "Gérant"],
	["frequence", "mensuelle"],
	["activites", "bar"],
	["activites", "service"],
	["satisfaction", "4"],
	["commentaire", ""],
	["email", ""],
	["consentement", "true"],
	["site_web", ""],
];

async function countSubmissions(): Promise<number> {
	const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM submissions").first<{ n: number }>();
	return row!.n;
}

describe("the form's urlencoded post (POST /api/submissions)", () => {
	it("re-renders the page with errors next to the fields and the typed input kept; stores nothing", async () => {
		const before = await countSubmissions();
		const fields = VALID.filter(([k]) => k !== "cafe" && k !== "satisfaction").concat([["cafe", "  "]]);
		const res = await exports.default.fetch(`${BASE}/api/submissions`, formBody(fields));
		expect(res.status).toBe(400);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		// The same protective headers as the page served by GET /.
		expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
		expect(res.headers.get("x-content-type-options")).toBe("nosniff");
		expect(res.headers.get("cache-control")).toBe("no-store");
		const html = await res.text();
		const { inputs, ids, summaryLinks } = await inspect(html);
		expect(ids).toContain("q-cafe-error");
		expect(ids).toContain("q-satisfaction-error");
		expect(summaryLinks).toEqual(["#q-cafe", "#q-satisfaction-1"]);
		expect(inputs.find((i) => i.name === "ville")?.value).toBe("Lyon");
		expect(inputs.find((i) => i.name === "role")?.value).toBe("Gérant");
		expect(inputs.filter((i) => i.checked !== null).map((i) => `${i.name}=${i.value}`).sort()).toEqual([
			"activites=bar",
			"activites=service",
			"consentement=true",
			"frequence=mensuelle",
		]);
		expect(await countSubmissions()).toBe(before);
	});

	it("when the database refuses the write, gives the page back (503) with the input kept, not JSON", async () => {
		// A real D1 failure: a trigger that aborts every insert into submissions.
		await env.DB.prepare(
			"CREATE TRIGGER test_refuse_insert BEFORE INSERT ON submissions BEGIN SELECT RAISE(ABORT, 'simulated outage'); END",
		).run();
		try {
			const before = await countSubmissions();
			const uses = await env.DB.prepare("SELECT COALESCE(SUM(use_count), 0) AS n FROM roles").first<{ n: number }>();
			const res = await exports.default.fetch(`${BASE}/api/submissions`, formBody(VALID));
			expect(res.status).toBe(503);
			expect(res.headers.get("content-type")).toMatch(/^text\/html/);
			const html = await res.text();
			expect(decodeEntities(html)).toContain("Vos réponses n’ont pas pu être enregistrées");
			expect(html).not.toContain("simulated outage");
			const { inputs } = await inspect(html);
			expect(inputs.find((i) => i.name === "cafe")?.value).toBe("Le Zinc");
			expect(inputs.find((i) => i.name === "role")?.value).toBe("Gérant");
			// One batch: neither the row nor the role use nor a counter moved.
			expect(await countSubmissions()).toBe(before);
			expect(await env.DB.prepare("SELECT COALESCE(SUM(use_count), 0) AS n FROM roles").first<{ n: number }>()).toEqual(uses);
		} finally {
			await env.DB.prepare("DROP TRIGGER test_refuse_insert").run();
		}
	});

	it("redirects to the confirmation page and stores the submission when valid", async () => {
		const before = await countSubmissions();
		const res = await exports.default.fetch(`${BASE}/api/submissions`, formBody(VALID));
		expect(res.status).toBe(303);
		expect(new URL(res.headers.get("location")!, BASE).pathname).toBe("/merci");
		expect(await countSubmissions()).toBe(before + 1);
	});
});

/** The app with some variables changed (e.g. CONTACT_EMAIL), as a deployment would set them. */
function fetchWith(vars: Record<string, string>, path: string, init: RequestInit = {}): Promise<Response> {
	return Promise.resolve(
		app.fetch(new Request(`${BASE}${path}`, init), { ...env, ...vars }, {
			waitUntil() {},
			passThroughOnException() {},
			props: {},
		} as unknown as ExecutionContext),
	);
}

/** Visible text of the error summary's links (tags dropped, entities decoded). */
async function summaryTexts(html: string): Promise<string[]> {
	const texts: string[] = [];
	let current = "";
	await new HTMLRewriter()
		.on(".error-summary a", {
			element: (el) => {
				current = "";
				el.onEndTag(() => void texts.push(decodeEntities(current)));
			},
			text: (t) => void (current += t.text),
		})
		.transform(new Response(html))
		.text();
	return texts;
}

describe("the form posts to its own address, POST / (errors at a stable URL, Post/Redirect/Get on success)", () => {
	it("refused: the form again at /, every value kept; accepted: 303 to /merci", async () => {
		const before = await countSubmissions();
		const fields = VALID.filter(([k]) => k !== "satisfaction");
		const refused = await exports.default.fetch(`${BASE}/`, formBody(fields));
		expect(refused.status).toBe(400);
		expect(refused.headers.get("content-type")).toMatch(/^text\/html/);
		const html = await refused.text();
		const { inputs, summaryLinks } = await inspect(html);
		expect(summaryLinks).toEqual(["#q-satisfaction-1"]);
		expect(inputs.find((i) => i.name === "cafe")?.value).toBe("Le Zinc");
		// The corrected form posts to the same address again.
		expect(html).toMatch(/<form[^>]*action="\/"/);
		expect(await countSubmissions()).toBe(before);

		const accepted = await exports.default.fetch(`${BASE}/?lang=en`, formBody(VALID));
		expect(accepted.status).toBe(303);
		expect(accepted.headers.get("location")).toBe("/merci?lang=en");
		expect(await countSubmissions()).toBe(before + 1);
	});

	it("takes only the form's urlencoded body: JSON to / is a 415 page, not the API's answer", async () => {
		const before = await countSubmissions();
		const res = await exports.default.fetch(`${BASE}/`, {
			method: "POST",
			headers: { "Content-Type": "application/json", "CF-Connecting-IP": "203.0.113.8" },
			body: JSON.stringify({ answers: {} }),
		});
		expect(res.status).toBe(415);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		expect(decodeEntities(await res.text())).toContain("L’envoi n’a pas abouti");
		expect(await countSubmissions()).toBe(before);
	});

	it("past the rate limit (429): every typed value kept, and a French message saying how long to wait", async () => {
		const ip = "198.51.100.29";
		// Invalid posts (no satisfaction) store nothing but count: the 11th within a minute is refused.
		const typed: [string, string][] = [
			["cafe", "Le Zinc d’en face"],
			["ville", "Besançon"],
			["role", "Plongeur"],
			["frequence", "occasionnelle"],
			["activites", "cuisine"],
			["activites", "evenements"],
			["commentaire", "Merci pour tout <3"],
			["email", "zinc@example.org"],
			["consentement", "true"],
			["site_web", ""],
		];
		const before = await countSubmissions();
		let limited: Response | undefined;
		for (let i = 0; i < 21 && !limited; i++) {
			const res = await exports.default.fetch(`${BASE}/`, { ...formBody(typed), headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": ip } });
			if (res.status === 429) limited = res;
			else {
				expect(res.status).toBe(400);
				await res.arrayBuffer();
			}
		}
		expect(limited).toBeDefined();
		expect(limited!.headers.get("retry-after")).toBe("60");
		expect(limited!.headers.get("content-type")).toMatch(/^text\/html/);
		const html = await limited!.text();
		const text = decodeEntities(html);
		expect(text).toContain("Trop d’envois en peu de temps depuis cette connexion. Attendez 1 minute, puis renvoyez");
		expect(text).toContain("vos réponses sont conservées ci-dessous");
		const { inputs, textareaText } = await inspect(html);
		expect(inputs.find((i) => i.name === "cafe")?.value).toBe("Le Zinc d’en face");
		expect(inputs.find((i) => i.name === "ville")?.value).toBe("Besançon");
		expect(inputs.find((i) => i.name === "role")?.value).toBe("Plongeur");
		expect(inputs.find((i) => i.name === "email")?.value).toBe("zinc@example.org");
		expect(textareaText).toBe("Merci pour tout <3");
		expect(inputs.filter((i) => i.checked !== null).map((i) => `${i.name}=${i.value}`).sort()).toEqual([
			"activites=cuisine",
			"activites=evenements",
			"consentement=true",
			"frequence=occasionnelle",
		]);
		expect(await countSubmissions()).toBe(before);
	});

	it("the English page gets the English wait message", async () => {
		const ip = "198.51.100.30";
		let limited: Response | undefined;
		for (let i = 0; i < 21 && !limited; i++) {
			const res = await exports.default.fetch(`${BASE}/?lang=en`, { ...formBody([["cafe", "X"]]), headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": ip } });
			if (res.status === 429) limited = res;
			else await res.arrayBuffer();
		}
		const text = decodeEntities(await limited!.text());
		expect(text).toContain("Too many submissions from this connection in a short time. Wait 1 minute, then send again: your answers are kept below.");
		expect(text).toContain('value="X"');
	});
});

describe("the error summary", () => {
	it("names each question briefly, never repeats the consent sentence, never doubles punctuation", async () => {
		const errors = { frequence: "Choisissez une des options proposées.", consentement: "Cochez cette case pour pouvoir envoyer vos réponses.", cafe: "Ce champ est obligatoire." };
		const fr = await summaryTexts(page({ errors }));
		expect(fr).toEqual([
			"Nom du café\u202f: Ce champ est obligatoire.",
			"Fréquence d'accueil des stagiaires\u202f: Choisissez une des options proposées.",
			"Consentement\u202f: Cochez cette case pour pouvoir envoyer vos réponses.",
		]);
		const en = await summaryTexts(page({ errors, locale: "en" }));
		expect(en[2]).toBe("Consent: Cochez cette case pour pouvoir envoyer vos réponses.");
		for (const line of [...fr, ...en]) expect(line, line).not.toMatch(/[.?!:;…][\s\u202f]*:/);
	});

	it("strips the final punctuation of a label that has no short name", async () => {
		const copy: Questionnaire = {
			...questionnaire,
			questions: [{ id: "horaires", type: "short_text", required: true, maxLength: 10, label: { fr: "Vos horaires ?" } }],
		};
		const html = renderFormPage({ questionnaire: copy, roles: [], values: {}, errors: { horaires: "Ce champ est obligatoire." }, locale: "fr" });
		expect(await summaryTexts(html)).toEqual(["Vos horaires\u202f: Ce champ est obligatoire."]);
	});
});

describe("how to have one's answers deleted", () => {
	it("the form says to write to CONTACT_EMAIL, and links the page that explains", async () => {
		const res = await fetchWith({ CONTACT_EMAIL: "donnees@cap-formations.test" }, "/");
		const text = decodeEntities(await res.text());
		expect(text).toContain(
			'Pour les faire supprimer, écrivez à <a href="mailto:donnees@cap-formations.test">donnees@cap-formations.test</a> en indiquant le nom de votre café et la ville.',
		);
		expect(text).toContain('<a href="/confidentialite">Vos données et leur suppression</a>');
	});

	it("without CONTACT_EMAIL, says to ask one's contact at CAP Formations", async () => {
		const text = decodeEntities(await (await exports.default.fetch(`${BASE}/`)).text());
		expect(text).toContain("Pour les faire supprimer, demandez-le à votre interlocuteur chez CAP Formations");
		expect(text).not.toContain("mailto:");
	});

	it("GET /confidentialite explains what is kept, for how long, and how (French and English)", async () => {
		const res = await fetchWith({ CONTACT_EMAIL: "donnees@cap-formations.test", KEEP_MONTHLY: "18" }, "/confidentialite");
		expect(res.status).toBe(200);
		expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
		const fr = decodeEntities(await res.text());
		expect(fr).toContain("<h1>Vos réponses et leur suppression</h1>");
		expect(fr).toContain("gardées environ 18 mois");
		expect(fr).toContain("mailto:donnees@cap-formations.test");
		const en = decodeEntities(await (await exports.default.fetch(`${BASE}/confidentialite?lang=en`)).text());
		expect(en).toContain("<h1>Your answers and how to delete them</h1>");
		expect(en).toContain("ask your contact at CAP Formations");
	});
});

describe("a mistyped address", () => {
	const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

	it("is a French HTML page for a browser, with a way back to the form", async () => {
		const res = await exports.default.fetch(`${BASE}/questionaire`, { headers: { Accept: BROWSER } });
		expect(res.status).toBe(404);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		expect(res.headers.get("content-language")).toBe("fr");
		const html = await res.text();
		expect(html).toContain('<html lang="fr">');
		expect(html).toContain("<h1>Page introuvable</h1>");
		expect(html).toContain('<a href="/">Aller au questionnaire</a>');
		expect(html).not.toContain("not_found");
	});

	it("is in English when the page language is English (?lang=en or Accept-Language)", async () => {
		for (const [path, lang] of [["/nope?lang=en", "fr"], ["/nope", "en-GB,en;q=0.9"]] as const) {
			const res = await exports.default.fetch(`${BASE}${path}`, { headers: { Accept: BROWSER, "Accept-Language": lang } });
			expect(res.status).toBe(404);
			const html = await res.text();
			expect(html).toContain('<html lang="en">');
			expect(html).toContain("<h1>Page not found</h1>");
		}
	});

	it("stays the JSON envelope under /api/ and for programs", async () => {
		for (const [path, accept] of [["/api/nope", BROWSER], ["/nope", "application/json"], ["/nope", "*/*"]] as const) {
			const res = await exports.default.fetch(`${BASE}${path}`, { headers: { Accept: accept } });
			expect(res.status, path).toBe(404);
			expect(res.headers.get("content-type"), `${path} ${accept}`).toMatch(/^application\/json/);
			expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
		}
	});
});
