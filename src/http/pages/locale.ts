// Picks the page language: an explicit ?lang= wins, then the browser's Accept-Language, then French.
// Pure, so the submissions route can re-render the form in the language the respondent saw.
import type { Locale } from "./form";

const LOCALES: readonly Locale[] = ["fr", "en"];

function isLocale(value: string): value is Locale {
	return (LOCALES as readonly string[]).includes(value);
}

/**
 * `lang` is the ?lang= query value (ignored unless "fr" or "en"); `acceptLanguage` the request header.
 * Among fr/en ranges of the header the highest q wins, ties go to the first listed; anything else → fr.
 */
export function parseLocale(lang: string | undefined | null, acceptLanguage: string | undefined | null): Locale {
	const explicit = lang?.trim().toLowerCase();
	if (explicit && isLocale(explicit)) return explicit;
	let best: { locale: Locale; q: number } | undefined;
	for (const part of (acceptLanguage ?? "").split(",").slice(0, 20)) {
		const [range = "", ...params] = part.trim().toLowerCase().split(";");
		const primary = range.split("-")[0] ?? "";
		if (!isLocale(primary)) continue;
		const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
		const q = qParam ? Number(qParam.slice(2)) : 1;
		if (!Number.isFinite(q) || q <= 0) continue;
		if (!best || q > best.q) best = { locale: primary, q };
	}
	return best?.locale ?? "fr";
}

/** The query string that keeps a locale across links and posts ("" for the French default). */
export function localeQuery(locale: Locale): string {
	return locale === "fr" ? "" : `?lang=${locale}`;
}
