// The one error envelope every API response uses: { error: { code, message, fields? } }.
// Handlers throw ApiError; app.onError maps it (and anything unexpected) in one place.
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ErrorBody = {
	error: { code: string; message: string; fields?: Record<string, string> };
};

export class ApiError extends Error {
	constructor(
		public readonly status: ContentfulStatusCode,
		public readonly code: string,
		message: string,
		public readonly fields?: Record<string, string>,
		public readonly headers?: Record<string, string>,
	) {
		super(message);
		this.name = "ApiError";
	}

	toBody(): ErrorBody {
		return {
			error: {
				code: this.code,
				message: this.message,
				...(this.fields ? { fields: this.fields } : {}),
			},
		};
	}
}

/** Minimal view of a zod error, so this module needs no zod import. */
type SchemaIssue = { code: string; path: PropertyKey[]; message: string; keys?: string[] };

/**
 * Which field is wrong and why, from a schema's issues. `whole` names the input ("body" or
 * "query"): issues about the input itself are reported under it, and unknown keys are an
 * "unknown field" of a body or an "unknown parameter" of a query.
 */
export function buildFieldErrors(issues: readonly SchemaIssue[], whole = "body"): Record<string, string> {
	const unknown = whole === "query" ? "unknown parameter" : "unknown field";
	const fields: Record<string, string> = {};
	for (const issue of issues) {
		if (issue.code === "unrecognized_keys") for (const k of issue.keys ?? []) fields[k] ??= unknown;
		else fields[String(issue.path[0] ?? whole)] ??= issue.message;
	}
	return fields;
}

/** Pure: does a registered route pattern ("/a/:id/b", "/a/*") match a request path? */
function matchesRoutePattern(pattern: string, path: string): boolean {
	const source = pattern
		.split(/(:[A-Za-z0-9_]+(?:\{[^}]*\})?\??|\*)/)
		.map((part) => {
			if (part === "*") return ".*";
			const param = /^:[A-Za-z0-9_]+(?:\{([^}]*)\})?(\?)?$/.exec(part);
			if (param) return `(?:${param[1] ?? "[^/]+"})${param[2] ?? ""}`;
			return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
		})
		.join("");
	return new RegExp(`^${source}$`).test(path);
}

/**
 * Pure: the methods the app's handlers take for `path` (middleware, registered as ALL, does not
 * count), with HEAD wherever GET is. Empty when no handler takes the path at all (a 404).
 */
export function buildAllowedMethods(routes: readonly { method: string; path: string }[], path: string): string[] {
	const allowed = new Set<string>();
	for (const r of routes) {
		if (r.method === "ALL" || !matchesRoutePattern(r.path, path)) continue;
		allowed.add(r.method);
		if (r.method === "GET") allowed.add("HEAD");
	}
	const order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
	return [...allowed].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}
