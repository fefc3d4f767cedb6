// The HTTP application: mounts each area's routes and maps every error to one envelope.
import { Hono } from "hono";
import { ConfigError } from "../config";
import { describeError, logError } from "../log";
import { backupRoutes } from "./backups";
import { adminSubmissionRoutes } from "./admin-submissions";
import { ApiError, buildAllowedMethods } from "./errors";
import { healthRoutes } from "./health";
import { statusRoutes } from "./status";
import { erasureRoutes } from "./erasures";
import { pageRoutes } from "./page-routes";
import { pinRoutes } from "./pins";
import { restoreRoutes } from "./restore";
import { retentionRoutes } from "./retention";
import { verificationRoutes } from "./verifications";
import { submissionRoutes } from "./submissions";

export const app = new Hono<{ Bindings: Env }>();

app.route("/", healthRoutes);
app.route("/", statusRoutes);
app.route("/", backupRoutes);
app.route("/", pageRoutes);
app.route("/", submissionRoutes);
app.route("/", adminSubmissionRoutes);
app.route("/", retentionRoutes);
app.route("/", pinRoutes);
app.route("/", verificationRoutes);
app.route("/", restoreRoutes);
app.route("/", erasureRoutes);

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
	return c.json({ error: { code: "not_found", message: "No such resource." } }, 404);
});

app.onError((err, c) => {
	if (err instanceof ApiError) {
		return c.json(err.toBody(), err.status, err.headers);
	}
	if (err instanceof ConfigError) {
		// The message names each bad variable and why, never its value.
		logError("config_invalid", { problems: Object.keys(err.problems).join(","), message: err.message });
		return c.json(
			{ error: { code: "config_invalid", message: err.message } },
			500,
		);
	}
	logError("unhandled_error", { path: c.req.path, error: describeError(err) });
	return c.json({ error: { code: "internal", message: "Internal error." } }, 500);
});
