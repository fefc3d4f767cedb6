// Answer validation derived from the questionnaire definition (pure): types, limits, required,
// form strings vs JSON values, unknown ids, locales, and a definition that changes.
import { describe, expect, it } from "vitest";
import {
	findDefinitionProblems,
	questionnaire,
	type Question,
	type Questionnaire,
} from "../src/questionnaire/definition";
import { buildAnswersSchema, validateAnswers, type ValidationResult } from "../src/questionnaire/validate";

const valid = {
	cafe: "Le Petit Café",
	ville: "Lyon",
	role: "Formateur",
	satisfaction: 4,
	consentement: true,
};

function fieldsOf(result: ValidationResult): Record<string, string> {
	if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.answers)}`);
	return result.fields;
}

function answersOf(result: ValidationResult) {
	if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.fields)}`);
	return result.answers;
}

describe("the default definition", () => {
	it("has no problems and the ids the issue requires", () => {
		expect(findDefinitionProblems(questionnaire)).toEqual([]);
		const byId = new Map(questionnaire.questions.map((q) => [q.id, q]));
		expect(byId.get("cafe")).toMatchObject({ required: true, type: "short_text" });
		expect(byId.get("ville")).toMatchObject({ required: true, type: "short_text" });
		expect(byId.get("role")).toMatchObject({ required: true, type: "role" });
		expect(byId.get("satisfaction")).toMatchObject({ required: true, type: "scale", min: 1, max: 5 });
		expect(byId.get("commentaire")).toMatchObject({ required: false, type: "long_text" });
		expect(byId.get("email")).toMatchObject({ required: false, type: "email" });
		expect(byId.get("consentement")).toMatchObject({ required: true, type: "consent" });
	});
});

describe("validateAnswers", () => {
	it("accepts JSON values and returns cleaned answers, with the role's key", () => {
		const result = validateAnswers(questionnaire, { ...valid, cafe: "  Le   Petit Café ", email: "a@exemple.fr" }, "fr");
		expect(result).toEqual({
			ok: true,
			answers: {
				cafe: "Le Petit Café",
				ville: "Lyon",
				role: "Formateur",
				satisfaction: 4,
				email: "a@exemple.fr",
				consentement: true,
			},
			role: { key: "formateur", label: "Formateur" },
			normalised: ["cafe"],
		});
	});

	it("accepts the same answers as urlencoded strings", () => {
		const form = {
			cafe: "Le Petit Café",
			ville: "Lyon",
			role: "Formateur",
			satisfaction: "4",
			consentement: "on",
			frequence: "mensuelle",
			activites: ["cuisine", "bar"],
			commentaire: "",
			email: "",
		};
		expect(answersOf(validateAnswers(questionnaire, form, "fr"))).toEqual({
			...valid,
			frequence: "mensuelle",
			// Ticked options come back once each, in the definition's order.
			activites: ["bar", "cuisine"],
		});
		expect(answersOf(validateAnswers(questionnaire, { ...form, consentement: "true", activites: "bar" }, "fr"))).toMatchObject({
			consentement: true,
			activites: ["bar"],
		});
	});

	it("reports every missing required answer, in French by default", () => {
		expect(fieldsOf(validateAnswers(questionnaire, {}, "fr"))).toEqual({
			cafe: "Ce champ est obligatoire.",
			ville: "Ce champ est obligatoire.",
			role: "Ce champ est obligatoire.",
			satisfaction: "Ce champ est obligatoire.",
			consentement: "Cochez cette case pour pouvoir envoyer vos réponses.",
		});
		// Blanks and null are "not answered", not text.
		expect(fieldsOf(validateAnswers(questionnaire, { ...valid, cafe: "   ", ville: null }, "fr"))).toEqual({
			cafe: "Ce champ est obligatoire.",
			ville: "Ce champ est obligatoire.",
		});
	});

	it("answers in English when the locale is en", () => {
		expect(fieldsOf(validateAnswers(questionnaire, { ...valid, cafe: undefined, satisfaction: 9 }, "en"))).toEqual({
			cafe: "This field is required.",
			satisfaction: "Choose a whole number from 1 to 5.",
		});
	});

	it("rejects wrong types", () => {
		const fields = fieldsOf(
			validateAnswers(
				questionnaire,
				{ ...valid, cafe: 12, ville: ["Lyon", "Paris"], satisfaction: true, consentement: "peut-être", activites: { a: 1 } },
				"fr",
			),
		);
		expect(fields).toEqual({
			cafe: "Saisissez un texte.",
			ville: "Une seule réponse est attendue.",
			satisfaction: "Choisissez une note entière de 1 à 5.",
			consentement: "Réponse attendue : case cochée ou non cochée.",
			activites: "Choisissez parmi les options proposées.",
		});
	});

	it.each([
		["4", 4],
		[" 5 ", 5],
		[1, 1],
		["+3", 3],
	])("accepts the scale value %j", (input, expected) => {
		expect(answersOf(validateAnswers(questionnaire, { ...valid, satisfaction: input }, "fr")).satisfaction).toBe(expected);
	});

	it.each([0, 6, 4.5, "4.5", "quatre", "", -1, "1e1"])("rejects the scale value %j", (input) => {
		const expected = input === "" ? "Ce champ est obligatoire." : "Choisissez une note entière de 1 à 5.";
		expect(fieldsOf(validateAnswers(questionnaire, { ...valid, satisfaction: input }, "fr"))).toEqual({
			satisfaction: expected,
		});
	});

	it("enforces length limits in characters, not UTF-16 units", () => {
		const cafeMax = 120;
		const emojis = "☕️".repeat(cafeMax / 2); // each is two code points
		expect(answersOf(validateAnswers(questionnaire, { ...valid, cafe: "é".repeat(cafeMax) }, "fr")).cafe).toHaveLength(cafeMax);
		expect(answersOf(validateAnswers(questionnaire, { ...valid, cafe: emojis }, "fr")).cafe).toBe(emojis);
		expect(fieldsOf(validateAnswers(questionnaire, { ...valid, cafe: "x".repeat(cafeMax + 1) }, "fr"))).toEqual({
			cafe: "120 caractères au maximum.",
		});
		expect(fieldsOf(validateAnswers(questionnaire, { ...valid, commentaire: "x".repeat(4001) }, "en"))).toEqual({
			commentaire: "At most 4000 characters.",
		});
	});

	it("keeps line breaks in long text and folds them in short text", () => {
		const answers = answersOf(
			validateAnswers(questionnaire, { ...valid, cafe: "Le\nPetit\tCafé", commentaire: " ligne 1\r\nligne 2 " }, "fr"),
		);
		expect(answers.cafe).toBe("Le Petit Café");
		expect(answers.commentaire).toBe("ligne 1\nligne 2");
	});

	it("checks choices against the options", () => {
		expect(fieldsOf(validateAnswers(questionnaire, { ...valid, frequence: "quotidienne" }, "fr"))).toEqual({
			frequence: "Choisissez une des options proposées.",
		});
		expect(fieldsOf(validateAnswers(questionnaire, { ...valid, activites: ["bar", "plonge"] }, "fr"))).toEqual({
			activites: "Choisissez parmi les options proposées.",
		});
		expect(answersOf(validateAnswers(questionnaire, { ...valid, activites: ["bar", "bar", ""] }, "fr")).activites).toEqual(["bar"]);
		expect(answersOf(validateAnswers(questionnaire, { ...valid, activites: [] }, "fr"))).not.toHaveProperty("activites");
	});

	it("checks e-mail addresses", () => {
		expect(answersOf(validateAnswers(questionnaire, { ...valid, email: " marie.dupont@exemple.fr " }, "fr")).email).toBe(
			"marie.dupont@exemple.fr",
		);
		for (const bad of ["marie", "marie@", "@exemple.fr", "marie dupont@exemple.fr", 42]) {
			expect(fieldsOf(validateAnswers(questionnaire, { ...valid, email: bad }, "fr"))).toEqual({
				email: "Saisissez une adresse e-mail valide, par exemple nom@exemple.fr.",
			});
		}
		expect(fieldsOf(validateAnswers(questionnaire, { ...valid, email: `${"a".repeat(250)}@x.fr` }, "fr"))).toEqual({
			email: "254 caractères au maximum.",
		});
	});

	it("requires consent to be given, and reads form values for it", () => {
		for (const refused of [false, "false", "off", "0", ""]) {
			expect(fieldsOf(validateAnswers(questionnaire, { ...valid, consentement: refused }, "fr"))).toEqual({
				consentement: "Cochez cette case pour pouvoir envoyer vos réponses.",
			});
		}
		for (const given of [true, "on", "true", "1", "oui", ["on"]]) {
			expect(answersOf(validateAnswers(questionnaire, { ...valid, consentement: given }, "fr")).consentement).toBe(true);
		}
	});

	it("normalises the role and derives its key", () => {
		const result = validateAnswers(questionnaire, { ...valid, role: "  Chef   de  Cuisine " }, "fr");
		expect(result).toMatchObject({
			ok: true,
			answers: { role: "Chef de Cuisine" },
			role: { key: "chef de cuisine", label: "Chef de Cuisine" },
			normalised: ["role"],
		});
		expect(fieldsOf(validateAnswers(questionnaire, { ...valid, role: "r".repeat(61) }, "fr"))).toEqual({
			role: "60 caractères au maximum.",
		});
	});

	it("a required role is not answered by invisible characters or lone accents", () => {
		for (const role of ["\u0301", "\u200e\u202e", " \u2066 \u2069 "]) {
			expect(fieldsOf(validateAnswers(questionnaire, { ...valid, role }, "fr")), JSON.stringify(role)).toEqual({
				role: "Ce champ est obligatoire.",
			});
		}
	});

	it("rejects unknown question ids, __proto__ included", () => {
		const input = JSON.parse(`{"cafe":"A","ville":"B","role":"C","satisfaction":3,"consentement":true,"age":40,"__proto__":{"x":1}}`);
		expect(fieldsOf(validateAnswers(questionnaire, input, "fr"))).toEqual({
			age: "Cette question ne fait pas partie du questionnaire.",
			["__proto__"]: "Cette question ne fait pas partie du questionnaire.",
		});
	});
});

describe("a definition that changes", () => {
	const added: Question = {
		id: "nb_stagiaires",
		type: "scale",
		required: true,
		min: 1,
		max: 5,
		label: { fr: "Combien de stagiaires ?" },
	};
	const copy: Questionnaire = {
		...questionnaire,
		version: "test-added-question",
		questions: [...questionnaire.questions.filter((q) => q.id !== "email"), added],
	};

	it("adding a question makes it validated, removing one makes it unknown", () => {
		// The default definition does not know the new question.
		expect(fieldsOf(validateAnswers(questionnaire, { ...valid, nb_stagiaires: 2 }, "fr"))).toEqual({
			nb_stagiaires: "Cette question ne fait pas partie du questionnaire.",
		});
		// The copy requires it, checks it like any scale, and no longer knows "email".
		expect(fieldsOf(validateAnswers(copy, valid, "fr"))).toEqual({ nb_stagiaires: "Ce champ est obligatoire." });
		expect(fieldsOf(validateAnswers(copy, { ...valid, nb_stagiaires: 7 }, "fr"))).toEqual({
			nb_stagiaires: "Choisissez une note entière de 1 à 5.",
		});
		expect(answersOf(validateAnswers(copy, { ...valid, nb_stagiaires: "2" }, "fr")).nb_stagiaires).toBe(2);
		expect(fieldsOf(validateAnswers(copy, { ...valid, nb_stagiaires: 2, email: "a@b.fr" }, "fr"))).toHaveProperty("email");
	});

	it("builds one schema per definition and locale", () => {
		expect(buildAnswersSchema(copy, "fr")).toBe(buildAnswersSchema(copy, "fr"));
		expect(buildAnswersSchema(copy, "en")).not.toBe(buildAnswersSchema(copy, "fr"));
		expect(buildAnswersSchema(copy, "fr")).not.toBe(buildAnswersSchema(questionnaire, "fr"));
	});

	it.each<[string, Question[], RegExp]>([
		["a duplicate id", [added, added], /nb_stagiaires: id is used twice/],
		["a reserved id", [{ ...added, id: "site_web" }], /site_web: id is reserved/],
		["an id that is not snake_case", [{ ...added, id: "Nb-Stagiaires" }], /id must be lowercase snake_case/],
		[
			"two role questions",
			[
				{ id: "r1", type: "role", required: false, maxLength: 60, label: { fr: "R1" } },
				{ id: "r2", type: "role", required: false, maxLength: 60, label: { fr: "R2" } },
			],
			/more than one role question/,
		],
		[
			"a choice without options",
			[{ id: "c", type: "single_choice", required: false, options: [], label: { fr: "C" } }],
			/c: no options/,
		],
	])("refuses to validate with %s", (_, questions, problem) => {
		const broken: Questionnaire = { ...questionnaire, questions };
		expect(findDefinitionProblems(broken).join("\n")).toMatch(problem);
		expect(() => validateAnswers(broken, {}, "fr")).toThrow(/Invalid questionnaire definition/);
	});
});
