// The dashboard's live backup progress and its restore preview that concludes in words, in a real
// browser (Debian's chromium) against the running Worker: the progress element appears and ends
// with success; the preview's sentence comes before the table, the confirmation repeats its
// numbers, and "Fermer" closes the preview at any moment.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, signInToDashboard } from "./browser";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";
import { frenchShortDate, postAnswer } from "./answers";
import { sql } from "./local-d1";

const baseUrl = inject("baseUrl");
let browser: Browser;

beforeAll(async () => {
	browser = await launchChromium();
});

afterAll(async () => {
	await browser?.close();
});

/** A signed-in dashboard that records script errors and every dialog's text (each one dismissed). */
async function openDashboard(): Promise<{ page: Page; errors: string[]; dialogs: string[] }> {
	const dialogs: string[] = [];
	const { page, errors } = await signInToDashboard(browser, baseUrl, BROWSER_TEST_ADMIN_TOKEN, {
		onDialog: (d) => {
			dialogs.push(d.message());
			void d.dismiss();
		},
	});
	await expect.poll(() => page.locator("#status dl").isVisible()).toBe(true);
	return { page, errors, dialogs };
}

/** Start a backup from the page and wait for its progress element to end; returns its final text. */
async function backUpNow(page: Page): Promise<{ text: string; seen: string[] }> {
	await page.evaluate(() => {
		document.getElementById("backup-progress")?.remove();
		// Every line the progress element shows, in order, as it changes.
		const seen: string[] = [];
		(window as unknown as { seen: string[] }).seen = seen;
		new MutationObserver(() => {
			const text = document.getElementById("backup-progress")?.innerText;
			if (text && seen.at(-1) !== text) seen.push(text);
		}).observe(document.body, { subtree: true, childList: true, characterData: true });
	});
	await page.click("#backup-now");
	const box = page.locator("[data-testid=backup-progress]");
	await expect.poll(async () => (await box.count()) > 0 && (await box.getAttribute("data-state")) !== "running", { timeout: 60_000 }).toBe(true);
	await expect.poll(() => page.locator("#snapshots tbody tr").first().locator("code").innerText()).toBe(await box.locator("code").innerText());
	return { text: await box.innerText(), seen: await page.evaluate(() => (window as unknown as { seen: string[] }).seen) };
}

describe("backup progress on the dashboard", () => {
	it("shows a live progress element after « Lancer une sauvegarde maintenant », ending with success", async () => {
		const { page, errors } = await openDashboard();
		const { text, seen } = await backUpNow(page);
		expect(seen[0]).toMatch(/Sauvegarde lancée/);
		expect(text).toMatch(/Sauvegarde réussie et vérifiée : [\d\s]+ lignes? en \d+ morceaux?, en /);
		// The run's own status says the same numbers.
		const [run] = sql("SELECT rows, chunks, rows_total FROM backup_runs ORDER BY started_at DESC LIMIT 1");
		expect(Number(run!.rows)).toBeGreaterThan(0);
		expect(Number(run!.rows_total)).toBeGreaterThanOrEqual(Number(run!.rows));
		expect(text).toContain(`${run!.chunks} morceau`);
		expect(errors).toEqual([]);
		await page.context().close();
	});
});

describe("restore preview on the dashboard", () => {
	it("concludes in one sentence before the table; the confirmation repeats the numbers; « Fermer » closes it", async () => {
		const { page, errors, dialogs } = await openDashboard();
		await backUpNow(page);
		// One answer arrives after the backup (through the form's API): a replace would remove it.
		const since = `depuis le ${frenchShortDate(await postAnswer(baseUrl, "2001:db8:92::1", sql))}`;
		const answers = Number(sql("SELECT COUNT(*) AS n FROM submissions")[0]!.n);
		await page.locator("#snapshots tbody tr").first().getByRole("button", { name: "Restaurer…" }).click();
		// The backup is named by its date; its id is secondary.
		expect(await page.locator("#restore strong").innerText()).toMatch(/^Sauvegarde du /);
		await page.getByRole("button", { name: "Aperçu (ne modifie rien)" }).click();
		const summary = page.locator("[data-testid=restore-summary]");
		await expect.poll(() => summary.count(), { timeout: 60_000 }).toBe(1);
		const sentence = await summary.innerText();
		expect(sentence).toMatch(/^Sauvegarde du .+\(\d+ réponses?\)\. Remplacer supprimerait 1 réponse reçue /);
		expect(sentence).toContain(`Remplacer supprimerait 1 réponse reçue ${since}`);
		expect(sentence).toContain("n'ajouterait rien");
		// The sentence comes before the technical table, which is folded.
		const before = await page.evaluate(() => {
			const s = document.querySelector("[data-testid=restore-summary]")!;
			const d = document.querySelector("#restore details.restore-tables")!;
			return Boolean(s.compareDocumentPosition(d) & Node.DOCUMENT_POSITION_FOLLOWING) && !(d as HTMLDetailsElement).open;
		});
		expect(before).toBe(true);

		// The confirmation repeats the numbers; dismissed, nothing is replaced.
		await page.locator("#restore").getByRole("button", { name: /Remplacer toutes les données/ }).click();
		await expect.poll(() => dialogs.length).toBe(1);
		expect(dialogs[0]).toContain(`Remplacer supprimera 1 réponse reçue ${since}`);
		expect(dialogs[0]).toContain("n'ajoutera rien");
		expect(Number(sql("SELECT COUNT(*) AS n FROM submissions")[0]!.n)).toBe(answers);

		await page.getByTestId("restore-close").click();
		expect(await page.locator("#restore-card").isHidden()).toBe(true);
		expect(errors).toEqual([]);
		await page.context().close();
	});

	it("« Fermer » closes the preview while it is still computing, and its late answer is ignored", async () => {
		const { page, errors } = await openDashboard();
		await page.locator("#snapshots tbody tr").first().getByRole("button", { name: "Restaurer…" }).click();
		// The page's own poll that sees the dry run complete (its answer must then be ignored).
		const done = page.waitForResponse(
			async (r) => r.url().includes("/api/admin/restores/") && ((await r.json().catch(() => ({}))) as { status?: string }).status === "complete",
			{ timeout: 60_000 },
		);
		await page.getByRole("button", { name: "Aperçu (ne modifie rien)" }).click();
		await page.getByTestId("restore-close").click();
		expect(await page.locator("#restore-card").isHidden()).toBe(true);
		await done;
		// One more round trip to the page: the handler of that answer has run.
		await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
		expect(await page.locator("#restore-card").isHidden()).toBe(true);
		expect(await page.locator("[data-testid=restore-summary]").count()).toBe(0);
		expect(errors).toEqual([]);
		await page.context().close();
	});
});
