// The questionnaire, defined once: the single source of truth for the rendered form and for
// server-side validation. Change a question here and both follow; bump `version` when you do.

/** A text in French (always) and English (optional; French is shown when it is missing). */
export type Label = { fr: string; en?: string };

export type ChoiceOption = { value: string; label: Label };

type QuestionBase = {
	/** Stable identifier: the answer's key in submissions and exports. Never reuse an old id. */
	id: string;
	label: Label;
	/** Optional hint shown under the label. */
	help?: Label;
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
export type RoleQuestion = QuestionBase & { type: "role"; maxLength: number };
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
		},
		{
			id: "frequence",
			type: "single_choice",
			required: false,
			label: {
				fr: "À quelle fréquence accueillez-vous des stagiaires ?",
				en: "How often do you host trainees?",
			},
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
		},
	],
};

/** Pick the text for a locale, falling back to French. */
export function labelFor(label: Label, locale: "fr" | "en"): string {
	return (locale === "en" ? label.en : undefined) ?? label.fr;
}
