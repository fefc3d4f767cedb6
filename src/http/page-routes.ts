// Public HTML pages: the questionnaire at "/" and the confirmation at "/merci".
// The form posts to POST /api/submissions, which re-renders this page on errors (400) or redirects here.
import { createRoute, z } from "@hono/zod-openapi";
import { fetchRoleChoices } from "../db/roles";
import { describeError, logError } from "../log";
import { questionnaire } from "../questionnaire/definition";
import { renderConfirmationPage, renderFormPage } from "./pages/form";
import { renderErrorPage } from "./pages/error-page";
import { buildPageHeaders } from "./pages/headers";
import { parseLocale } from "./pages/locale";
import { createRouter, type AppContext } from "./router";

/** The paths of the HTML pages (their errors are pages too, see app.onError). */
const PAGE_PATHS = new Set(["/", "/merci"]);

/** Is this request for one of the HTML pages? */
export function isPageRequest(c: AppContext): boolean {
	return (c.req.method === "GET" || c.req.method === "HEAD") && PAGE_PATHS.has(c.req.path);
}

/** A failure while serving a page: an HTML page that says so, never the JSON envelope. */
export function renderPageError(c: AppContext, err: unknown): Response {
	logError("page_error", { path: c.req.path, error: describeError(err) });
	const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
	return c.html(renderErrorPage({ locale }), 500, buildPageHeaders(locale));
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
		const roles = await fetchRoleChoices(c.env.DB);
		const turnstileSiteKey = c.var.config.TURNSTILE_SITE_KEY;
		const page = renderFormPage({ questionnaire, roles, values: {}, errors: {}, locale, turnstileSiteKey });
		return c.html(page, 200, buildPageHeaders(locale, { turnstile: Boolean(turnstileSiteKey) }));
	},
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
