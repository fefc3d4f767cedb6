// The questionnaire in a real browser (Debian's chromium): submit, errors and focus, no JavaScript,
// and a 360 px wide phone layout (screenshots saved under test-results/ for a human to look at).
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, localContext } from "./browser";
import { sql } from "./local-d1";

const baseUrl = inject("baseUrl");
const RESULTS = path.resolve(import.meta.dirname, "../test-results");
const PHONE = { width: 360, height: 740 };

let browser: Browser;

beforeAll(async () => {
	mkdirSync(RESULTS, { recursive: true });
	browser = await launchChromium();
});

afterAll(async () => {
	await browser?.close();
});

/** Rows whose answers name this café (each test uses its own café name). */
function countFor(cafe: string): number {
	const quoted = cafe.replaceAll("'", "''");
	const rows = sql(`SELECT COUNT(*) AS n FROM submissions WHERE json_extract(answers, '$.cafe') = '${quoted}'`);
	return Number(rows[0]?.n);
}

async function newPage(options: { javaScriptEnabled?: boolean } = {}): Promise<Page> {
	const context = await localContext(browser, { viewport: PHONE, ...options });
	return context.newPage();
}

/** Wait until the browser has rendered twice: autofocus and deferred scripts have run by then. */
async function settled(page: Page): Promise<void> {
	await page.waitForLoadState("load");
	await page.evaluate(
		() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))),
	);
}

async function fillValid(page: Page, cafe: string): Promise<void> {
	await page.fill("#q-cafe", cafe);
	await page.fill("#q-ville", "Besançon");
	await page.fill("#q-role", "Gérante");
	await page.check("#q-frequence-2");
	await page.check("#q-activites-1");
	await page.check("#q-activites-3");
	await page.check("#q-satisfaction-4");
	await page.fill("#q-commentaire", "Très bonne collaboration avec l’équipe.");
	await page.check("#q-consentement");
}

describe("the questionnaire in chromium", () => {
	it("is filled in, submitted, confirmed, and stored in D1", async () => {
		const page = await newPage();
		// Nothing on the way may be blocked by the Content-Security-Policy or fail to load.
		const consoleErrors: string[] = [];
		page.on("console", (m) => void (m.type() === "error" && consoleErrors.push(m.text())));
		const cafe = "Café du Commerce (navigateur)";
		await page.goto(`${baseUrl}/`);
		await fillValid(page, cafe);
		await Promise.all([page.waitForURL(/\/merci/), page.click("button[type=submit]")]);
		await expect(page.locator("h1").textContent()).resolves.toBe("Merci !");
		expect(countFor(cafe)).toBe(1);
		await page.screenshot({ path: path.join(RESULTS, "merci-360.png"), fullPage: true });
		// One respondent's free text is not offered to the next one (ROLE_SUGGEST_MIN_USES, docs/page.md);
		// the questionnaire's own roles are.
		await page.goto(`${baseUrl}/`);
		await expect(page.locator('#q-role-list option[value="Gérante"]').count()).resolves.toBe(0);
		await expect(page.locator('#q-role-list option[value="Gérant·e"]').count()).resolves.toBe(1);
		expect(consoleErrors).toEqual([]);
		await page.context().close();
	});

	it("shows errors next to the fields, keeps the input, focuses the first error, stores nothing", async () => {
		const page = await newPage();
		await page.goto(`${baseUrl}/`);
		await page.fill("#q-ville", "Dole");
		await page.fill("#q-role", "Serveur");
		await page.check("#q-activites-2");
		await page.fill("#q-commentaire", "Texte gardé <b>tel quel</b>");
		await page.check("#q-consentement");
		await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
		await settled(page);
		// The refused post is answered at the form's own address, never an API path.
		expect(new URL(page.url()).pathname).toBe("/");
		// Errors next to the missing required fields, each announced through aria-describedby.
		await expect(page.locator("#q-cafe-error").isVisible()).resolves.toBe(true);
		await expect(page.locator("#q-satisfaction-error").isVisible()).resolves.toBe(true);
		await expect(page.locator("#q-cafe").getAttribute("aria-invalid")).resolves.toBe("true");
		await expect(page.locator("#q-cafe").getAttribute("aria-describedby")).resolves.toContain("q-cafe-error");
		await expect(page.locator("#q-ville").getAttribute("aria-invalid")).resolves.toBeNull();
		await expect(page.locator(".error-summary a").count()).resolves.toBe(2);
		// What was typed is still there.
		await expect(page.inputValue("#q-ville")).resolves.toBe("Dole");
		await expect(page.inputValue("#q-role")).resolves.toBe("Serveur");
		await expect(page.inputValue("#q-commentaire")).resolves.toBe("Texte gardé <b>tel quel</b>");
		await expect(page.isChecked("#q-activites-2")).resolves.toBe(true);
		await expect(page.isChecked("#q-consentement")).resolves.toBe(true);
		// Focus is on the first field in error.
		await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe("q-cafe");
		// A summary link moves to its field.
		await page.click('.error-summary a[href="#q-satisfaction-1"]');
		await expect(page.evaluate(() => location.hash)).resolves.toBe("#q-satisfaction-1");
		await page.screenshot({ path: path.join(RESULTS, "form-360-errors.png"), fullPage: true });
		expect(Number(sql("SELECT COUNT(*) AS n FROM submissions WHERE json_extract(answers, '$.ville') = 'Dole'")[0]?.n)).toBe(0);
		await page.context().close();
	});

	it("works with JavaScript disabled: errors focus the summary, then a valid post is stored", async () => {
		const page = await newPage({ javaScriptEnabled: false });
		const cafe = "Le Bistrot sans JS";
		await page.goto(`${baseUrl}/`);
		await page.fill("#q-cafe", cafe);
		await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
		await page.waitForLoadState("load");
		expect(new URL(page.url()).pathname).toBe("/");
		await expect(page.locator(".error-summary").isVisible()).resolves.toBe(true);
		await expect(page.inputValue("#q-cafe")).resolves.toBe(cafe);
		await expect(
			page.locator(".error-summary").evaluate((el) => el === document.activeElement),
		).resolves.toBe(true);
		expect(countFor(cafe)).toBe(0);
		await fillValid(page, cafe);
		await Promise.all([page.waitForURL(/\/merci/), page.click("button[type=submit]")]);
		await expect(page.locator("h1").textContent()).resolves.toBe("Merci !");
		expect(countFor(cafe)).toBe(1);
		await page.context().close();
	});

	it("fits a 360 px wide phone with large tap targets", async () => {
		const page = await newPage();
		await page.goto(`${baseUrl}/`);
		await settled(page);
		await page.screenshot({ path: path.join(RESULTS, "form-360.png"), fullPage: true });
		// No horizontal scrolling.
		await expect(page.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(PHONE.width);
		// Every tappable thing is at least 44 px high (WCAG 2.5.5 target size).
		const heights = await page.$$eval("main .option, main input[type=text], main input[type=email], main textarea, main button", (els) =>
			els.map((el) => ({ what: el.id || el.className || el.tagName, h: el.getBoundingClientRect().height })),
		);
		expect(heights.length).toBeGreaterThan(15);
		for (const { what, h } of heights) expect(h, what).toBeGreaterThanOrEqual(44);
		// Body text stays readable.
		await expect(page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize))).resolves.toBeGreaterThanOrEqual(16);
		await page.context().close();
	});
});
