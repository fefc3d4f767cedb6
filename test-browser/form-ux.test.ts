// The respondent's experience in chromium (issue 13): a refused post keeps everything typed at the
// form's own address (the rate limit too, saying how long to wait), a mistyped address is a page
// in the respondent's language, and every visible text of the French pages is French (from the
// catalogue). Screenshots of the form (desktop, phone) and of the success and failure e-mails go to
// test-results/, and to docs/screenshots/ with UPDATE_SCREENSHOTS=1.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, localContext } from "./browser";
import { buildFrenchCatalogue, collectVisibleTexts, findForeignTexts } from "./french-catalogue";

const baseUrl = inject("baseUrl");
const RESULTS = path.resolve(import.meta.dirname, "../test-results");
const DOCS = path.resolve(import.meta.dirname, "../docs/screenshots");
const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 900 };

let browser: Browser;
let ipCounter = 0;

beforeAll(async () => {
	mkdirSync(RESULTS, { recursive: true });
	if (process.env.UPDATE_SCREENSHOTS === "1") mkdirSync(DOCS, { recursive: true });
	browser = await launchChromium();
});

afterAll(async () => {
	await browser?.close();
});

/** A page whose posts count against a rate-limit bucket of its own (its own client address). */
async function newPage(options: BrowserContextOptions = {}): Promise<Page> {
	const ip = `198.51.100.${100 + (ipCounter++ % 100)}`;
	const context = await localContext(browser, { viewport: PHONE, extraHTTPHeaders: { "CF-Connecting-IP": ip }, ...options });
	return context.newPage();
}

/** Save a screenshot under test-results/, and under docs/screenshots/ when asked to. */
async function shoot(page: Page, name: string): Promise<void> {
	await page.screenshot({ path: path.join(RESULTS, name), fullPage: true });
	if (process.env.UPDATE_SCREENSHOTS === "1") await page.screenshot({ path: path.join(DOCS, name), fullPage: true });
}

/** Everything the tests type, so that they can check it is all still there after a refusal. */
async function fillAllButSatisfaction(page: Page): Promise<void> {
	await page.fill("#q-cafe", "Le Zinc d’en face");
	await page.fill("#q-ville", "Besançon");
	await page.fill("#q-role", "Plongeur");
	await page.check("#q-frequence-3");
	await page.check("#q-activites-3");
	await page.check("#q-activites-5");
	await page.fill("#q-commentaire", "Une équipe formidable, merci !");
	await page.fill("#q-email", "zinc@example.org");
	await page.check("#q-consentement");
}

async function expectAllKept(page: Page): Promise<void> {
	await expect(page.inputValue("#q-cafe")).resolves.toBe("Le Zinc d’en face");
	await expect(page.inputValue("#q-ville")).resolves.toBe("Besançon");
	await expect(page.inputValue("#q-role")).resolves.toBe("Plongeur");
	await expect(page.isChecked("#q-frequence-3")).resolves.toBe(true);
	await expect(page.isChecked("#q-activites-3")).resolves.toBe(true);
	await expect(page.isChecked("#q-activites-5")).resolves.toBe(true);
	await expect(page.inputValue("#q-commentaire")).resolves.toBe("Une équipe formidable, merci !");
	await expect(page.inputValue("#q-email")).resolves.toBe("zinc@example.org");
	await expect(page.isChecked("#q-consentement")).resolves.toBe(true);
}

async function submit(page: Page): Promise<number> {
	const [response] = await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
	return response?.status() ?? 0;
}

describe("a refused post, in chromium", () => {
	it("comes back at the form's own address with everything typed, and the summary names questions briefly", async () => {
		const page = await newPage();
		await page.goto(`${baseUrl}/`);
		await fillAllButSatisfaction(page);
		await page.uncheck("#q-consentement");
		expect(await submit(page)).toBe(400);
		expect(new URL(page.url()).pathname).toBe("/");
		await expect(page.locator(".error-summary li").allInnerTexts()).resolves.toEqual([
			"Satisfaction\u202f: Ce champ est obligatoire.",
			"Consentement\u202f: Cochez cette case pour pouvoir envoyer vos réponses.",
		]);
		await page.context().close();
	});

	it("past the rate limit (429): every value kept, and how long to wait, in French", async () => {
		const page = await newPage();
		await page.goto(`${baseUrl}/`);
		await fillAllButSatisfaction(page);
		// Each refused post counts: the 11th in a minute is over the limit (10 a minute per address).
		let status = 0;
		for (let i = 0; i < 21 && status !== 429; i++) {
			status = await submit(page);
			expect([400, 429]).toContain(status);
			expect(new URL(page.url()).pathname).toBe("/");
		}
		expect(status).toBe(429);
		await expect(page.locator(".error-summary .form-error").innerText()).resolves.toBe(
			"Trop d’envois en peu de temps depuis cette connexion. Attendez 1 minute, puis renvoyez : vos réponses sont conservées ci-dessous.",
		);
		await expectAllKept(page);
		await shoot(page, "form-429-phone.png");
		await page.context().close();
	});
});

describe("a mistyped address, in chromium", () => {
	it("is a page in French, or in English for an English browser, leading to the form", async () => {
		const page = await newPage();
		const res = await page.goto(`${baseUrl}/questionaire`);
		expect(res?.status()).toBe(404);
		await expect(page.locator("h1").innerText()).resolves.toBe("Page introuvable");
		await Promise.all([page.waitForNavigation(), page.click("text=Aller au questionnaire")]);
		expect(new URL(page.url()).pathname).toBe("/");
		await page.context().close();

		const en = await newPage({ locale: "en-GB" });
		const enRes = await en.goto(`${baseUrl}/questionaire`);
		expect(enRes?.status()).toBe(404);
		await expect(en.locator("h1").innerText()).resolves.toBe("Page not found");
		await en.context().close();
	});
});

describe("French pages show only French", () => {
	const catalogue = buildFrenchCatalogue();
	const CONTACT = ["questionnaire@cap-formations.test"];

	it("the check itself finds English put into a French page", async () => {
		const page = await newPage();
		await page.goto(`${baseUrl}/`);
		await page.evaluate(() => {
			const p = document.createElement("p");
			p.textContent = "Send my answers";
			document.querySelector("main")!.append(p);
		});
		expect(findForeignTexts(await collectVisibleTexts(page), catalogue, CONTACT)).toEqual(["Send my answers"]);
		// And an English page is all foreign to the French catalogue.
		await page.goto(`${baseUrl}/?lang=en`);
		expect(findForeignTexts(await collectVisibleTexts(page), catalogue, CONTACT).length).toBeGreaterThan(10);
		await page.context().close();
	});

	it("the form, its errors, the rate limit, the confirmation, 'your data' and the 404 page", async () => {
		const page = await newPage();
		const seen: Record<string, string[]> = {};
		const check = async (name: string) => {
			seen[name] = findForeignTexts(await collectVisibleTexts(page), catalogue, CONTACT);
		};
		await page.goto(`${baseUrl}/`);
		await check("form");
		await page.fill("#q-email", "pas-une-adresse");
		await page.fill("#q-commentaire", "Texte saisi, montré tel quel (not checked): anything typed is the respondent's");
		expect(await submit(page)).toBe(400);
		await check("form with errors");
		for (let i = 0; i < 21; i++) if ((await submit(page)) === 429) break;
		await check("rate limit");
		await page.goto(`${baseUrl}/merci`);
		await check("confirmation");
		await page.goto(`${baseUrl}/confidentialite`);
		await check("your data");
		await page.goto(`${baseUrl}/nulle-part`);
		await check("404");
		expect(seen).toEqual({ form: [], "form with errors": [], "rate limit": [], confirmation: [], "your data": [], "404": [] });
		await page.context().close();
	});
});

describe("screenshots", () => {
	it("the form on a desktop and on a 360 px phone", async () => {
		const desktop = await newPage({ viewport: DESKTOP });
		await desktop.goto(`${baseUrl}/`);
		await shoot(desktop, "form-desktop.png");
		await desktop.context().close();
		const phone = await newPage();
		await phone.goto(`${baseUrl}/`);
		await shoot(phone, "form-phone.png");
		await expect(phone.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(PHONE.width);
		await phone.context().close();
	});

	it("the success and failure e-mails, rendered as their HTML is", async () => {
		// Loaded by path: the templates are the Worker's own, pure module (their types pull in the
		// Worker's Env, which this Node project does not declare).
		const templates = path.resolve(import.meta.dirname, "../src/notify/templates.ts");
		const { renderEvent } = (await import(templates)) as {
			renderEvent: (event: unknown, locale: "fr" | "en", ctx: { timeZone: string; dashboardUrl?: string }) => { subject: string; html: string };
		};
		const ctx = { timeZone: "Europe/Paris", dashboardUrl: "https://questionnaire.cap-formations.example/admin/" };
		// The verdict line the notices start with, from the Worker's own rules (src/monitor/verdict.ts).
		const { buildVerdict } = (await import(path.resolve(import.meta.dirname, "../src/monitor/verdict.ts"))) as {
			buildVerdict: (input: unknown) => unknown;
		};
		const channels = [{ channel: "resend", configured: true, health: "ok", lastAttemptAt: "2026-11-24T02:00:05Z" }];
		const common = { timeZone: "Europe/Paris", thresholdHours: 26, stale: false, oldestFinishedAt: "2026-10-27T02:00:04Z", channels, signing: { configured: true } };
		const verification = { status: "ok", finishedAt: "2026-11-22T03:10:00Z", snapshotsCorrupt: 0, drillStatus: "ok" };
		const okVerdict = buildVerdict({
			...common,
			now: "2026-11-25T02:00:05Z",
			lastRun: { status: "complete", startedAt: "2026-11-25T02:00:00Z", finishedAt: "2026-11-25T02:00:04Z" },
			newestSnapshot: { finishedAt: "2026-11-25T02:00:04Z" },
			verification,
		});
		const failedVerdict = buildVerdict({
			...common,
			now: "2026-11-26T02:10:00Z",
			lastRun: { status: "failed", startedAt: "2026-11-26T02:00:00Z", finishedAt: "2026-11-26T02:09:00Z" },
			newestSnapshot: { finishedAt: "2026-11-25T02:00:04Z" },
			verification,
		});
		const success = renderEvent(
			{
				type: "backup_succeeded",
				runId: "scheduled-2026-11-25",
				trigger: "scheduled",
				snapshotId: "2026-11-25T020000Z-k3x9q2",
				startedAt: "2026-11-25T02:00:00Z",
				tables: { submissions: 148, roles: 12, counters: 30, erasures: 1, erased_submissions: 1, audit_log: 4, backup_runs: 31 },
				previousTables: { submissions: 145, roles: 11, counters: 29, erasures: 1, erased_submissions: 1, audit_log: 4, backup_runs: 30 },
				newSubmissions: 3,
				bytes: 96_400,
				durationMs: 4_200,
				retention: { kept: 30, removed: 1, frozen: false },
				verdict: okVerdict,
			},
			"fr",
			ctx,
		);
		const failure = renderEvent(
			{
				type: "backup_failed",
				runId: "scheduled-2026-11-26",
				trigger: "scheduled",
				stage: "export",
				error: "Error: put: Unspecified error (0)",
				attempt: 3,
				at: "2026-11-26T02:00:00Z",
				lastGood: { finishedAt: "2026-11-25T02:00:04Z", submissions: 148 },
				verdict: failedVerdict,
			},
			"fr",
			ctx,
		);
		const page = await newPage({ viewport: { width: 720, height: 600 } });
		for (const [name, mail] of [["email-success.png", success], ["email-failure.png", failure]] as const) {
			// The subject as a mail client shows it, above the message.
			await page.setContent(mail.html);
			await page.evaluate((subject) => {
				const bar = document.createElement("p");
				bar.textContent = subject;
				bar.setAttribute("style", "font:600 15px system-ui,sans-serif;margin:0 0 1rem;padding:.75rem 1rem;background:#eef1f5;border-bottom:1px solid #ccd");
				document.body.prepend(bar);
			}, mail.subject);
			expect(await page.locator("h1").innerText()).toMatch(/^La sauvegarde du/);
			expect(await page.locator("body").innerText()).toMatch(name === "email-success.png" ? /État général : Tout va bien/ : /État général : Attention/);
			await shoot(page, name);
		}
		await page.context().close();
	});
});
