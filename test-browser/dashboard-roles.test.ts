// The dashboard's roles card in chromium (approve, rename, merge, a refusal explained in French,
// and the form following at once), and its layout fixes: space between the cards, on a 360 px
// phone the backup button clear of the first label and a snapshot id on one line, a separator
// between "English" and "Se déconnecter".
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, localContext } from "./browser";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";

const baseUrl = inject("baseUrl");
const RESULTS = path.resolve(import.meta.dirname, "../test-results");
const AUTH = { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}` };
let browser: Browser;
let ip = 0;

/** One accepted form post, from a client address of its own (the rate limit is per address). */
async function submit(role: string, cafe: string): Promise<void> {
	const body = new URLSearchParams({ cafe, ville: "Arbois", role, satisfaction: "4", consentement: "true" });
	const res = await fetch(`${baseUrl}/`, {
		method: "POST",
		headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": `203.0.113.${++ip}` },
		body,
		redirect: "manual",
	});
	expect(res.status, `${role} ${cafe}`).toBe(303);
}

/** The role names the form offers right now. */
async function offered(): Promise<string[]> {
	const html = await (await fetch(`${baseUrl}/`)).text();
	return [...html.matchAll(/<option value="([^"]*)"><\/option>/g)].map((m) => m[1]!.replace(/&#39;/g, "'"));
}

async function openDashboard(viewport: { width: number; height: number }): Promise<{ page: Page; errors: string[] }> {
	const context = await localContext(browser, { viewport });
	const page = await context.newPage();
	const errors: string[] = [];
	page.on("pageerror", (e) => errors.push(e.message));
	page.on("dialog", (d) => void d.accept());
	await page.goto(`${baseUrl}/admin/`);
	await page.fill("#token", BROWSER_TEST_ADMIN_TOKEN);
	await page.click("#login button[type=submit]");
	await expect.poll(() => page.locator("#roles table").isVisible(), { timeout: 30_000 }).toBe(true);
	return { page, errors };
}

const row = (page: Page, label: string) => page.locator("#roles tbody tr", { has: page.locator(`th:text-is("${label}")`) });

beforeAll(async () => {
	browser = await launchChromium();
	for (const cafe of ["Café Alpha", "Café Beta", "Café Gamma"]) await submit("Plongeur navigateur", cafe);
	await submit("Commis navigateur", "Café Delta");
	await submit("Aide plonge navigateur", "Café Epsilon");
});

afterAll(async () => {
	await browser?.close();
});

describe("the roles card", () => {
	it("says the rule, which roles are offered and why; approve, rename, merge; the form follows", async () => {
		const { page, errors } = await openDashboard({ width: 1100, height: 900 });
		await expect(page.locator("#roles-rule").innerText()).resolves.toMatch(/qu'une fois utilisé par 3 répondants différents, ou si vous l'approuvez/);
		await expect(row(page, "Plongeur navigateur").locator("td").nth(2).innerText()).resolves.toBe("oui, assez de répondants");
		await expect(row(page, "Commis navigateur").locator("td").nth(2).innerText()).resolves.toBe("non");
		await expect(row(page, "Gérant·e").locator("td").nth(2).innerText()).resolves.toBe("oui, prévu par le questionnaire");
		expect(await offered()).toContain("Plongeur navigateur");
		expect(await offered()).not.toContain("Commis navigateur");

		// Approve: offered at once.
		await row(page, "Commis navigateur").getByRole("button", { name: "Approuver" }).click();
		await expect.poll(() => page.locator("#roles-flash").innerText()).toBe("« Commis navigateur » est approuvé : il est proposé aux répondants.");
		await expect(row(page, "Commis navigateur").locator("td").nth(2).innerText()).resolves.toBe("oui, approuvé");
		expect(await offered()).toContain("Commis navigateur");

		// A name another role has: refused, explained in French, nothing changed.
		await row(page, "Commis navigateur").getByRole("button", { name: "Renommer…" }).click();
		await page.getByLabel("Nouveau nom de « Commis navigateur »").fill("plongeur NAVIGATEUR");
		await page.getByRole("button", { name: "Enregistrer" }).click();
		await expect.poll(() => page.locator("#roles-flash").innerText()).toBe("Un autre rôle porte déjà ce nom : fusionnez plutôt ce rôle dans celui-là.");
		await expect(page.locator("#roles-flash").getAttribute("class")).resolves.toContain("error");
		await page.getByRole("button", { name: "Annuler", exact: true }).click();

		// Rename, then merge into "Plongeur navigateur".
		await row(page, "Aide plonge navigateur").getByRole("button", { name: "Renommer…" }).click();
		await page.getByLabel("Nouveau nom de « Aide plonge navigateur »").fill("Aide-plongeur navigateur");
		await page.getByRole("button", { name: "Enregistrer" }).click();
		await expect.poll(() => page.locator("#roles-flash").innerText()).toBe("« Aide plonge navigateur » s'appelle maintenant « Aide-plongeur navigateur ».");
		await row(page, "Aide-plongeur navigateur").first().getByRole("button", { name: "Fusionner dans…" }).click();
		await page.getByLabel("Fusionner « Aide-plongeur navigateur » dans").selectOption({ label: "Plongeur navigateur" });
		await page.getByRole("button", { name: "Fusionner", exact: true }).click();
		await expect.poll(() => page.locator("#roles-flash").innerText()).toBe("« Aide-plongeur navigateur » est fusionné dans « Plongeur navigateur ».");
		await expect(row(page, "Plongeur navigateur").first().locator("td").first().innerText()).resolves.toBe("4");
		await expect(page.locator("#roles tr.merged").first().innerText()).resolves.toMatch(/fusionné dans « Plongeur navigateur »/);
		expect(await offered()).not.toContain("Aide-plongeur navigateur");
		expect(errors).toEqual([]);
		await page.context().close();
	});
});

describe("dashboard layout", () => {
	beforeAll(async () => {
		// A snapshot in the list, for the id check on the phone.
		const res = await fetch(`${baseUrl}/api/admin/backups`, { method: "POST", headers: AUTH });
		const { statusUrl } = (await res.json()) as { statusUrl: string };
		for (let i = 0; i < 120; i++) {
			const { status } = (await (await fetch(`${baseUrl}${statusUrl}`, { headers: AUTH })).json()) as { status: string };
			if (status === "complete") return;
			if (status === "failed") throw new Error("the backup of the layout tests failed");
			await new Promise((r) => setTimeout(r, 500));
		}
		throw new Error("the backup of the layout tests did not finish");
	});

	it("leaves space between the cards and separates 'English' from 'Se déconnecter'", async () => {
		const { page } = await openDashboard({ width: 1100, height: 900 });
		const boxes = await page.locator("#app > section.card:visible").evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => ({ top: r.top, bottom: r.bottom })));
		expect(boxes.length).toBeGreaterThan(3);
		for (let i = 1; i < boxes.length; i++) expect(boxes[i]!.top - boxes[i - 1]!.bottom, `gap before card ${i}`).toBeGreaterThanOrEqual(12);
		const sep = await page.evaluate(() => {
			const english = Array.from(document.querySelectorAll(".top nav a")).find((a) => a.textContent === "English")!.getBoundingClientRect();
			const logout = document.getElementById("logout")!;
			const style = getComputedStyle(logout);
			return { gap: logout.getBoundingClientRect().left - english.right, border: parseFloat(style.borderLeftWidth), text: logout.textContent };
		});
		expect(sep.text).toBe("Se déconnecter");
		expect(sep.border).toBeGreaterThanOrEqual(1);
		expect(sep.gap).toBeGreaterThanOrEqual(8);
		await page.context().close();
	});

	it("on a 360 px phone: the backup button clear of the first label, a snapshot id on one line", async () => {
		const { page } = await openDashboard({ width: 360, height: 740 });
		await expect.poll(() => page.locator("#snapshots tbody tr").count(), { timeout: 30_000 }).toBeGreaterThan(0);
		const clearance = await page.evaluate(() => {
			const button = document.getElementById("backup-now")!.getBoundingClientRect();
			const firstLabel = document.querySelector("#status dt")!.getBoundingClientRect();
			return firstLabel.top - button.bottom;
		});
		expect(clearance).toBeGreaterThanOrEqual(8);
		const id = await page.locator("#snapshots tbody tr").first().locator("code").evaluate((el) => {
			const lineHeight = parseFloat(getComputedStyle(el).lineHeight) || parseFloat(getComputedStyle(el).fontSize) * 1.5;
			return { lines: Math.round(el.getBoundingClientRect().height / lineHeight), text: el.textContent };
		});
		expect(id.text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{6}Z-/);
		expect(id.lines).toBe(1);
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
		expect(overflow).toBeLessThanOrEqual(0);
		mkdirSync(RESULTS, { recursive: true });
		await page.screenshot({ path: path.join(RESULTS, "dashboard-roles-360.png"), fullPage: true });
		await page.context().close();
	});
});
