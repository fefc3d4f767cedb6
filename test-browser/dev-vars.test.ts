// `npm start`'s token (scripts/dev-vars.mjs): a .dev.vars copied from .dev.vars.example keeps a
// placeholder the Worker refuses (src/config.ts), so it is replaced by a random token; a real
// token is never touched.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureAdminToken, readAdminToken } from "../scripts/dev-vars.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const EXAMPLE = path.join(ROOT, ".dev.vars.example");
const work = mkdtempSync(path.join(tmpdir(), "dev-vars-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
const file = (text?: string) => {
	const f = path.join(work, `vars-${n++}`);
	if (text !== undefined) writeFileSync(f, text);
	return f;
};
const token = () => "fresh-random-token-0123456789abcdef";

describe("ensureAdminToken", () => {
	it("creates .dev.vars with a token when there is none", () => {
		const f = file();
		expect(ensureAdminToken(f, EXAMPLE, token)).toBe(token());
		expect(readFileSync(f, "utf8")).toBe(`ADMIN_TOKEN=${token()}\n`);
	});

	it("replaces the placeholder of a copied .dev.vars.example, keeping every other line", () => {
		const example = readFileSync(EXAMPLE, "utf8");
		const placeholder = readAdminToken(example);
		expect(placeholder).toMatch(/^change-me/);
		const f = file(`${example}LOCALE=en\n`);
		expect(ensureAdminToken(f, EXAMPLE, token)).toBe(token());
		const after = readFileSync(f, "utf8");
		expect(readAdminToken(after)).toBe(token());
		expect(after).not.toContain(placeholder);
		expect(after).toBe(`${example}LOCALE=en\n`.replace(`ADMIN_TOKEN=${placeholder}`, `ADMIN_TOKEN=${token()}`));
	});

	it("adds a line when the file has other variables only, or an empty token", () => {
		const f = file("LOCALE=en");
		ensureAdminToken(f, EXAMPLE, token);
		expect(readFileSync(f, "utf8")).toBe(`LOCALE=en\nADMIN_TOKEN=${token()}\n`);
		const g = file('ADMIN_TOKEN=""\nLOCALE=en\n');
		ensureAdminToken(g, EXAMPLE, token);
		expect(readFileSync(g, "utf8")).toBe(`ADMIN_TOKEN=${token()}\nLOCALE=en\n`);
	});

	it("never touches a real token, quoted or not", () => {
		for (const text of ["ADMIN_TOKEN=my-own-long-token-0123456789\n", 'ADMIN_TOKEN = "my-own-long-token-0123456789"\n']) {
			const f = file(text);
			expect(ensureAdminToken(f, EXAMPLE, token)).toBeUndefined();
			expect(readFileSync(f, "utf8")).toBe(text);
		}
	});
});
