// The questionnaire, defined once: the single source of truth for the rendered form and for
// server-side validation. Change a question here and both follow; bump `version` when you do.
import { ROLE_MAX_LENGTH } from "./roles";

/** A text in French (always) and English (optional; French is shown when it is missing). */
export type Label = { fr: string; en?: string };

export type ChoiceOption = { value: string; label: Label };

type QuestionBase = {
	/** Stable identifier: the answer's key in submissions and exports. Never reuse an old id. */
	id: string;
	label: Label;
	/** Optional hint shown under the label. */
	help?: Label;
	/**
	 * A few words naming the question where its whole label would be too long (the error summary):
	 * "Consentement" rather than the consent sentence. Without it, the label is used.
	 */
	shortLabel?: Label;
	required: boolean;
};

export type ShortTextQuestion = QuestionBase & { type: "short_text"; maxLength: number };
export type LongTextQuestion = QuestionBase & { type: "long_text"; maxLength: number };
export type SingleChoiceQuestion = QuestionBase & { type: "single_choice"; options: ChoiceOption[] };
export type MultipleChoiceQuestion = QuestionBase & {
	type: "multiple_choice";
	options: ChoiceOption[];
	/** At most this many options may be ticked (defaults to all). */
	maxSelected?: number;
};
export type ScaleQuestion = QuestionBase & {
	type: "scale";
	min: 1;
	max: 5;
	minLabel?: Label;
	maxLabel?: Label;
};
export type EmailQuestion = QuestionBase & { type: "email"; maxLength: number };
/** A dynamic role: pick an existing one or type a new one (normalised and deduplicated). */
export type RoleQuestion = QuestionBase & {
	type: "role";
	maxLength: number;
	/**
	 * Roles always suggested, before those respondents typed (src/questionnaire/roles.ts). Typing one
	 * of them, in either language, counts as that role (its French label is the stored spelling).
	 */
	suggestions?: Label[];
};
/** A consent box; when required it must be ticked (true). */
export type ConsentQuestion = QuestionBase & { type: "consent" };

export type Question =
	| ShortTextQuestion
	| LongTextQuestion
	| SingleChoiceQuestion
	| MultipleChoiceQuestion
	| ScaleQuestion
	| EmailQuestion
	| RoleQuestion
	| ConsentQuestion;

export type QuestionType = Question["type"];

export type Questionnaire = {
	id: string;
	/** Stored with every submission; bump it whenever questions change. */
	version: string;
	title: Label;
	intro: Label;
	questions: Question[];
	/**
	 * Ids of the questions that tell one respondent from another when counting how many people use
	 * a role (e.g. café and town): answers with the same values, ignoring case and surrounding
	 * spaces, are one respondent. Without it, every submission counts as one respondent.
	 */
	respondentKey?: string[];
};

/** The default questionnaire for CAP Formations' partner cafés. */
export const questionnaire: Questionnaire = {
	id: "cafes-partenaires",
	version: "2026-11-1",
	title: {
		fr: "Questionnaire des cafés partenaires",
		en: "Partner cafés questionnaire",
	},
	intro: {
		fr: "Merci de prendre quelques minutes pour nous parler de votre partenariat avec CAP Formations. Les champs marqués d'un astérisque (*) sont obligatoires.",
		en: "Thank you for taking a few minutes to tell us about your partnership with CAP Formations. Fields marked with an asterisk (*) are required.",
	},
	questions: [
		{
			id: "cafe",
			type: "short_text",
			required: true,
			maxLength: 120,
			label: { fr: "Nom du café", en: "Name of the café" },
		},
		{
			id: "ville",
			type: "short_text",
			required: true,
			maxLength: 80,
			label: { fr: "Ville", en: "Town" },
		},
		{
			id: "role",
			type: "role",
			required: true,
			maxLength: 60,
			label: { fr: "Votre rôle", en: "Your role" },
			help: {
				fr: "Choisissez un rôle dans la liste ou saisissez le vôtre.",
				en: "Pick a role from the list or type your own.",
			},
			suggestions: [
				{ fr: "Gérant·e", en: "Manager" },
				{ fr: "Propriétaire", en: "Owner" },
				{ fr: "Responsable de salle", en: "Floor manager" },
				{ fr: "Serveur·se", en: "Waiter or waitress" },
				{ fr: "Barista", en: "Barista" },
				{ fr: "Cuisinier·ère", en: "Cook" },
			],
		},
		{
			id: "frequence",
			type: "single_choice",
			required: false,
			label: {
				fr: "À quelle fréquence accueillez-vous des stagiaires ?",
				en: "How often do you host trainees?",
			},
			shortLabel: { fr: "Fréquence d'accueil des stagiaires", en: "How often you host trainees" },
			options: [
				{ value: "hebdomadaire", label: { fr: "Chaque semaine", en: "Every week" } },
				{ value: "mensuelle", label: { fr: "Chaque mois", en: "Every month" } },
				{ value: "occasionnelle", label: { fr: "De temps en temps", en: "Now and then" } },
				{ value: "jamais", label: { fr: "Pas encore", en: "Not yet" } },
			],
		},
		{
			id: "activites",
			type: "multiple_choice",
			required: false,
			label: {
				fr: "Quelles activités proposez-vous ?",
				en: "Which activities do you offer?",
			},
			shortLabel: { fr: "Activités proposées", en: "Activities offered" },
			options: [
				{ value: "service", label: { fr: "Service en salle", en: "Table service" } },
				{ value: "bar", label: { fr: "Bar et boissons chaudes", en: "Bar and hot drinks" } },
				{ value: "cuisine", label: { fr: "Cuisine", en: "Kitchen" } },
				{ value: "caisse", label: { fr: "Caisse et accueil", en: "Till and welcome" } },
				{ value: "evenements", label: { fr: "Événements", en: "Events" } },
			],
		},
		{
			id: "satisfaction",
			type: "scale",
			required: true,
			min: 1,
			max: 5,
			label: {
				fr: "Êtes-vous satisfait·e du partenariat ?",
				en: "How satisfied are you with the partnership?",
			},
			shortLabel: { fr: "Satisfaction", en: "Satisfaction" },
			minLabel: { fr: "Pas du tout", en: "Not at all" },
			maxLabel: { fr: "Tout à fait", en: "Completely" },
		},
		{
			id: "commentaire",
			type: "long_text",
			required: false,
			maxLength: 4000,
			label: { fr: "Commentaire", en: "Comment" },
			help: {
				fr: "Ce qui fonctionne, ce qui pourrait être amélioré…",
				en: "What works, what could be better…",
			},
		},
		{
			id: "email",
			type: "email",
			required: false,
			maxLength: 254,
			label: { fr: "Adresse e-mail (facultatif)", en: "E-mail address (optional)" },
			shortLabel: { fr: "Adresse e-mail", en: "E-mail address" },
			help: {
				fr: "Seulement si vous souhaitez être recontacté·e.",
				en: "Only if you would like us to get back to you.",
			},
		},
		{
			id: "consentement",
			type: "consent",
			required: true,
			label: {
				fr: "J'accepte que CAP Formations conserve ces réponses pour améliorer ses partenariats. Je peux demander leur suppression à tout moment.",
				en: "I agree that CAP Formations keeps these answers to improve its partnerships. I can ask for them to be deleted at any time.",
			},
			shortLabel: { fr: "Consentement", en: "Consent" },
		},
	],
	respondentKey: ["cafe", "ville"],
};

/** Pick the text for a locale, falling back to French. */
export function labelFor(label: Label, locale: "fr" | "en"): string {
	return (locale === "en" ? label.en : undefined) ?? label.fr;
}

/**
 * Names the form posts besides the questions. They can never be question ids.
 * - HONEYPOT_FIELD: a text input hidden from people (CSS, `tabindex="-1"`, `autocomplete="off"`);
 *   a submission where it is filled is rejected and nothing is stored.
 * - TURNSTILE_FIELD: the token the Cloudflare Turnstile widget adds to the form.
 */
export const HONEYPOT_FIELD = "site_web";
export const TURNSTILE_FIELD = "cf-turnstile-response";

/** Column names of the CSV export that are not questions; no question may take them either. */
export const SUBMISSION_META_COLUMNS = [
	"submission_id",
	"received_at",
	"questionnaire_version",
	"role_label",
] as const;

const RESERVED_IDS = new Set<string>([HONEYPOT_FIELD, TURNSTILE_FIELD, ...SUBMISSION_META_COLUMNS]);

/**
 * Pure: what is wrong with a questionnaire definition (empty when nothing). Ids must be unique,
 * lowercase snake_case and not reserved; at most one role question; choices need distinct options;
 * limits must be positive. Validation refuses to run on a definition with problems.
 */
export function findDefinitionProblems(def: Questionnaire): string[] {
	const problems: string[] = [];
	if (!def.version.trim()) problems.push("version is empty");
	const seen = new Set<string>();
	let roles = 0;
	for (const q of def.questions) {
		if (!/^[a-z][a-z0-9_]{0,62}$/.test(q.id)) problems.push(`${q.id}: id must be lowercase snake_case`);
		if (RESERVED_IDS.has(q.id)) problems.push(`${q.id}: id is reserved`);
		if (seen.has(q.id)) problems.push(`${q.id}: id is used twice`);
		seen.add(q.id);
		if (!q.label.fr.trim()) problems.push(`${q.id}: French label is empty`);
		if ("maxLength" in q && !(Number.isInteger(q.maxLength) && q.maxLength > 0)) {
			problems.push(`${q.id}: maxLength must be a positive whole number`);
		}
		if (q.type === "role") {
			roles++;
			if (q.maxLength > ROLE_MAX_LENGTH) problems.push(`${q.id}: a role is at most ${ROLE_MAX_LENGTH} characters`);
			if ((q.suggestions ?? []).some((s) => !s.fr.trim())) problems.push(`${q.id}: a suggested role has an empty French label`);
		}
		if (q.type === "single_choice" || q.type === "multiple_choice") {
			const values = q.options.map((o) => o.value);
			if (values.length === 0) problems.push(`${q.id}: no options`);
			if (new Set(values).size !== values.length) problems.push(`${q.id}: option values repeat`);
			if (values.some((v) => v.trim() === "" || v !== v.trim())) {
				problems.push(`${q.id}: option values must be non-empty, without surrounding spaces`);
			}
		}
		if (q.type === "multiple_choice" && q.maxSelected !== undefined) {
			if (!(Number.isInteger(q.maxSelected) && q.maxSelected >= 1)) {
				problems.push(`${q.id}: maxSelected must be at least 1`);
			}
		}
		if (q.type === "scale" && !(Number.isInteger(q.min) && Number.isInteger(q.max) && q.min < q.max)) {
			problems.push(`${q.id}: scale bounds must be whole numbers with min < max`);
		}
	}
	if (roles > 1) problems.push("more than one role question");
	for (const id of def.respondentKey ?? []) {
		const q = def.questions.find((x) => x.id === id);
		if (!q) problems.push(`respondentKey: no question ${id}`);
		else if (q.type !== "short_text" && q.type !== "email") problems.push(`respondentKey: ${id} must be a short text or e-mail question`);
	}
	return problems;
}
