// Administrator authentication: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
import { createMiddleware } from "hono/factory";
import { ApiError } from "./errors";
import type { AppEnv } from "./router";

const encoder = new TextEncoder();

/** Constant-time string comparison: hash both sides to equal-length digests, then compare. */
export async function safeEqual(a: string, b: string): Promise<boolean> {
	const [ha, hb] = await Promise.all([
		crypto.subtle.digest("SHA-256", encoder.encode(a)),
		crypto.subtle.digest("SHA-256", encoder.encode(b)),
	]);
	return crypto.subtle.timingSafeEqual(ha, hb);
}

/** Extract the bearer token from an Authorization header value, if any. */
export function parseBearer(header: string | undefined | null): string | undefined {
	const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
	return match?.[1];
}

/** Rejects with 401 unless the request carries the administrator token (runs after withConfig). */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
	const token = parseBearer(c.req.header("Authorization"));
	const expected = c.var.config.ADMIN_TOKEN;
	if (!token || !(await safeEqual(token, expected))) {
		throw new ApiError(401, "unauthorized", "A valid administrator token is required.", undefined, {
			"WWW-Authenticate": 'Bearer realm="admin"',
		});
	}
	await next();
});
