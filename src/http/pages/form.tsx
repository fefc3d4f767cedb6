// Server-rendered questionnaire page and confirmation page (French first).
// PLACEHOLDER SIGNATURES — the page work replaces the bodies; keep the exported names and types.
import type { Questionnaire } from "../../questionnaire/definition";

export type Locale = "fr" | "en";

export type FormPageOptions = {
	questionnaire: Questionnaire;
	/** Existing roles offered in the role picker, most used first. */
	roles: { key: string; label: string }[];
	/** What the respondent typed, to be kept on an error (question id -> value(s)). */
	values: Record<string, string | string[]>;
	/** Field errors (question id -> why), shown next to each field. */
	errors: Record<string, string>;
	/** A message not tied to one field (rate limit, Turnstile, …). */
	formError?: string;
	locale: Locale;
	turnstileSiteKey?: string;
};

/** The complete HTML document of the questionnaire page. */
export function renderFormPage(options: FormPageOptions): string {
	return `<!doctype html><html lang="${options.locale}"><title>${options.questionnaire.title.fr}</title></html>`;
}

/** The complete HTML document shown after a successful submission. */
export function renderConfirmationPage(options: { locale: Locale }): string {
	return `<!doctype html><html lang="${options.locale}"><title>Merci</title></html>`;
}
