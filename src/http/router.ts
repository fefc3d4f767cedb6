// The one app type every route module shares, the router factory, the config middleware, and
// the hooks that turn a failed validation into a 400 in the error envelope.
import { OpenAPIHono, createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { getConfig, type Config } from "../config";
import { ApiError, buildFieldErrors } from "./errors";
import { errorResponse } from "./schemas";

/** Bindings from wrangler.jsonc, and what middleware puts on the context for the handlers. */
export type AppEnv = {
	Bindings: Env;
	Variables: {
		/** The parsed configuration (src/config.ts), set by `withConfig` before any handler runs. */
		config: Config;
	};
};

export type AppContext = Context<AppEnv>;

/** What a 400 says about the request as a whole; `fields` says which parts are wrong and why. */
export type Refusal = { code: string; message: string };

/** Where the validator read the input: "json" body, "query", path "param"… */
type Target = "json" | "form" | "query" | "param" | "header" | "cookie";

/** The refusal used when a route gives none of its own. */
const DEFAULT_REFUSALS: Record<Target, Refusal> = {
	json: { code: "invalid_request", message: "Invalid request body." },
	form: { code: "invalid_request", message: "Invalid request body." },
	query: { code: "invalid_query", message: "Invalid query parameters." },
	param: { code: "invalid_id", message: "Invalid path parameter." },
	header: { code: "invalid_request", message: "Invalid request headers." },
	cookie: { code: "invalid_request", message: "Invalid request cookies." },
};

/** How `fields` names the input as a whole (an issue about the body itself is a "body" issue). */
const WHOLE: Record<Target, string> = { json: "body", form: "body", query: "query", param: "params", header: "headers", cookie: "cookies" };

type HookResult = { target: string; success: boolean; error?: { issues: Parameters<typeof buildFieldErrors>[0] } };

/**
 * A validation hook for `app.openapi(route, handler, hook)`: on failure, throw a 400 ApiError
 * (mapped by app.onError) whose `fields` names every wrong field. `refusal` is the code and
 * message of the request as a whole; a function picks one from the wrong fields (a route with
 * two path parameters says which one is wrong).
 */
export function onInvalid(refusal?: Refusal | ((fields: Record<string, string>) => Refusal)) {
	return (result: HookResult, _c: unknown): undefined => {
		if (result.success || !result.error) return undefined;
		const target = (result.target in WHOLE ? result.target : "json") as Target;
		const fields = buildFieldErrors(result.error.issues, WHOLE[target]);
		const chosen = typeof refusal === "function" ? refusal(fields) : (refusal ?? DEFAULT_REFUSALS[target]);
		throw new ApiError(400, chosen.code, chosen.message, fields);
	};
}

/** A router of the app: typed with AppEnv, its zod schemas both validate and document. */
export function createRouter() {
	return new OpenAPIHono<AppEnv>({ defaultHook: onInvalid() });
}

/** Parses the configuration once per request (getConfig caches it per env) and sets `config`. */
export const withConfig = createMiddleware<AppEnv>(async (c, next) => {
	c.set("config", getConfig(c.env));
	await next();
});

/** Name of the OpenAPI security scheme of the administrator routes. */
export const ADMIN_SECURITY = "adminToken";

/**
 * An administrator route: documented with the Bearer security scheme and its 401. The check
 * itself is app-wide middleware on /api/admin/* (app.ts), so no route can forget it.
 */
export function createAdminRoute<R extends RouteConfig>(route: R): R {
	return createRoute({
		...route,
		security: [{ [ADMIN_SECURITY]: [] }],
		responses: { ...route.responses, 401: errorResponse("No valid administrator token (the `WWW-Authenticate` header says Bearer).") },
	}) as unknown as R;
}

/**
 * Reads a JSON body for the validator that follows it: a Content-Type other than JSON is 415; a
 * body that is not JSON is 400 invalid_json; an empty body counts as `{}`, so that the schema
 * (not the parser) names the missing fields.
 */
export const jsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
	const type = c.req.header("Content-Type");
	if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type.trim())) {
		throw new ApiError(415, "unsupported_media_type", "Send the body as application/json.");
	}
	const text = await c.req.text();
	if (text.trim() === "") {
		// Hono's validator parses the cached text; "{}" stands for the empty body.
		(c.req.bodyCache as Record<string, unknown>).text = Promise.resolve("{}");
	} else if (type === undefined) {
		throw new ApiError(415, "unsupported_media_type", "Send the body as application/json.");
	} else {
		try {
			JSON.parse(text);
		} catch {
			throw new ApiError(400, "invalid_json", "The request body is not valid JSON.");
		}
	}
	await next();
};
