// Interface text of the public pages (not the questions: those live in the questionnaire definition).
// French first; every key has an English version.
import type { Locale } from "./form";

const fr = {
	required: "obligatoire",
	optional: "facultatif",
	submit: "Envoyer mes réponses",
	sending: "Envoi…",
	errorSummaryTitle: (n: number) =>
		n === 1 ? "Une réponse est à corriger" : `${n} réponses sont à corriger`,
	errorPrefix: "Erreur :",
	formErrorTitle: "L’envoi n’a pas abouti",
	honeypotLabel: "Ne pas remplir ce champ",
	switchLanguage: "English",
	switchLanguageLang: "en",
	unavailableTitle: "Questionnaire momentanément indisponible",
	unavailableBody: "Nous n’avons pas pu afficher le questionnaire. Réessayez dans quelques minutes ; si le problème continue, prévenez CAP Formations.",
	retry: "Réessayer",
	confirmationTitle: "Merci !",
	confirmationBody: "Vos réponses ont bien été enregistrées. Merci pour le temps que vous nous avez consacré.",
	confirmationBack: "Revenir au questionnaire",
	scaleHint: (min: string, max: string) => `1 = ${min}, 5 = ${max}`,
	footer: "CAP Formations — questionnaire des cafés partenaires",
	privacy: "Vos réponses servent uniquement à améliorer nos partenariats. Vous pouvez demander leur suppression à tout moment.",
};

const en: typeof fr = {
	required: "required",
	optional: "optional",
	submit: "Send my answers",
	sending: "Sending…",
	errorSummaryTitle: (n: number) => (n === 1 ? "One answer needs fixing" : `${n} answers need fixing`),
	errorPrefix: "Error:",
	formErrorTitle: "Your answers were not sent",
	honeypotLabel: "Leave this field empty",
	switchLanguage: "Français",
	switchLanguageLang: "fr",
	unavailableTitle: "Questionnaire temporarily unavailable",
	unavailableBody: "We could not show the questionnaire. Please try again in a few minutes; if the problem persists, let CAP Formations know.",
	retry: "Try again",
	confirmationTitle: "Thank you!",
	confirmationBody: "Your answers have been saved. Thank you for your time.",
	confirmationBack: "Back to the questionnaire",
	scaleHint: (min: string, max: string) => `1 = ${min}, 5 = ${max}`,
	footer: "CAP Formations — partner cafés questionnaire",
	privacy: "Your answers are only used to improve our partnerships. You can ask for them to be deleted at any time.",
};

export type Texts = typeof fr;

export function textsFor(locale: Locale): Texts {
	return locale === "en" ? en : fr;
}
