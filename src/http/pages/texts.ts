// Interface text of the public pages (not the questions: those live in the questionnaire definition).
// French first; every key has an English version. This is the pages' whole catalogue: a browser
// test fails on any visible text of the French pages that comes from neither this file, the
// questionnaire definition nor its validation messages (test-browser/french-catalogue.ts).
import type { Locale } from "./form";

/** Why a submission was refused (the API's error codes); also shown at the top of the form. */
export type RefusalCode =
	| "unsupported_media_type"
	| "rate_limited"
	| "payload_too_large"
	| "invalid_json"
	| "invalid_body"
	| "rejected"
	| "validation_failed"
	| "turnstile_failed"
	| "turnstile_unavailable"
	| "store_failed";

/** Text around an e-mail link: `before`, the address, `after`. */
type AroundLink = { before: string; after: string };

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
	privacy: "Vos réponses servent uniquement à améliorer nos partenariats.",
	/** How to have one's answers deleted, with the contact address (CONTACT_EMAIL). */
	erasureHowTo: {
		before: "Pour les faire supprimer, écrivez à ",
		after: " en indiquant le nom de votre café et la ville.",
	} as AroundLink,
	/** The same without a contact address. */
	erasureHowToNoAddress:
		"Pour les faire supprimer, demandez-le à votre interlocuteur chez CAP Formations en indiquant le nom de votre café et la ville.",
	privacyLink: "Vos données et leur suppression",
	privacyTitle: "Vos réponses et leur suppression",
	privacyUse:
		"Vos réponses servent uniquement à CAP Formations, pour améliorer ses partenariats avec les cafés. Elles ne sont ni vendues ni transmises à d’autres.",
	privacyKept:
		"Sont conservés : vos réponses et l’heure de leur envoi ; votre adresse e-mail seulement si vous l’avez donnée. L’adresse de votre connexion n’est pas enregistrée.",
	privacyBackups: (months: number) =>
		`Chaque nuit, les réponses sont copiées dans une sauvegarde ; les sauvegardes sont gardées environ ${months} mois, puis supprimées.`,
	privacyErasure:
		"Une fois supprimées, vos réponses disparaissent du questionnaire et ne reviennent jamais, même si une sauvegarde plus ancienne est restaurée.",
	notFoundTitle: "Page introuvable",
	notFoundBody: "Cette adresse ne correspond à aucune page. Elle a peut-être été mal recopiée.",
	notFoundBack: "Aller au questionnaire",
	/** "1 minute", "30 secondes": how long to wait, from Retry-After. */
	waitFor: (seconds: number) =>
		seconds % 60 === 0
			? `${seconds / 60} minute${seconds >= 120 ? "s" : ""}`
			: `${seconds} seconde${seconds > 1 ? "s" : ""}`,
	refusals: {
		unsupported_media_type:
			"Type de contenu non pris en charge : envoyez application/json ou application/x-www-form-urlencoded.",
		rate_limited: "Trop d’envois en peu de temps depuis cette connexion.",
		payload_too_large: "Les réponses dépassent la taille maximale acceptée (64 Kio).",
		invalid_json: "Le corps de la requête n’est pas du JSON valide.",
		invalid_body: "Corps attendu : un objet JSON { \"answers\": { … } }.",
		rejected: "Votre envoi n’a pas pu être accepté.",
		validation_failed: "Certaines réponses sont à corriger.",
		turnstile_failed: "La vérification anti-robot n’a pas abouti. Réessayez.",
		turnstile_unavailable:
			"La vérification anti-robot est momentanément indisponible. Réessayez dans un instant.",
		store_failed: "Vos réponses n’ont pas pu être enregistrées, à cause d’un incident de notre côté. Réessayez dans un instant.",
	} as Record<RefusalCode, string>,
	/** After the rate limit: how long to wait, and that nothing typed is lost. */
	rateLimitedWait: (wait: string) => `Attendez ${wait}, puis renvoyez : vos réponses sont conservées ci-dessous.`,
	/** The same for a program (no page below). */
	retryIn: (wait: string) => `Réessayez dans ${wait}.`,
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
	privacy: "Your answers are only used to improve our partnerships.",
	erasureHowTo: {
		before: "To have them deleted, write to ",
		after: " giving the name of your café and its town.",
	},
	erasureHowToNoAddress: "To have them deleted, ask your contact at CAP Formations, giving the name of your café and its town.",
	privacyLink: "Your data and how to delete it",
	privacyTitle: "Your answers and how to delete them",
	privacyUse:
		"Your answers are only used by CAP Formations, to improve its partnerships with cafés. They are neither sold nor passed on to anyone else.",
	privacyKept:
		"What is kept: your answers and when they were sent; your e-mail address only if you gave it. The address of your connection is not recorded.",
	privacyBackups: (months: number) =>
		`Every night the answers are copied into a backup; backups are kept for about ${months} months, then deleted.`,
	privacyErasure: "Once deleted, your answers are gone from the questionnaire for good, even if an older backup is restored.",
	notFoundTitle: "Page not found",
	notFoundBody: "This address does not match any page. It may have been mistyped.",
	notFoundBack: "Go to the questionnaire",
	waitFor: (seconds: number) =>
		seconds % 60 === 0 ? `${seconds / 60} minute${seconds >= 120 ? "s" : ""}` : `${seconds} second${seconds > 1 ? "s" : ""}`,
	refusals: {
		unsupported_media_type: "Unsupported content type: send application/json or application/x-www-form-urlencoded.",
		rate_limited: "Too many submissions from this connection in a short time.",
		payload_too_large: "The answers exceed the largest accepted size (64 KiB).",
		invalid_json: "The request body is not valid JSON.",
		invalid_body: "Expected body: a JSON object { \"answers\": { … } }.",
		rejected: "Your submission could not be accepted.",
		validation_failed: "Some answers need correcting.",
		turnstile_failed: "The anti-robot check did not succeed. Please try again.",
		turnstile_unavailable: "The anti-robot check is temporarily unavailable. Try again in a moment.",
		store_failed: "Your answers could not be saved because of a problem on our side. Try again in a moment.",
	},
	rateLimitedWait: (wait: string) => `Wait ${wait}, then send again: your answers are kept below.`,
	retryIn: (wait: string) => `Try again in ${wait}.`,
};

export type Texts = typeof fr;

export function textsFor(locale: Locale): Texts {
	return locale === "en" ? en : fr;
}

/**
 * The refusal message of `code`. The rate limit says how long to wait (Retry-After, in seconds)
 * and, on the page (`forPage`), that what was typed is still there.
 */
export function buildRefusalMessage(locale: Locale, code: RefusalCode, options: { retryAfterSeconds?: number; forPage?: boolean } = {}): string {
	const t = textsFor(locale);
	const message = t.refusals[code];
	if (code !== "rate_limited" || options.retryAfterSeconds === undefined) return message;
	const wait = t.waitFor(options.retryAfterSeconds);
	return `${message} ${options.forPage ? t.rateLimitedWait(wait) : t.retryIn(wait)}`;
}
