import { exports } from "cloudflare:workers";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("GET /api/health", () => {
	it("answers ok and the version, nothing else", async () => {
		const res = await exports.default.fetch("http://example.com/api/health");
		expect(res.status).toBe(200);
		const body = await res.json();
		expect(Object.keys(body as object).sort()).toEqual(["backup", "ok", "version"]);
	});

	it("has the schema applied to local D1", async () => {
		const { results } = await env.DB.prepare(
			"SELECT name FROM sqlite_master WHERE type='table' AND name='submissions'",
		).all();
		expect(results).toHaveLength(1);
	});

	it("unknown paths get the JSON error envelope", async () => {
		const res = await exports.default.fetch("http://example.com/api/nope");
		expect(res.status).toBe(404);
		expect(await res.json()).toEqual({ error: { code: "not_found", message: "No such resource." } });
	});
});
