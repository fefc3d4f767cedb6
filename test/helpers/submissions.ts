// Helpers for tests that post submissions through the real Worker.
import { env, exports } from "cloudflare:workers";

const BASE = "http://example.com";

// Each call gives a new client address (its own IPv6 /64), so that rate limiting in one test
// never leaks into another, in this file or in a file running beside it.
const run = Math.floor(Math.random() * 0xffff).toString(16);
let next = 0;
export function uniqueIp(): string {
	return `2001:db8:${run}:${(next++).toString(16)}::1`;
}

/** A complete, valid set of answers to the default questionnaire. */
export function validAnswers(overrides: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		cafe: "Le Petit Café",
		ville: "Lyon",
		role: "Formateur",
		satisfaction: 4,
		consentement: true,
		...overrides,
	};
}

type PostOptions = { ip?: string; headers?: Record<string, string>; query?: string };

/** POST /api/submissions with a JSON body (anything JSON-serialisable, or a raw string). */
export function postJson(body: unknown, options: PostOptions = {}): Promise<Response> {
	return exports.default.fetch(`${BASE}/api/submissions${options.query ?? ""}`, {
		method: "POST",
		headers: {
			"Content-Type": "application/json",
			"CF-Connecting-IP": options.ip ?? uniqueIp(),
			...options.headers,
		},
		body: typeof body === "string" ? body : JSON.stringify(body),
	});
}

/** POST /api/submissions as the HTML form does (urlencoded; repeated keys for multiple values). */
export function postForm(fields: [string, string][], options: PostOptions = {}): Promise<Response> {
	return exports.default.fetch(`${BASE}/api/submissions${options.query ?? ""}`, {
		method: "POST",
		headers: {
			"Content-Type": "application/x-www-form-urlencoded",
			"CF-Connecting-IP": options.ip ?? uniqueIp(),
			...options.headers,
		},
		body: new URLSearchParams(fields).toString(),
		redirect: "manual",
	});
}

/** Row counts of every table a submission writes, to assert that a rejection stored nothing. */
export type StoredCounts = { submissions: number; roles: number; uses: number; counters: number; counted: number };
export async function countStored(): Promise<StoredCounts> {
	const row = await env.DB.prepare(
		`SELECT (SELECT COUNT(*) FROM submissions) AS submissions,
		        (SELECT COUNT(*) FROM roles) AS roles,
		        (SELECT COALESCE(SUM(use_count), 0) FROM roles) AS uses,
		        (SELECT COUNT(*) FROM counters) AS counters,
		        (SELECT COALESCE(SUM(value), 0) FROM counters) AS counted`,
	).first<StoredCounts>();
	return row!;
}

/** GET with the administrator token (or another Authorization value, or none). */
export function adminGet(path: string, authorization: string | null = `Bearer ${env.ADMIN_TOKEN}`): Promise<Response> {
	return exports.default.fetch(`${BASE}${path}`, {
		headers: authorization === null ? {} : { Authorization: authorization },
	});
}
