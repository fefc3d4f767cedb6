// Server-side validation of answers, derived from the questionnaire definition (pure).
// One zod schema per definition and locale, built from the question list: add a question to the
// definition and validation follows. Accepts JSON values and urlencoded form strings alike.
import { z } from "zod";
import {
	findDefinitionProblems,
	type Question,
	type Questionnaire,
} from "./definition";
import { buildAnsweredRole, buildRoleRef, normaliseRoleLabel, type RoleRef } from "./roles";

export type Locale = "fr" | "en";

/** A validated answer: text, scale value, consent, or the ticked options (in definition order). */
export type AnswerValue = string | number | boolean | string[];
export type Answers = Record<string, AnswerValue>;

export type ValidationResult =
	| {
			ok: true;
			/** Cleaned answers; unanswered optional questions are absent (consent is always a boolean). */
			answers: Answers;
			/** The role answered, when the definition has a role question and it was answered. */
			role?: RoleRef;
			/** Ids whose text was changed by normalisation (trimmed, spaces collapsed…). */
			normalised: string[];
	  }
	| {
			ok: false;
			/** Question id (or unknown key) -> why, in the requested locale. */
			fields: Record<string, string>;
	  };

type Messages = {
	required: string;
	consentRequired: string;
	text: string;
	oneValue: string;
	tooLong: (n: number) => string;
	choice: string;
	choices: string;
	tooManyChoices: (n: number) => string;
	scale: (min: number, max: number) => string;
	email: string;
	consent: string;
	unknown: string;
};

/** Validation messages by language (exported for the test that keeps the French pages French). */
export const MESSAGES: Record<Locale, Messages> = {
	fr: {
		required: "Ce champ est obligatoire.",
		consentRequired: "Cochez cette case pour pouvoir envoyer vos réponses.",
		text: "Saisissez un texte.",
		oneValue: "Une seule réponse est attendue.",
		tooLong: (n) => `${n} caractères au maximum.`,
		choice: "Choisissez une des options proposées.",
		choices: "Choisissez parmi les options proposées.",
		tooManyChoices: (n) => `Choisissez au plus ${n} option${n > 1 ? "s" : ""}.`,
		scale: (min, max) => `Choisissez une note entière de ${min} à ${max}.`,
		email: "Saisissez une adresse e-mail valide, par exemple nom@exemple.fr.",
		consent: "Réponse attendue : case cochée ou non cochée.",
		unknown: "Cette question ne fait pas partie du questionnaire.",
	},
	en: {
		required: "This field is required.",
		consentRequired: "Tick this box to be able to send your answers.",
		text: "Enter some text.",
		oneValue: "Only one answer is expected.",
		tooLong: (n) => `At most ${n} characters.`,
		choice: "Choose one of the options offered.",
		choices: "Choose among the options offered.",
		tooManyChoices: (n) => `Choose at most ${n} option${n > 1 ? "s" : ""}.`,
		scale: (min, max) => `Choose a whole number from ${min} to ${max}.`,
		email: "Enter a valid e-mail address, for example name@example.com.",
		consent: "Expected answer: box ticked or not.",
		unknown: "This question is not part of the questionnaire.",
	},
};

/** Form values meaning a ticked consent box ("on" is what browsers send for a checkbox). */
const TRUE_STRINGS = new Set(["on", "true", "1", "yes", "oui"]);
const FALSE_STRINGS = new Set(["off", "false", "0", "no", "non"]);

// ---- Input coercion (before the zod type checks) -------------------------------------------
// A form sends strings (repeated keys become arrays); JSON sends typed values. Each helper turns
// either shape into what the schema expects, and leaves anything else untouched so that the
// schema reports a type error.

/** One value: unwrap a one-element array (repeated form keys), map null to "not answered". */
function single(v: unknown): unknown {
	if (Array.isArray(v) && v.length === 1) v = v[0];
	return v === null ? undefined : v;
}

/** Text: NFC, trimmed; an empty string is "not answered". */
function text(v: unknown, collapse: boolean): unknown {
	v = single(v);
	if (typeof v !== "string") return v;
	let s = v.normalize("NFC").replace(/\r\n?/g, "\n");
	s = collapse ? s.replace(/\s+/g, " ").trim() : s.trim();
	return s === "" ? undefined : s;
}

function scaleInput(v: unknown): unknown {
	v = text(v, true);
	return typeof v === "string" && /^[+-]?\d{1,6}$/.test(v) ? Number(v) : v;
}

function choicesInput(v: unknown): unknown {
	if (v === null || v === undefined) return undefined;
	const list = Array.isArray(v) ? v : [v];
	const kept = list.map((x) => (typeof x === "string" ? x.trim() : x)).filter((x) => x !== "");
	return kept.length === 0 ? undefined : kept;
}

function consentInput(v: unknown): unknown {
	v = single(v);
	if (v === undefined || v === "") return false;
	if (typeof v === "string") {
		const s = v.trim().toLowerCase();
		if (TRUE_STRINGS.has(s)) return true;
		if (FALSE_STRINGS.has(s)) return false;
	}
	return v;
}

/** Length in characters (code points), so that an emoji counts once, as a person would count. */
const charCount = (s: string) => [...s].length;

// ---- One schema per question ------------------------------------------------------------------

function questionSchema(q: Question, m: Messages): z.ZodType<AnswerValue | undefined> {
	/** Type error, or "required" when nothing was given. */
	const typeError = (message: string) => ({
		error: (issue: { input: unknown }) =>
			issue.input === undefined
				? m.required
				: Array.isArray(issue.input)
					? m.oneValue
					: message,
	});
	const optional = <T extends z.ZodType>(schema: T) => (q.required ? schema : schema.optional());

	switch (q.type) {
		case "short_text":
		case "long_text":
			return z.preprocess(
				(v) => text(v, q.type === "short_text"),
				optional(
					z.string(typeError(m.text)).refine((s) => charCount(s) <= q.maxLength, m.tooLong(q.maxLength)),
				),
			);
		case "role":
			// The role is stored as the person typed it, normalised like every role label; its key
			// (case- and accent-insensitive) is derived after validation.
			return z.preprocess(
				(v) => {
					v = single(v);
					if (typeof v !== "string") return v;
					const label = normaliseRoleLabel(v, Number.POSITIVE_INFINITY);
					// Nothing readable (blank, or only accents) is "not answered".
					return buildRoleRef(label, Number.POSITIVE_INFINITY) ? label : undefined;
				},
				optional(
					z.string(typeError(m.text)).refine((s) => charCount(s) <= q.maxLength, m.tooLong(q.maxLength)),
				),
			);
		case "email":
			return z.preprocess(
				(v) => text(v, true),
				optional(
					z
						.string(typeError(m.email))
						.refine((s) => charCount(s) <= q.maxLength, m.tooLong(q.maxLength))
						.pipe(z.email({ error: m.email })),
				),
			);
		case "scale": {
			const message = m.scale(q.min, q.max);
			return z.preprocess(
				scaleInput,
				optional(z.number(typeError(message)).int(message).min(q.min, message).max(q.max, message)),
			);
		}
		case "single_choice": {
			const values = q.options.map((o) => o.value) as [string, ...string[]];
			return z.preprocess((v) => text(v, false), optional(z.enum(values, typeError(m.choice))));
		}
		case "multiple_choice": {
			const values = q.options.map((o) => o.value);
			const max = q.maxSelected ?? values.length;
			return z.preprocess(
				choicesInput,
				optional(
					z
						.array(z.string({ error: m.choices }), { error: (i) => (i.input === undefined ? m.required : m.choices) })
						.refine((picked) => picked.every((p) => values.includes(p)), m.choices)
						// Ticked options are kept once each, in the order of the definition.
						.transform((picked) => values.filter((v) => picked.includes(v)))
						.refine((picked) => picked.length <= max, m.tooManyChoices(max)),
				),
			);
		}
		case "consent": {
			const base = z.boolean({ error: m.consent });
			return z.preprocess(
				consentInput,
				q.required ? base.refine((v) => v === true, m.consentRequired) : base,
			);
		}
	}
}

// ---- The answers schema ---------------------------------------------------------------------

const schemaCache = new WeakMap<Questionnaire, Partial<Record<Locale, z.ZodType<Answers>>>>();

/**
 * The zod schema of a whole set of answers for this definition and locale: one entry per question,
 * unknown question ids rejected. Throws when the definition itself is inconsistent.
 */
export function buildAnswersSchema(def: Questionnaire, locale: Locale): z.ZodType<Answers> {
	const cached = schemaCache.get(def)?.[locale];
	if (cached) return cached;
	const problems = findDefinitionProblems(def);
	if (problems.length > 0) throw new Error(`Invalid questionnaire definition: ${problems.join("; ")}`);
	const m = MESSAGES[locale];
	const shape: Record<string, z.ZodType<AnswerValue | undefined>> = {};
	for (const q of def.questions) shape[q.id] = questionSchema(q, m);
	const schema = z.strictObject(shape) as unknown as z.ZodType<Answers>;
	schemaCache.set(def, { ...schemaCache.get(def), [locale]: schema });
	return schema;
}

/** At most this many unknown keys are reported back, whatever was sent. */
const MAX_UNKNOWN_REPORTED = 20;

/**
 * Pure: validate the answers of one submission against a definition. `input` is the `answers`
 * object of a JSON post or the fields of a form post (repeated keys as arrays).
 */
export function validateAnswers(def: Questionnaire, input: Record<string, unknown>, locale: Locale): ValidationResult {
	const m = MESSAGES[locale];
	const result = buildAnswersSchema(def, locale).safeParse(input);
	if (!result.success) {
		// A null-prototype object, so that a key such as "__proto__" is reported like any other.
		const fields: Record<string, string> = Object.create(null);
		let unknown = 0;
		for (const issue of result.error.issues) {
			if (issue.code === "unrecognized_keys") {
				for (const key of issue.keys) {
					if (unknown++ < MAX_UNKNOWN_REPORTED) fields[key] = m.unknown;
				}
			} else {
				const key = String(issue.path[0] ?? "answers");
				fields[key] ??= issue.message;
			}
		}
		return { ok: false, fields: { ...fields } };
	}

	const answers: Answers = {};
	const normalised: string[] = [];
	let role: RoleRef | undefined;
	for (const q of def.questions) {
		const value = result.data[q.id];
		if (value === undefined) continue;
		answers[q.id] = value;
		const raw = single(input[q.id]);
		if (typeof value === "string" && typeof raw === "string" && raw !== value) normalised.push(q.id);
		if (q.type === "role" && typeof value === "string") role = buildAnsweredRole(value, q.suggestions);
	}
	return { ok: true, answers, normalised, ...(role ? { role } : {}) };
}
