// The administrator dashboard in a real browser (Debian's chromium): sign-in, a backup started
// from the page, an on-demand verification, and a restore that always previews first.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, localContext } from "./browser";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";
import { sql } from "./local-d1";

const baseUrl = inject("baseUrl");
const RESULTS = path.resolve(import.meta.dirname, "../test-results");

let browser: Browser;

beforeAll(async () => {
	mkdirSync(RESULTS, { recursive: true });
	browser = await launchChromium();
});

afterAll(async () => {
	await browser?.close();
});

/** A page on the dashboard that records script errors and answers every confirm() with yes. */
async function openDashboard(viewport = { width: 1100, height: 900 }): Promise<{ page: Page; errors: string[] }> {
	const context = await localContext(browser, { viewport });
	const page = await context.newPage();
	const errors: string[] = [];
	page.on("pageerror", (e) => errors.push(e.message));
	page.on("dialog", (d) => void d.accept());
	await page.goto(`${baseUrl}/admin/`);
	return { page, errors };
}

async function signIn(page: Page, token: string): Promise<void> {
	await page.fill("#token", token);
	await page.click("#login button[type=submit]");
}

async function flashText(page: Page, pattern: RegExp): Promise<string> {
	const flash = page.locator("#flash");
	await expect.poll(async () => (await flash.isVisible()) && pattern.test(await flash.innerText()), { timeout: 60_000 }).toBe(true);
	return flash.innerText();
}

/**
 * Click "Lancer une sauvegarde maintenant", expect its progress element to end with success, and
 * wait until the refreshed list shows the new snapshot first. Returns its id.
 */
async function backUpNow(page: Page): Promise<string> {
	// A previous backup's outcome must not be mistaken for this one's.
	await page.evaluate(() => document.getElementById("backup-progress")?.remove());
	await page.click("#backup-now");
	const box = page.locator("[data-testid=backup-progress]");
	await expect.poll(async () => (await box.count()) > 0 && (await box.getAttribute("data-state")) !== "running", { timeout: 60_000 }).toBe(true);
	expect(await box.innerText()).toMatch(/Sauvegarde réussie et vérifiée/);
	const snapshotId = await box.locator("code").innerText();
	expect(snapshotId).toMatch(/^\d{4}-\d{2}-\d{2}T\d{6}Z-/);
	await expect.poll(() => page.locator("#snapshots tbody tr").first().locator("code").innerText()).toBe(snapshotId);
	return snapshotId;
}

describe("administrator dashboard", () => {
	it("refuses a wrong token and shows nothing of the data", async () => {
		const { page, errors } = await openDashboard();
		await signIn(page, "not-the-token-0000000000000000");
		await expect.poll(() => page.locator("#login-error").innerText()).toMatch(/Jeton refusé/);
		expect(await page.locator("#app").isVisible()).toBe(false);
		expect(errors).toEqual([]);
		await page.context().close();
	});

	it("starts a backup, verifies it, previews then merges a restore from it", async () => {
		const { page, errors } = await openDashboard();
		await signIn(page, BROWSER_TEST_ADMIN_TOKEN);
		await expect.poll(() => page.locator("#status dl").isVisible()).toBe(true);

		const snapshotId = await backUpNow(page);
		const firstRow = page.locator("#snapshots tbody tr").first();
		expect(await firstRow.innerText()).toMatch(/oui/);

		await firstRow.getByRole("button", { name: "Vérifier" }).click();
		// Named by its local date (Europe/Paris), not by its id.
		expect(await flashText(page, /intacte|ENDOMMAGÉE/)).toMatch(/^Sauvegarde du \d{1,2} \S+ \d{4}, \d{2}:\d{2} intacte : \d+ morceaux? relus? \(/);

		await firstRow.getByRole("button", { name: "Restaurer…" }).click();
		await page.getByRole("button", { name: "Aperçu (ne modifie rien)" }).click();
		// The conclusion first; the per-table detail is folded under it.
		await expect.poll(() => page.locator("[data-testid=restore-summary]").count(), { timeout: 60_000 }).toBe(1);
		await page.locator("#restore details.restore-tables summary").click();
		const submissionsRow = page.locator("#restore tbody tr", { hasText: "Réponses" }).first();
		await expect.poll(() => submissionsRow.isVisible(), { timeout: 60_000 }).toBe(true);
		// Nothing changed since the backup: nothing to add, nothing would disappear.
		expect((await submissionsRow.locator("td").allInnerTexts()).slice(0, 3)).toEqual(["0", "0", "0"]);

		// Scoped to the restore card: the roles card has "Fusionner dans…" buttons too.
		await page.locator("#restore").getByRole("button", { name: /Fusionner/ }).click();
		await expect.poll(() => page.locator("#restore").innerText(), { timeout: 60_000 }).toMatch(/Restauration terminée : 0 lignes écrites/);
		expect(errors).toEqual([]);
		await page.context().close();
	});

	it("previews retention with one row per snapshot and its reasons", async () => {
		const { page, errors } = await openDashboard();
		await signIn(page, BROWSER_TEST_ADMIN_TOKEN);
		await expect.poll(() => page.locator("#status dl").isVisible()).toBe(true);
		// This deployment has no copy outside Cloudflare: the status says so, and where to read how.
		await expect.poll(() => page.locator("[data-testid=offsite]").innerText()).toMatch(/aucune.*configurez-la \(docs\/offsite\.md\)/);
		// A snapshot of its own, so that the policy has something to keep.
		await backUpNow(page);
		const snapshots = await page.locator("#snapshots tbody tr").count();
		await page.click("#retention-preview");
		const rows = page.locator("#retention tbody tr");
		await expect.poll(() => rows.count()).toBe(snapshots);
		const first = await rows.first().innerText();
		expect(first).toMatch(/Gardée/);
		// The reason column says the API's reasons in words (e.g. "jour du 2 déc. ; la plus récente vérifiée").
		expect((await rows.first().locator("td").nth(2).innerText()).trim()).not.toBe("");
		expect(errors).toEqual([]);
		await page.context().close();
	});

	it("shows a data loss's pin in French, marks the pinned backups, and releases it", async () => {
		const { page, errors } = await openDashboard();
		await signIn(page, BROWSER_TEST_ADMIN_TOKEN);
		await expect.poll(() => page.locator("#status dl").isVisible()).toBe(true);
		// One answer, a backup, the answer vanishes without an erasure request, another backup.
		sql(`INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation)
		     VALUES ('dashboard-pin-vanishes', '2026-01-01T00:00:00Z', '1', 'formateur', '{"cafe":"Pin"}', '{}')`);
		const before = await backUpNow(page);
		sql(`DELETE FROM submissions WHERE id = 'dashboard-pin-vanishes'`);
		const detectedIn = await backUpNow(page);
		const pinId = `pin-${detectedIn}`;
		// Retention runs after the backup is reported complete (an after-backup step): refresh until the pin shows.
		const card = page.locator(`#pins .notice.error[data-pin="${pinId}"]`);
		await expect
			.poll(async () => {
				if (await card.isVisible()) return true;
				await page.click("#refresh");
				return false;
			}, { timeout: 60_000 })
			.toBe(true);
		const text = await card.innerText();
		expect(text).toMatch(/ÉPINGLÉ/);
		expect(text).toContain("1 réponse a disparu sans demande d'effacement");
		expect(text).toMatch(/jusqu'à ce qu'un administrateur les? libère/);
		// The backup from before the loss is marked in the list; the one after is not.
		expect(await page.locator("#snapshots tbody tr", { hasText: before }).innerText()).toMatch(/épinglée/);
		expect(await page.locator("#snapshots tbody tr", { hasText: detectedIn }).innerText()).not.toMatch(/épinglée/);

		// The retention preview says why, in French.
		await page.click("#retention-preview");
		const kept = page.locator("#retention tbody tr", { hasText: before });
		await expect.poll(() => kept.innerText()).toMatch(/épinglée : données disparues/);

		await card.getByRole("button", { name: "Libérer…" }).click();
		expect(await flashText(page, /Épinglage libéré|Erreur|error/i)).toMatch(/Épinglage libéré : la conservation normale s'applique de nouveau\./);
		await expect.poll(() => card.count()).toBe(0);
		expect(await page.locator(`#pins details .notice[data-pin="${pinId}"]`).count()).toBe(1);
		const audit = sql(`SELECT detail FROM audit_log WHERE action = 'retention_pin_released'`).map((r) => JSON.parse(String(r.detail)).pinId);
		expect(audit).toContain(pinId);
		expect(errors).toEqual([]);
		await page.context().close();
	});

	it("fits a 360 px phone screen without horizontal scrolling", async () => {
		const { page, errors } = await openDashboard({ width: 360, height: 740 });
		await signIn(page, BROWSER_TEST_ADMIN_TOKEN);
		await expect.poll(() => page.locator("#snapshots").innerText()).not.toBe("");
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
		expect(overflow).toBeLessThanOrEqual(0);
		await page.screenshot({ path: path.join(RESULTS, "dashboard-360.png"), fullPage: true });
		expect(errors).toEqual([]);
		await page.context().close();
	});
});
