// Public HTML pages: the questionnaire at "/" (GET shows it, POST receives it), the confirmation
// at "/merci", "your data" at "/confidentialite", and the 404 page of browser requests.
// A form post is answered Post/Redirect/Get on success (303 to /merci) and, on a refusal, with the
// form again at "/" itself: the address bar never shows an API path (docs/page.md).
import { createRoute, z } from "@hono/zod-openapi";
import type { Config } from "../config";
import { describeError, logError } from "../log";
import { questionnaire } from "../questionnaire/definition";
import { renderConfirmationPage, renderFormPage } from "./pages/form";
import { renderErrorPage } from "./pages/error-page";
import { buildPageHeaders } from "./pages/headers";
import { renderNotFoundPage, renderPrivacyPage } from "./pages/info-pages";
import { parseLocale } from "./pages/locale";
import { fetchRoleSuggestions } from "./role-suggestions";
import { createRouter, type AppContext } from "./router";
import { handleSubmission } from "./submissions";

/** The paths of the HTML pages (their errors are pages too, see app.onError). */
const PAGE_PATHS = new Set(["/", "/merci", "/confidentialite"]);

/** Is this request for one of the HTML pages (GET or HEAD, or the form's POST to "/")? */
export function isPageRequest(c: AppContext): boolean {
	if (c.req.method === "POST") return c.req.path === "/";
	return (c.req.method === "GET" || c.req.method === "HEAD") && PAGE_PATHS.has(c.req.path);
}

/** A failure while serving a page: an HTML page that says so, never the JSON envelope. */
export function renderPageError(c: AppContext, err: unknown): Response {
	logError("page_error", { path: c.req.path, error: describeError(err) });
	const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
	return c.html(renderErrorPage({ locale }), 500, buildPageHeaders(locale));
}

/**
 * Pure: does this unknown path deserve the HTML 404 page rather than the JSON envelope? Only a
 * browser's request (Accept names text/html) outside /api/: programs keep the envelope.
 */
export function wantsHtmlNotFound(path: string, accept: string | undefined): boolean {
	if (path === "/api" || path.startsWith("/api/")) return false;
	return /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept ?? "");
}

/** The 404 page, in the language of the request (?lang=, then Accept-Language). */
export function renderNotFound(c: AppContext): Response {
	const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
	return c.html(renderNotFoundPage({ locale }), 404, buildPageHeaders(locale));
}

/** Pure: about how many months the oldest backup is kept, for the "your data" page. */
export function buildBackupMonths(config: Pick<Config, "KEEP_DAILY" | "KEEP_WEEKLY" | "KEEP_MONTHLY" | "OFFSITE_KEEP_MONTHLY" | "OFFSITE_S3_BUCKET">): number {
	const offsite = config.OFFSITE_S3_BUCKET ? config.OFFSITE_KEEP_MONTHLY : 0;
	return Math.max(config.KEEP_MONTHLY, offsite, Math.ceil((config.KEEP_WEEKLY * 7) / 30), Math.ceil(config.KEEP_DAILY / 30), 1);
}

const html = (description: string) => ({ description, content: { "text/html": { schema: z.string() } } });

export const pageRoutes = createRouter();

pageRoutes.openapi(
	createRoute({
		method: "get",
		path: "/",
		tags: ["pages"],
		summary: "The questionnaire page (HTML; `?lang=fr|en`, else Accept-Language)",
		responses: { 200: html("The form."), 500: html("The page could not be built (an HTML page says so).") },
	}),
	async (c) => {
		const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
		const config = c.var.config;
		const roles = await fetchRoleSuggestions(c.env.DB, questionnaire, config.ROLE_SUGGEST_MIN_USES, locale);
		const turnstileSiteKey = config.TURNSTILE_SITE_KEY;
		const page = renderFormPage({ questionnaire, roles, values: {}, errors: {}, locale, turnstileSiteKey, contactEmail: config.CONTACT_EMAIL });
		return c.html(page, 200, buildPageHeaders(locale, { turnstile: Boolean(turnstileSiteKey) }));
	},
);

pageRoutes.openapi(
	createRoute({
		method: "post",
		path: "/",
		tags: ["pages"],
		summary: "The form's own post (urlencoded; `?lang=fr|en`): the same checks as POST /api/submissions",
		description:
			"Accepted: 303 to /merci (Post/Redirect/Get). Refused: the form again, at this same address, with every " +
			"typed value kept and the reason at the top (429: how long to wait, Retry-After). The body is read by " +
			"the handler itself, after the content type and the rate limit are checked.",
		request: {
			body: {
				required: true,
				content: { "application/x-www-form-urlencoded": { schema: { $ref: "#/components/schemas/SubmissionForm" } } },
			},
		},
		responses: {
			303: { description: "Stored: redirect to /merci." },
			400: html("`rejected`, `validation_failed` (beside each field) or `turnstile_failed`: the form again."),
			413: html("`payload_too_large`: over 64 KiB."),
			415: html("`unsupported_media_type`: only the urlencoded form is taken here."),
			429: html("`rate_limited`: the form again, with what was typed and how long to wait (Retry-After)."),
			503: html("`turnstile_unavailable` or `store_failed`: the form again, try again."),
			500: html("The page could not be built (an HTML page says so)."),
		},
	}),
	(c) => handleSubmission(c, questionnaire, ["form"]),
);

pageRoutes.openapi(
	createRoute({
		method: "get",
		path: "/merci",
		tags: ["pages"],
		summary: "The confirmation page shown after a form post (HTML)",
		responses: { 200: html("The confirmation.") },
	}),
	(c) => {
		const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
		return c.html(renderConfirmationPage({ locale }), 200, buildPageHeaders(locale));
	},
);

pageRoutes.openapi(
	createRoute({
		method: "get",
		path: "/confidentialite",
		tags: ["pages"],
		summary: "What is kept, for how long, and how to have one's answers deleted (HTML)",
		responses: { 200: html("The page.") },
	}),
	(c) => {
		const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
		const config = c.var.config;
		const page = renderPrivacyPage({ locale, contactEmail: config.CONTACT_EMAIL, backupMonths: buildBackupMonths(config) });
		return c.html(page, 200, buildPageHeaders(locale));
	},
);
