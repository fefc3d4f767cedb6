// The whole HTTP surface at once, from the routes the app really registers (app.routes): every
// route that is not on the short public list needs the administrator token, and every error —
// Hono's own 404/405 included — comes out as the JSON envelope, without a stack trace.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { app } from "../src/http/app";

const BASE = "http://example.com";

/** The only routes anyone may call without the token ("METHOD path" as registered). */
const PUBLIC_ROUTES = new Set([
	"GET /",
	"POST /",
	"GET /merci",
	"GET /confidentialite",
	"GET /api/health",
	"GET /api/questionnaire",
	"GET /api/roles",
	"POST /api/submissions",
	"GET /api/openapi.json",
]);

/**
 * Middleware registered for every path: the one that parses the configuration (src/http/app.ts).
 * It guards nothing, so it is not probed as an administrator route.
 */
const APP_WIDE_MIDDLEWARE = new Set(["ALL /*"]);

/** A concrete URL path for a registered pattern (parameters get plausible values). */
function samplePath(pattern: string): string {
	return pattern
		.replace(/:id(\{[^}]*\})?/g, "2026-01-01T020000Z-abcd")
		.replace(/:n(\{[^}]*\})?/g, "1")
		.replace(/:[A-Za-z_]+(\{[^}]*\})?/g, "x")
		.replace(/\*/g, "x");
}

type Probe = { method: string; path: string; pattern: string };

/**
 * Every (method, path) the app answers that is not public. A middleware registered with `use`
 * (method ALL) covers every method of its paths, so each common method is probed there.
 */
function adminProbes(): Probe[] {
	const probes = new Map<string, Probe>();
	for (const r of app.routes) {
		if (APP_WIDE_MIDDLEWARE.has(`${r.method} ${r.path}`)) continue;
		const methods = r.method === "ALL" ? ["GET", "POST", "PUT", "PATCH", "DELETE"] : [r.method];
		for (const method of methods) {
			if (PUBLIC_ROUTES.has(`${method} ${r.path}`)) continue;
			// "use" middleware on "/*"-style patterns that also match public routes would show up here;
			// the app has none, and a new one would have to justify itself in this list.
			const probe = { method, path: samplePath(r.path), pattern: r.path };
			probes.set(`${method} ${probe.path}`, probe);
		}
	}
	return [...probes.values()];
}

function call(method: string, path: string, init: { auth?: string; body?: string } = {}): Promise<Response> {
	const headers: Record<string, string> = { "CF-Connecting-IP": "192.0.2.77" };
	if (init.auth) headers.Authorization = init.auth;
	if (init.body !== undefined) headers["Content-Type"] = "application/json";
	return exports.default.fetch(`${BASE}${path}`, { method, headers, body: init.body });
}

/** The envelope, and nothing that looks like a stack trace or a file path. */
async function expectEnvelope(res: Response, status: number, code?: string): Promise<{ error: { code: string; message: string } }> {
	expect(res.status).toBe(status);
	expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
	const text = await res.text();
	expect(text).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+|node_modules|Error:/);
	const body = JSON.parse(text) as { error: { code: string; message: string } };
	expect(typeof body.error.code).toBe("string");
	expect(typeof body.error.message).toBe("string");
	if (code) expect(body.error.code).toBe(code);
	return body;
}

describe("every non-public route requires the administrator token", () => {
	const probes = adminProbes();

	it("finds the administrator routes in app.routes", () => {
		const patterns = new Set(probes.map((p) => p.pattern));
		for (const known of [
			"/api/admin/submissions",
			"/api/admin/submissions.csv",
			"/api/admin/status",
			"/api/admin/backups",
			"/api/admin/backups/:id",
			"/api/admin/snapshots",
			"/api/admin/snapshots/:id/manifest",
			"/api/admin/snapshots/:id/chunks/:n",
			"/api/admin/snapshots/:id/download",
			"/api/admin/snapshots/:id/verify",
			"/api/admin/verifications/:id",
			"/api/admin/retention",
			"/api/admin/restore",
			"/api/admin/restores",
			"/api/admin/restores/:id",
			"/api/admin/restore/undo",
			"/api/admin/erasures",
			"/api/backup-cron",
		]) {
			expect(patterns, known).toContain(known);
		}
		// Nothing outside /api/admin/ except the historical alias.
		for (const p of probes) expect(p.path.startsWith("/api/admin/") || p.path === "/api/backup-cron", p.path).toBe(true);
	});

	it("answers 401 to every method of every such route without a token, before reading the body", async () => {
		const before = await env.DB.prepare(
			"SELECT (SELECT COUNT(*) FROM submissions) + (SELECT COUNT(*) FROM erasures) + (SELECT COUNT(*) FROM backup_runs) AS n",
		).first<{ n: number }>();
		for (const { method, path } of probes) {
			// A malformed body too: authentication must come before any parsing.
			const body = method === "GET" ? undefined : "{not json";
			const res = await call(method, path, { body });
			expect(res.status, `${method} ${path}`).toBe(401);
			expect(res.headers.get("WWW-Authenticate"), `${method} ${path}`).toMatch(/^Bearer/);
			await expectEnvelope(res, 401, "unauthorized");
		}
		const after = await env.DB.prepare(
			"SELECT (SELECT COUNT(*) FROM submissions) + (SELECT COUNT(*) FROM erasures) + (SELECT COUNT(*) FROM backup_runs) AS n",
		).first<{ n: number }>();
		expect(after).toEqual(before);
	});

	it("answers 401 to a wrong token, another scheme, and HEAD requests", async () => {
		const wrong = [`Bearer ${env.ADMIN_TOKEN}x`, `Bearer ${env.ADMIN_TOKEN.slice(0, -1)}`, `Basic ${env.ADMIN_TOKEN}`, env.ADMIN_TOKEN];
		for (const { method, path } of probes) {
			for (const auth of wrong) {
				const res = await call(method, path, { auth, body: method === "GET" ? undefined : "{}" });
				expect(res.status, `${method} ${path} ${auth}`).toBe(401);
				await res.arrayBuffer();
			}
			if (method === "GET") {
				const head = await call("HEAD", path);
				expect(head.status, `HEAD ${path}`).toBe(401);
				await head.arrayBuffer();
			}
		}
	});
});

describe("errors always come out in the JSON envelope", () => {
	it("an unknown path is 404 not_found", async () => {
		await expectEnvelope(await call("GET", "/api/nope"), 404, "not_found");
		await expectEnvelope(await call("POST", "/api/admin/nope", { auth: `Bearer ${env.ADMIN_TOKEN}`, body: "{}" }), 404, "not_found");
	});

	it("a known path with a method it does not take is 405 with Allow", async () => {
		for (const [method, path, allow] of [
			["DELETE", "/api/submissions", "POST"],
			["PUT", "/api/health", "GET, HEAD"],
			["POST", "/api/questionnaire", "GET, HEAD"],
			["GET", "/api/submissions", "POST"],
		] as const) {
			const res = await call(method, path, { body: method === "GET" ? undefined : "{}" });
			await expectEnvelope(res, 405, "method_not_allowed");
			expect(res.headers.get("Allow"), `${method} ${path}`).toBe(allow);
		}
		// An administrator path says nothing without the token, and the same 405 with it.
		const res = await call("DELETE", "/api/admin/status", { auth: `Bearer ${env.ADMIN_TOKEN}` });
		await expectEnvelope(res, 405, "method_not_allowed");
		expect(res.headers.get("Allow")).toBe("GET, HEAD");
	});

	it("malformed JSON to an administrator endpoint that reads a body is 400 invalid_json", async () => {
		for (const path of ["/api/admin/restore", "/api/admin/erasures"]) {
			await expectEnvelope(await call("POST", path, { auth: `Bearer ${env.ADMIN_TOKEN}`, body: '{"snapshotId": ' }), 400, "invalid_json");
		}
	});

	it("an administrator JSON body: another content type is 415, an empty body is 400 naming the missing field", async () => {
		const auth = `Bearer ${env.ADMIN_TOKEN}`;
		for (const path of ["/api/admin/restore", "/api/admin/erasures"]) {
			for (const headers of [{ "Content-Type": "text/plain" }, { "Content-Type": "application/x-www-form-urlencoded" }, {}] as Record<string, string>[]) {
				const res = await exports.default.fetch(`${BASE}${path}`, { method: "POST", headers: { Authorization: auth, ...headers }, body: '{"submissionId":"a"}' });
				await expectEnvelope(res, 415, "unsupported_media_type");
			}
			for (const body of ["", "  "]) {
				const res = await exports.default.fetch(`${BASE}${path}`, { method: "POST", headers: { Authorization: auth, "Content-Type": "application/json" }, body });
				const envelope = (await expectEnvelope(res, 400, "invalid_request")) as { error: { fields?: Record<string, string> } };
				expect(Object.keys(envelope.error.fields ?? {}), path).toEqual(path.endsWith("restore") ? ["snapshotId"] : ["submissionId"]);
			}
		}
		const empty = await exports.default.fetch(`${BASE}/api/admin/restore`, { method: "POST", headers: { Authorization: auth } });
		await expectEnvelope(empty, 400, "invalid_request");
	});

	it("a malformed query (bad percent-encoding) is a 400, not a crash", async () => {
		const res = await call("GET", "/api/admin/submissions?limit=%ZZ", { auth: `Bearer ${env.ADMIN_TOKEN}` });
		await expectEnvelope(res, 400, "invalid_query");
	});

	it("an unexpected exception is 500 internal, with no stack trace and no data", async () => {
		// A row whose stored answers are not JSON (as a hand-edited or damaged database could hold)
		// makes the listing throw a SyntaxError deep inside a handler.
		const id = "00000000-0000-4000-8000-00000000dead";
		await env.DB.prepare(
			"INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation) VALUES (?, ?, 'v', '', ?, '{}')",
		)
			// V8's JSON.parse quotes the start of its input in its error message.
			.bind(id, "2026-01-01T00:00:00.000Z", "secret-answer@example.com")
			.run();
		const lines: string[] = [];
		const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
		const spies = [vi.spyOn(console, "log").mockImplementation(capture), vi.spyOn(console, "error").mockImplementation(capture)];
		try {
			const res = await call("GET", "/api/admin/submissions?limit=200", { auth: `Bearer ${env.ADMIN_TOKEN}` });
			const body = await expectEnvelope(res, 500, "internal");
			expect(body).toEqual({ error: { code: "internal", message: "Internal error." } });
		} finally {
			for (const spy of spies) spy.mockRestore();
			await env.DB.prepare("DELETE FROM submissions WHERE id = ?").bind(id).run();
		}
		// The failure is logged, but not the data that made it fail.
		expect(lines.some((l) => l.includes('"unhandled_error"'))).toBe(true);
		expect(lines.join("\n")).not.toContain("secret-a");
	});
});
