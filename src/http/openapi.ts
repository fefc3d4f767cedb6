// GET /api/openapi.json: the OpenAPI 3.1 description of the whole app, generated from the same
// zod schemas that validate the requests and type the answers (@hono/zod-openapi).
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { APP_VERSION } from "../version";
import { ADMIN_SECURITY, type AppEnv } from "./router";
import { jsonResponse } from "./schemas";

export const OPENAPI_PATH = "/api/openapi.json";

const OpenApiDocumentSchema = z
	.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) })
	.openapi({ description: "An OpenAPI 3.1 document." });

/** Registers the security scheme and the route that serves the description (built once per isolate). */
export function registerOpenApiRoute(app: OpenAPIHono<AppEnv>): void {
	app.openAPIRegistry.registerComponent("securitySchemes", ADMIN_SECURITY, {
		type: "http",
		scheme: "bearer",
		description: "The administrator token (the ADMIN_TOKEN secret): `Authorization: Bearer <token>`.",
	});
	let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
	app.openapi(
		createRoute({
			method: "get",
			path: OPENAPI_PATH,
			tags: ["public"],
			summary: "This description",
			responses: { 200: jsonResponse(OpenApiDocumentSchema, "The OpenAPI 3.1 description of every route.") },
		}),
		(c) => {
			document ??= app.getOpenAPI31Document({
				openapi: "3.1.0",
				info: {
					title: "Cafés partenaires — questionnaire and backups",
					version: APP_VERSION,
					description:
						"Public questionnaire API and the administrators' backup API. Errors use one envelope: " +
						"`{ error: { code, message, fields? } }`. See docs/http-api.md.",
				},
				tags: [
					{ name: "public", description: "No authentication." },
					{ name: "pages", description: "Server-rendered HTML pages." },
					{ name: "admin", description: "Administrator token required." },
				],
			});
			return c.json(document as z.output<typeof OpenApiDocumentSchema>, 200, { "Cache-Control": "no-cache" });
		},
	);
}
