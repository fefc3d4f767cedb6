// Zod schemas shared by several route modules: the error envelope, path parameters, and helpers
// that turn a schema into an OpenAPI response. Each resource's own schemas live beside its routes.
import { z } from "@hono/zod-openapi";
import { isSnapshotId } from "../snapshots/format";

/** The one error envelope every API error uses (errors.ts builds it, app.onError sends it). */
export const ErrorBodySchema = z
	.strictObject({
		error: z.strictObject({
			code: z.string().openapi({ description: "Stable, machine-readable code (e.g. `invalid_request`)." }),
			message: z.string().openapi({ description: "What went wrong, for a person." }),
			fields: z
				.record(z.string(), z.string())
				.optional()
				.openapi({ description: "Each wrong input field (or parameter) and why." }),
		}),
	})
	.openapi("Error");

/** An OpenAPI response whose body is the error envelope. */
export function errorResponse(description: string) {
	return { description, content: { "application/json": { schema: ErrorBodySchema } } };
}

/** An OpenAPI response with a JSON body. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
	return { description, content: { "application/json": { schema } } };
}

/** The 500s any route may answer: a bad configuration (config_invalid) or an unexpected error (internal). */
export const SERVER_ERROR = errorResponse("`config_invalid` (a variable is missing or malformed) or `internal`.");

/** A snapshot id in a path: `2026-11-25T020000Z-abc123`. */
export const SnapshotIdParam = z
	.string()
	.refine(isSnapshotId, "expected YYYY-MM-DDTHHMMSSZ-xxxx")
	.openapi({ param: { name: "id", in: "path" }, example: "2026-11-25T020000Z-abc123" });

/** The 400 of a path naming no snapshot. */
export const NOT_A_SNAPSHOT_ID = { code: "invalid_id", message: "Not a snapshot id." };

/** ISO 8601 time, as every timestamp of the API is written. */
export const IsoTime = z.string().openapi({ format: "date-time" });
