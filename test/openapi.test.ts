// GET /api/openapi.json: the description covers every route the app registers (with its method
// and, for administrator routes, the Bearer scheme), and the app's real answers — success and
// error envelope alike — validate against the response schemas it describes.
import { introspectWorkflow, introspectWorkflowInstance } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../src/http/app";
import { ADMIN, insertMetadata, insertSubmissions, resetStorage } from "./backup-helpers";
import { validateJson, type JsonSchema } from "./helpers/json-schema";
import { uniqueIp, validAnswers } from "./helpers/submissions";

const BASE = "http://example.com";
type Operation = { security?: Record<string, string[]>[]; responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }> };
type Document = JsonSchema & {
	openapi: string;
	paths: Record<string, Record<string, Operation>>;
	components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, { type: string; scheme: string }> };
};

let doc: Document;

beforeAll(async () => {
	await resetStorage();
	const res = await exports.default.fetch(`${BASE}/api/openapi.json`);
	expect(res.status).toBe(200);
	expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
	doc = await res.json();
});

/** "/api/admin/backups/:id" as OpenAPI writes it: "/api/admin/backups/{id}". */
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/** Every (method, path) with a handler: middleware registered with `use` (method ALL) is not a route. */
function registeredRoutes(): { method: string; path: string }[] {
	const seen = new Map<string, { method: string; path: string }>();
	for (const r of app.routes) if (r.method !== "ALL") seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
	return [...seen.values()];
}

const isAdminPath = (path: string) => path.startsWith("/api/admin/") || path === "/api/backup-cron";

describe("GET /api/openapi.json", () => {
	it("is an OpenAPI 3.1 document anyone may read, with the administrator Bearer scheme", async () => {
		expect(doc.openapi).toBe("3.1.0");
		expect(doc.components.securitySchemes.adminToken).toMatchObject({ type: "http", scheme: "bearer" });
	});

	it("describes every route registered in the app, with its method (pages included)", () => {
		const routes = registeredRoutes();
		expect(routes.length).toBeGreaterThan(20);
		for (const { method, path } of routes) {
			expect(doc.paths[toOpenApiPath(path)]?.[method.toLowerCase()], `${method} ${path}`).toBeDefined();
		}
		// And nothing more: each described operation is a registered route.
		const registered = new Set(routes.map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.path)}`));
		for (const [path, ops] of Object.entries(doc.paths)) {
			for (const method of Object.keys(ops)) expect(registered, `${method} ${path}`).toContain(`${method} ${path}`);
		}
	});

	it("marks every administrator operation with the Bearer scheme and its 401, and no public one", () => {
		for (const [path, ops] of Object.entries(doc.paths)) {
			for (const [method, op] of Object.entries(ops)) {
				if (isAdminPath(path)) {
					expect(op.security, `${method} ${path}`).toEqual([{ adminToken: [] }]);
					expect(op.responses["401"], `${method} ${path}`).toBeDefined();
				} else {
					expect(op.security, `${method} ${path}`).toBeUndefined();
				}
			}
		}
	});
});

/**
 * Assert that `res` is documented for this operation (its status is listed) and that its JSON body
 * validates against the described schema. Returns the body.
 */
async function expectDescribed<T = Record<string, unknown>>(res: Response, method: string, path: string, status: number): Promise<T> {
	expect(res.status, `${method} ${path}`).toBe(status);
	const op = doc.paths[path]?.[method];
	expect(op, `${method} ${path} is described`).toBeDefined();
	const response = op!.responses[String(status)];
	expect(response, `${method} ${path} documents ${status}`).toBeDefined();
	const schema = response!.content?.["application/json"]?.schema;
	expect(schema, `${method} ${path} ${status} has a JSON schema`).toBeDefined();
	const body = (await res.json()) as T;
	expect(validateJson(schema!, body, doc), `${method} ${path} ${status}: ${JSON.stringify(body).slice(0, 300)}`).toEqual([]);
	return body;
}

function call(method: string, path: string, init: { admin?: boolean; json?: unknown; body?: string; headers?: Record<string, string> } = {}) {
	const headers: Record<string, string> = { "CF-Connecting-IP": uniqueIp(), ...(init.admin ? ADMIN : {}), ...init.headers };
	let body = init.body;
	if (init.json !== undefined) {
		headers["Content-Type"] = "application/json";
		body = JSON.stringify(init.json);
	}
	return exports.default.fetch(`${BASE}${path}`, { method, headers, body });
}

describe("the app's answers validate against the description", () => {
	it("the validator itself refuses a wrong answer (wrong type, missing key, extra key)", () => {
		const schema = doc.paths["/api/health"]!.get!.responses["200"]!.content!["application/json"]!.schema;
		const good = { ok: true, version: "1", backup: { ok: false, ageHours: null } };
		expect(validateJson(schema, good, doc)).toEqual([]);
		expect(validateJson(schema, { ...good, version: 1 }, doc)).not.toEqual([]);
		expect(validateJson(schema, { ok: true, version: "1" }, doc)).not.toEqual([]);
		expect(validateJson(schema, { ...good, extra: 1 }, doc)).not.toEqual([]);
		expect(validateJson(schema, { ...good, backup: { ok: "yes", ageHours: null } }, doc)).not.toEqual([]);
	});

	it("public: health, questionnaire, a submission, then the roles it created", async () => {
		await expectDescribed(await call("GET", "/api/health"), "get", "/api/health", 200);
		await expectDescribed(await call("GET", "/api/questionnaire"), "get", "/api/questionnaire", 200);
		const created = await expectDescribed<{ id: string }>(
			await call("POST", "/api/submissions", { json: { answers: validAnswers() } }),
			"post",
			"/api/submissions",
			201,
		);
		expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
		const { roles } = await expectDescribed<{ roles: unknown[] }>(await call("GET", "/api/roles"), "get", "/api/roles", 200);
		expect(roles.length).toBeGreaterThan(0);
	});

	it("errors: every refusal comes in the described envelope, with its status documented", async () => {
		const invalid = await expectDescribed<{ error: { code: string; fields: Record<string, string> } }>(
			await call("POST", "/api/submissions", { json: { answers: validAnswers({ satisfaction: 9 }) } }),
			"post",
			"/api/submissions",
			400,
		);
		expect(invalid.error.code).toBe("validation_failed");
		expect(Object.keys(invalid.error.fields)).toEqual(["satisfaction"]);
		await expectDescribed(await call("POST", "/api/submissions", { body: "x", headers: { "Content-Type": "text/plain" } }), "post", "/api/submissions", 415);
		await expectDescribed(await call("GET", "/api/admin/status"), "get", "/api/admin/status", 401);
		await expectDescribed(await call("GET", "/api/admin/submissions?limit=0", { admin: true }), "get", "/api/admin/submissions", 400);
		await expectDescribed(await call("GET", "/api/admin/backups/nope", { admin: true }), "get", "/api/admin/backups/{id}", 400);
		await expectDescribed(await call("GET", "/api/admin/backups/scheduled-2026-01-01", { admin: true }), "get", "/api/admin/backups/{id}", 404);
		await expectDescribed(await call("POST", "/api/admin/restore", { admin: true, body: "{", headers: { "Content-Type": "application/json" } }), "post", "/api/admin/restore", 400);
		await expectDescribed(await call("POST", "/api/admin/restore", { admin: true, body: "{}", headers: { "Content-Type": "text/plain" } }), "post", "/api/admin/restore", 415);
		await expectDescribed(await call("POST", "/api/admin/restore", { admin: true, json: { snapshotId: "2026-01-01T000000Z-none" } }), "post", "/api/admin/restore", 404);
		// The app's own 404 and 405 use the same envelope (the Error schema).
		for (const [res, status] of [[await call("GET", "/api/nope"), 404], [await call("PUT", "/api/health"), 405]] as const) {
			expect(res.status).toBe(status);
			expect(validateJson({ $ref: "#/components/schemas/Error" }, await res.json(), doc)).toEqual([]);
		}
	});

	it("admin roles: the list, an approval, a rename, a merge, and their refusals", async () => {
		await expectDescribed(await call("POST", "/api/submissions", { json: { answers: validAnswers({ role: "Plongeur" }) } }), "post", "/api/submissions", 201);
		await expectDescribed(await call("POST", "/api/submissions", { json: { answers: validAnswers({ role: "Plongeuse" }) } }), "post", "/api/submissions", 201);
		const listed = await expectDescribed<{ roles: { key: string }[] }>(await call("GET", "/api/admin/roles", { admin: true }), "get", "/api/admin/roles", 200);
		expect(listed.roles.map((r) => r.key)).toContain("plongeur");
		const path = "/api/admin/roles/{key}";
		await expectDescribed(await call("PATCH", "/api/admin/roles/plongeur", { admin: true, json: { approved: true } }), "patch", path, 200);
		await expectDescribed(await call("PATCH", "/api/admin/roles/plongeur", { admin: true, json: { label: "Plongeur·se" } }), "patch", path, 200);
		await expectDescribed(await call("PATCH", "/api/admin/roles/nobody", { admin: true, json: { approved: true } }), "patch", path, 404);
		await expectDescribed(await call("PATCH", "/api/admin/roles/plongeur", { admin: true, json: {} }), "patch", path, 400);
		await expectDescribed(await call("PATCH", "/api/admin/roles/plongeur", { admin: true, json: { approved: true } }), "patch", path, 409);
		await expectDescribed(await call("PATCH", "/api/admin/roles/plongeuse", { admin: true, body: "x", headers: { "Content-Type": "text/plain" } }), "patch", path, 415);
		const merge = "/api/admin/roles/{key}/merge";
		await expectDescribed(await call("POST", "/api/admin/roles/plongeuse/merge", { admin: true, json: { into: "plongeur·se" } }), "post", merge, 200);
		await expectDescribed(await call("POST", "/api/admin/roles/plongeuse/merge", { admin: true, json: { into: "nobody" } }), "post", merge, 400);
		await expectDescribed(await call("POST", "/api/admin/roles/nobody/merge", { admin: true, json: { into: "plongeuse" } }), "post", merge, 404);
		await expectDescribed(await call("GET", "/api/admin/roles"), "get", "/api/admin/roles", 401);
	});

	it("pages: the form's own post and its refusals are described as HTML", async () => {
		const res = await call("POST", "/", { body: "cafe=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
		expect(res.status).toBe(400);
		expect(doc.paths["/"]!.post!.responses["400"]!.content!["text/html"]).toBeDefined();
		expect(doc.paths["/"]!.post!.responses["429"]!.content!["text/html"]).toBeDefined();
		await res.arrayBuffer();
		const fields = new URLSearchParams({ cafe: "Le Zinc", ville: "Lyon", role: "Barista", satisfaction: "4", consentement: "true" });
		const done = await exports.default.fetch(`${BASE}/`, {
			method: "POST",
			headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": uniqueIp() },
			body: fields.toString(),
			redirect: "manual",
		});
		expect(done.status).toBe(303);
		expect(doc.paths["/"]!.post!.responses["303"]).toBeDefined();
		expect(doc.paths["/confidentialite"]!.get!.responses["200"]!.content!["text/html"]).toBeDefined();
	});

	it("admin: a backup started, its run, the snapshot list, the status, a dry-run restore and its report", async () => {
		await resetStorage();
		await insertMetadata();
		await insertSubmissions(30);
		// Start a backup and wait for its Workflow to finish.
		const introspector = await introspectWorkflow(env.BACKUP_WORKFLOW);
		let runId: string;
		try {
			await introspector.modifyAll(async (m) => m.disableRetryDelays());
			const started = await expectDescribed<{ id: string; statusUrl: string }>(
				await call("POST", "/api/admin/backups", { admin: true }),
				"post",
				"/api/admin/backups",
				202,
			);
			runId = started.id;
			for (const instance of await introspector.get()) await instance.waitForStatus("complete");
		} finally {
			await introspector.dispose();
		}
		const run = await expectDescribed<{ status: string; snapshotId: string }>(
			await call("GET", `/api/admin/backups/${runId}`, { admin: true }),
			"get",
			"/api/admin/backups/{id}",
			200,
		);
		expect(run.status).toBe("complete");

		const { snapshots } = await expectDescribed<{ snapshots: { id: string }[] }>(
			await call("GET", "/api/admin/snapshots", { admin: true }),
			"get",
			"/api/admin/snapshots",
			200,
		);
		expect(snapshots.map((s) => s.id)).toEqual([run.snapshotId]);

		const status = await expectDescribed<{ lastRun: unknown; newestSnapshot: unknown }>(
			await call("GET", "/api/admin/status", { admin: true }),
			"get",
			"/api/admin/status",
			200,
		);
		expect(status.lastRun).not.toBeNull();
		expect(status.newestSnapshot).not.toBeNull();

		const restore = await expectDescribed<{ id: string; mode: string; statusUrl: string }>(
			await call("POST", "/api/admin/restore", { admin: true, json: { snapshotId: run.snapshotId } }),
			"post",
			"/api/admin/restore",
			202,
		);
		expect(restore.mode).toBe("dry-run");
		{
			await using instance = await introspectWorkflowInstance(env.RESTORE_WORKFLOW, restore.id);
			await instance.waitForStatus("complete");
		}
		const report = await expectDescribed<{ status: string; report: unknown }>(
			await call("GET", restore.statusUrl, { admin: true }),
			"get",
			"/api/admin/restores/{id}",
			200,
		);
		expect(report.status).toBe("complete");
		expect(report.report).not.toBeNull();
		await expectDescribed(await call("GET", "/api/admin/restores", { admin: true }), "get", "/api/admin/restores", 200);
		await expectDescribed(await call("GET", "/api/admin/retention", { admin: true }), "get", "/api/admin/retention", 200);
		await expectDescribed(await call("GET", "/api/admin/submissions?limit=2", { admin: true }), "get", "/api/admin/submissions", 200);
		await expectDescribed(await call("POST", "/api/admin/restore/undo", { admin: true }), "post", "/api/admin/restore/undo", 404);
		await expectDescribed(await call("GET", "/api/admin/restore/undo", { admin: true }), "get", "/api/admin/restore/undo", 200);
	});
});
