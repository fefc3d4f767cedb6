// The verdict banner at the top of the dashboard's status card, in a real browser: the level in
// words (not colour alone), every reason with what to do, French by default and English with
// ?lang=en. The local test deployment has no alert channel, so it is never « Tout va bien ».
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, signInToDashboard } from "./browser";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";
import { sql } from "./local-d1";

const baseUrl = inject("baseUrl");
let browser: Browser;

beforeAll(async () => {
	browser = await launchChromium();
});

afterAll(async () => {
	await browser?.close();
});

/** The dashboard, signed in, once the status card is drawn. */
async function openStatus(query = ""): Promise<{ page: Page; errors: string[] }> {
	const { page, errors } = await signInToDashboard(browser, baseUrl, BROWSER_TEST_ADMIN_TOKEN, { query });
	await page.locator("#status [data-testid=verdict]").waitFor({ timeout: 60_000 });
	return { page, errors };
}

describe("the verdict banner", () => {
	it("comes first in the status card: a level word, an icon, and « personne ne sera prévenu » with what to do", async () => {
		const { page, errors } = await openStatus();
		const banner = page.locator("#status [data-testid=verdict]");
		// The very first thing of the card.
		expect(await page.locator("#status > :first-child").getAttribute("data-testid")).toBe("verdict");
		const level = await banner.getAttribute("data-level");
		expect(["warning", "problem"]).toContain(level);
		// The word is there as text; the icon only repeats it and is hidden from screen readers.
		expect(await banner.locator(".verdict-label").innerText()).toBe(level === "warning" ? "Attention" : "Problème");
		expect(await banner.locator(".verdict-icon").getAttribute("aria-hidden")).toBe("true");
		expect(await banner.getAttribute("role")).toBe(level === "problem" ? "alert" : "status");
		const noChannel = banner.locator("li[data-code=no_channel]");
		expect(await noChannel.innerText()).toMatch(/personne ne sera prévenu[\s\S]*À faire : Demandez au développeur/);
		// Every reason says what to do.
		const reasons = await banner.locator("li").count();
		expect(reasons).toBeGreaterThan(0);
		expect(await banner.locator("li .verdict-action").count()).toBe(reasons);
		// The old "stale" notice is not repeated beside it.
		expect(await page.locator("#status .notice.error").count()).toBe(0);
		expect(errors).toEqual([]);
		await page.context().close();
	});

	it("turns to « Problème » when the weekly verification found damage, then back, naming backups by date", async () => {
		const now = new Date();
		const id = `verify-weekly-verdict-test-${now.getTime()}`;
		sql(
			`INSERT INTO verification_runs (id, scheduled_time, status, started_at, finished_at, snapshots_total, snapshots_checked, snapshots_corrupt, drill_status)
			 VALUES ('${id}', '${now.toISOString()}', 'failed', '${now.toISOString()}', '${now.toISOString()}', 3, 3, 1, 'ok')`,
		);
		try {
			const { page, errors } = await openStatus();
			const banner = page.locator("#status [data-testid=verdict]");
			expect(await banner.getAttribute("data-level")).toBe("problem");
			expect(await banner.getAttribute("role")).toBe("alert");
			expect(await banner.locator(".verdict-label").innerText()).toBe("Problème");
			expect(await banner.evaluate((el) => el.classList.contains("verdict-problem"))).toBe(true);
			// Problems first.
			expect(await banner.locator("li").first().getAttribute("data-level")).toBe("problem");
			const damage = await banner.locator("li[data-code=verification_failed]").innerText();
			expect(damage).toMatch(/La vérification hebdomadaire du \S+ \d+ \S+ \d{4} à \d+\sh\s\d\d a trouvé 1 sauvegarde endommagée\./);
			expect(damage).not.toContain(id);
			expect(errors).toEqual([]);
			await page.context().close();
		} finally {
			sql(`DELETE FROM verification_runs WHERE id = '${id}'`);
		}
		const { page } = await openStatus();
		expect(await page.locator("#status li[data-code=verification_failed]").count()).toBe(0);
		await page.context().close();
	});

	it("speaks English with ?lang=en", async () => {
		const { page, errors } = await openStatus("?lang=en");
		const banner = page.locator("#status [data-testid=verdict]");
		expect(["Attention", "Problem"]).toContain(await banner.locator(".verdict-label").innerText());
		expect(await banner.locator("li[data-code=no_channel]").innerText()).toMatch(/nobody will be told[\s\S]*What to do: Ask the developer/);
		expect(errors).toEqual([]);
		await page.context().close();
	});
});
