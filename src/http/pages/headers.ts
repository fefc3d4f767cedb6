// HTTP headers for every public HTML page (form, re-rendered form, confirmation, error page).
// Pure, so the submissions route can send the same ones when it re-renders the form.
import type { Locale } from "./form";

/** Cloudflare Turnstile's origin: its script and its iframe, allowed only when the widget is on. */
const TURNSTILE_ORIGIN = "https://challenges.cloudflare.com";

/** Content-Security-Policy: only our own files; the form may post only to us. */
export function buildContentSecurityPolicy(turnstile: boolean): string {
	const extra = turnstile ? ` ${TURNSTILE_ORIGIN}` : "";
	return [
		"default-src 'none'",
		`script-src 'self'${extra}`,
		"style-src 'self'",
		"img-src 'self'",
		`connect-src 'self'${extra}`,
		...(turnstile ? [`frame-src ${TURNSTILE_ORIGIN}`] : []),
		"form-action 'self'",
		"base-uri 'none'",
		"frame-ancestors 'none'",
	].join("; ");
}

/** Pages change with the roles and the language: never stored by shared caches. */
export function buildPageHeaders(locale: Locale, options: { turnstile?: boolean } = {}): Record<string, string> {
	return {
		"Cache-Control": "no-store",
		"Content-Language": locale,
		Vary: "Accept-Language",
		"Content-Security-Policy": buildContentSecurityPolicy(options.turnstile ?? false),
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "same-origin",
	};
}
