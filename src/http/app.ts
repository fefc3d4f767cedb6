// The HTTP application: app-wide middleware (config, admin token), each area's routes, the
// OpenAPI description, and the one place where every error becomes the envelope.
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigError } from "../config";
import { describeError, logError } from "../log";
import { adminRoleRoutes } from "./admin-roles";
import { adminSubmissionRoutes } from "./admin-submissions";
import { requireAdmin } from "./auth";
import { backupRoutes } from "./backups";
import { erasureRoutes } from "./erasures";
import { exportRoutes } from "./exports";
import { ApiError, buildAllowedMethods } from "./errors";
import { healthRoutes } from "./health";
import { meterUsage } from "./metering";
import { importRoutes } from "./imports";
import { pinRoutes } from "./pins";
import { registerOpenApiRoute } from "./openapi";
import { isPageRequest, pageRoutes, renderNotFound, renderPageError, wantsHtmlNotFound } from "./page-routes";
import { restoreRoutes } from "./restore";
import { retentionRoutes } from "./retention";
import { createRouter, withConfig } from "./router";
import { statusRoutes } from "./status";
import { submissionRoutes } from "./submissions";
import { verificationRoutes } from "./verifications";

export const app = createRouter();

// Middleware first: Hono runs handlers in the order they were registered.
app.use("*", withConfig);
// After withConfig (which parses the configuration of the real env): D1 and R2 usage is counted.
app.use("*", meterUsage);
// Every administrator path, whatever its method (a wrong method says 401 before 405).
app.use("/api/admin/*", requireAdmin);
app.use("/api/backup-cron", requireAdmin);

app.route("/", healthRoutes);
app.route("/", statusRoutes);
app.route("/", backupRoutes);
app.route("/", pageRoutes);
app.route("/", submissionRoutes);
app.route("/", adminSubmissionRoutes);
app.route("/", adminRoleRoutes);
app.route("/", retentionRoutes);
app.route("/", pinRoutes);
app.route("/", verificationRoutes);
app.route("/", restoreRoutes);
app.route("/", erasureRoutes);
app.route("/", importRoutes);
app.route("/", exportRoutes);
registerOpenApiRoute(app);

app.notFound((c) => {
	// Hono answers an unregistered method with "not found": say 405 and what the path does take.
	const allowed = buildAllowedMethods(app.routes, c.req.path);
	if (allowed.length > 0) {
		return c.json(
			{ error: { code: "method_not_allowed", message: `Method not allowed here; use ${allowed.join(", ")}.` } },
			405,
			{ Allow: allowed.join(", ") },
		);
	}
	// A person who mistyped an address gets a page in their language; programs get the envelope.
	if (wantsHtmlNotFound(c.req.path, c.req.header("Accept"))) return renderNotFound(c);
	return c.json({ error: { code: "not_found", message: "No such resource." } }, 404);
});

/** Codes of the HTTP errors Hono itself may raise (its validators, body parsing). */
const HTTP_EXCEPTION_CODES: Partial<Record<number, string>> = {
	400: "bad_request",
	413: "payload_too_large",
	415: "unsupported_media_type",
};

app.onError((err, c) => {
	// A person, not a program, reads the pages: their failures get an HTML page.
	if (isPageRequest(c)) return renderPageError(c, err);
	if (err instanceof ApiError) {
		return c.json(err.toBody(), err.status, err.headers);
	}
	if (err instanceof ConfigError) {
		// The message names each bad variable and why, never its value.
		logError("config_invalid", { problems: Object.keys(err.problems).join(","), message: err.message });
		return c.json({ error: { code: "config_invalid", message: err.message } }, 500);
	}
	if (err instanceof HTTPException && err.status < 500) {
		const status = err.status as ContentfulStatusCode;
		const code = HTTP_EXCEPTION_CODES[status] ?? "bad_request";
		return c.json({ error: { code, message: err.message || "Bad request." } }, status);
	}
	logError("unhandled_error", { path: c.req.path, error: describeError(err) });
	return c.json({ error: { code: "internal", message: "Internal error." } }, 500);
});
