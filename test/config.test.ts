// Configuration parsing (src/config.ts): every bad variable is named in one message, and
// variables that only make sense together are checked together.
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import devVarsExample from "../.dev.vars.example?raw";
import { ADMIN_TOKEN_PLACEHOLDER, ConfigError, parseConfig } from "../src/config";
import { app } from "../src/http/app";

const TOKEN = "a-valid-admin-token-0123456789";

function problemsOf(vars: Record<string, unknown>): Record<string, string> {
	try {
		parseConfig(vars);
	} catch (err) {
		expect(err).toBeInstanceOf(ConfigError);
		return (err as ConfigError).problems;
	}
	throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
	it("accepts the minimum (a token) and fills the defaults", () => {
		const config = parseConfig({ ADMIN_TOKEN: TOKEN });
		expect(config).toMatchObject({ LOCALE: "fr", KEEP_DAILY: 30, BACKUP_MAX_AGE_HOURS: 26, ADMIN_EMAIL: [] });
		expect(config.TURNSTILE_SECRET).toBeUndefined();
	});

	it("names every bad variable at once, without echoing their values", () => {
		const err = (() => {
			try {
				parseConfig({
					ADMIN_TOKEN: "short-secret",
					LOCALE: "de",
					KEEP_DAILY: "thirty",
					WEBHOOK_URL: "ftp://hooks.example/x",
					ADMIN_EMAIL: "ok@example.com, not-an-address",
				});
			} catch (e) {
				return e as ConfigError;
			}
			throw new Error("expected a ConfigError");
		})();
		expect(Object.keys(err.problems).sort()).toEqual(["ADMIN_EMAIL", "ADMIN_TOKEN", "KEEP_DAILY", "LOCALE", "WEBHOOK_URL"]);
		for (const name of Object.keys(err.problems)) expect(err.message).toContain(name);
		expect(err.message).not.toContain("short-secret");
		expect(err.message).not.toContain("not-an-address");
	});

	it("CLOUDFLARE_PLAN is free by default, accepts paid, and names anything else", () => {
		expect(parseConfig({ ADMIN_TOKEN: TOKEN }).CLOUDFLARE_PLAN).toBe("free");
		expect(parseConfig({ ADMIN_TOKEN: TOKEN, CLOUDFLARE_PLAN: " Paid " }).CLOUDFLARE_PLAN).toBe("paid");
		expect(problemsOf({ ADMIN_TOKEN: TOKEN, CLOUDFLARE_PLAN: "business" })).toEqual({ CLOUDFLARE_PLAN: expect.stringMatching(/"free" or "paid"/) });
	});

	it("SCHEDULE_BACKUP must be a cron expression (a schedule that never fires would mean no backup)", () => {
		expect(parseConfig({ ADMIN_TOKEN: TOKEN }).SCHEDULE_BACKUP).toBe("0 2 * * *");
		expect(parseConfig({ ADMIN_TOKEN: TOKEN, SCHEDULE_BACKUP: "30 4 * * *" }).SCHEDULE_BACKUP).toBe("30 4 * * *");
		for (const bad of ["every night", "0 25 * * *", "0 2 * *"]) {
			expect(problemsOf({ ADMIN_TOKEN: TOKEN, SCHEDULE_BACKUP: bad })).toEqual({ SCHEDULE_BACKUP: expect.stringMatching(/cron expression/) });
		}
	});

	it("a missing ADMIN_TOKEN says how to set it", () => {
		expect(problemsOf({}).ADMIN_TOKEN).toMatch(/wrangler secret put ADMIN_TOKEN/);
	});

	it("refuses the placeholder token of .dev.vars.example, naming ADMIN_TOKEN", () => {
		const placeholder = /^ADMIN_TOKEN=(.*)$/m.exec(devVarsExample)![1]!.trim();
		expect(placeholder).toBe(ADMIN_TOKEN_PLACEHOLDER);
		for (const token of [placeholder, ` ${placeholder} `]) {
			let err: unknown;
			try {
				parseConfig({ ADMIN_TOKEN: token });
			} catch (e) {
				err = e;
			}
			expect(err).toBeInstanceOf(ConfigError);
			expect((err as ConfigError).message).toMatch(/^Invalid configuration: ADMIN_TOKEN is still the placeholder of \.dev\.vars\.example/);
			expect(Object.keys((err as ConfigError).problems)).toEqual(["ADMIN_TOKEN"]);
		}
		// A real token of the same length is fine.
		expect(parseConfig({ ADMIN_TOKEN: "x".repeat(placeholder.length) }).ADMIN_TOKEN).toHaveLength(placeholder.length);
	});

	it("TIMEZONE: Europe/Paris by default, any IANA zone, a wrong one named", () => {
		expect(parseConfig({ ADMIN_TOKEN: TOKEN }).TIMEZONE).toBe("Europe/Paris");
		expect(parseConfig({ ADMIN_TOKEN: TOKEN, TIMEZONE: " America/Cayenne " }).TIMEZONE).toBe("America/Cayenne");
		expect(parseConfig({ ADMIN_TOKEN: TOKEN, TIMEZONE: "" }).TIMEZONE).toBe("Europe/Paris");
		expect(problemsOf({ ADMIN_TOKEN: TOKEN, TIMEZONE: "Europe/Lutece" })).toEqual({
			TIMEZONE: expect.stringMatching(/IANA time zone/),
		});
	});

	it("TURNSTILE_SECRET without TURNSTILE_SITE_KEY names the site key (every form post would fail)", () => {
		expect(problemsOf({ ADMIN_TOKEN: TOKEN, TURNSTILE_SECRET: "0x4AAA-secret" })).toEqual({
			TURNSTILE_SITE_KEY: expect.stringMatching(/required when TURNSTILE_SECRET is set/),
		});
		expect(problemsOf({ ADMIN_TOKEN: TOKEN, TURNSTILE_SECRET: "s", TURNSTILE_SITE_KEY: "  " })).toHaveProperty("TURNSTILE_SITE_KEY");
		// Reported beside the other problems, not instead of them.
		expect(Object.keys(problemsOf({ ADMIN_TOKEN: "x", TURNSTILE_SECRET: "s" })).sort()).toEqual(["ADMIN_TOKEN", "TURNSTILE_SITE_KEY"]);
		// Both set, or neither: fine.
		expect(parseConfig({ ADMIN_TOKEN: TOKEN, TURNSTILE_SECRET: "s", TURNSTILE_SITE_KEY: "k" }).TURNSTILE_SITE_KEY).toBe("k");
	});

	it("the running Worker answers a JSON 500 naming the variable", async () => {
		const ctx = createExecutionContext();
		const res = await app.fetch(new Request("http://example.com/api/health"), { ...env, TURNSTILE_SECRET: "s" }, ctx);
		await waitOnExecutionContext(ctx);
		expect(res.status).toBe(500);
		const body = (await res.json()) as { error: { code: string; message: string } };
		expect(body.error.code).toBe("config_invalid");
		expect(body.error.message).toContain("TURNSTILE_SITE_KEY");
		// The test environment itself is valid.
		expect((await exports.default.fetch("http://example.com/api/health")).status).toBe(200);
	});
});
