// Public HTML pages: the questionnaire at "/" and the confirmation at "/merci".
// The form posts to POST /api/submissions, which re-renders this page on errors (400) or redirects here.
import { Hono } from "hono";
import { getConfig } from "../config";
import { fetchRoleChoices } from "../db/roles";
import { describeError, logError } from "../log";
import { questionnaire } from "../questionnaire/definition";
import { renderConfirmationPage, renderFormPage } from "./pages/form";
import { renderErrorPage } from "./pages/error-page";
import { buildPageHeaders } from "./pages/headers";
import { parseLocale } from "./pages/locale";

export const pageRoutes = new Hono<{ Bindings: Env }>();

// A person, not a program, reads these pages: failures get an HTML page, not the JSON envelope.
pageRoutes.onError((err, c) => {
	logError("page_error", { path: c.req.path, error: describeError(err) });
	const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
	return c.html(renderErrorPage({ locale }), 500, buildPageHeaders(locale));
});

pageRoutes.get("/", async (c) => {
	const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
	const config = getConfig(c.env);
	const roles = await fetchRoleChoices(c.env.DB);
	const turnstileSiteKey = config.TURNSTILE_SITE_KEY;
	const html = renderFormPage({ questionnaire, roles, values: {}, errors: {}, locale, turnstileSiteKey });
	return c.html(html, 200, buildPageHeaders(locale, { turnstile: Boolean(turnstileSiteKey) }));
});

pageRoutes.get("/merci", (c) => {
	const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
	return c.html(renderConfirmationPage({ locale }), 200, buildPageHeaders(locale));
});
