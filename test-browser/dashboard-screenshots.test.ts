// Screenshots of the dashboard for the README (docs/screenshots/, with UPDATE_SCREENSHOTS=1;
// always under test-results/): a desktop and a 360 px phone, after a real backup, with the verdict
// first. Also checks what a phone needs: nothing wider than the screen, the backup button clear.
import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, signInToDashboard } from "./browser";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";

const baseUrl = inject("baseUrl");
const RESULTS = path.resolve(import.meta.dirname, "../test-results");
const DOCS = path.resolve(import.meta.dirname, "../docs/screenshots");
let browser: Browser;

beforeAll(async () => {
	fs.mkdirSync(RESULTS, { recursive: true });
	browser = await launchChromium();
	// At least one backup, so that the list, the verdict and the budget have something to show.
	const res = await fetch(`${baseUrl}/api/admin/snapshots`, { headers: { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}` } });
	const body = (await res.json()) as { snapshots: unknown[] };
	if (body.snapshots.length === 0) {
		const started = await fetch(`${baseUrl}/api/admin/backups`, {
			method: "POST",
			headers: { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}`, "Content-Type": "application/json" },
			body: "{}",
		});
		const { statusUrl } = (await started.json()) as { statusUrl: string };
		for (let i = 0; i < 600; i++) {
			const run = (await (await fetch(new URL(statusUrl, baseUrl), { headers: { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}` } })).json()) as { status: string };
			if (!["queued", "running", "waiting", "unknown"].includes(run.status)) break;
			await new Promise((r) => setTimeout(r, 500));
		}
	}
}, 600_000);

afterAll(async () => {
	await browser?.close();
});

async function shoot(page: Page, name: string): Promise<void> {
	await page.screenshot({ path: path.join(RESULTS, name), fullPage: true });
	if (process.env.UPDATE_SCREENSHOTS === "1") await page.screenshot({ path: path.join(DOCS, name), fullPage: true });
}

async function openDashboard(viewport: { width: number; height: number }): Promise<Page> {
	const { page } = await signInToDashboard(browser, baseUrl, BROWSER_TEST_ADMIN_TOKEN, { viewport });
	await page.locator("#status [data-testid=verdict]").waitFor({ timeout: 60_000 });
	await page.locator("#snapshots table").waitFor({ timeout: 60_000 });
	return page;
}

describe("dashboard screenshots", () => {
	it("on a desktop: the verdict first, then the backups", async () => {
		const page = await openDashboard({ width: 1200, height: 900 });
		expect(await page.locator("#status > :first-child").getAttribute("data-testid")).toBe("verdict");
		await shoot(page, "dashboard-desktop.png");
		await page.context().close();
	});

	it("on a 360 px phone: nothing wider than the screen, the backup button clear of the first label", async () => {
		const page = await openDashboard({ width: 360, height: 800 });
		expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
		const button = await page.locator("#backup-now").boundingBox();
		const firstFact = await page.locator("#status > :first-child").boundingBox();
		expect(button && firstFact && button.y + button.height <= firstFact.y).toBe(true);
		await shoot(page, "dashboard-phone.png");
		await page.context().close();
	});
});
