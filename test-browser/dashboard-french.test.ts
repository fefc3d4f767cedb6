// The dashboard speaks French to the administrator: retention reasons in words with dates (never
// "daily …" or "deferred"), the undo button disabled with its reason when there is nothing to
// undo, plurals that agree ("1 morceau relu"), sizes in Ko/Mo, alert channels by what they are,
// and every visible text of the cards accounted for by the French catalogue.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, signInToDashboard } from "./browser";
import {
	buildDashboardCatalogue,
	findForeignTexts,
	findForeignUnits,
	findPluralMistakes,
	neutraliseDatesAndSizes,
} from "./french-catalogue";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";
import { sql } from "./local-d1";

const baseUrl = inject("baseUrl");
let browser: Browser;

beforeAll(async () => {
	browser = await launchChromium();
});

afterAll(async () => {
	sql(`DELETE FROM notification_log WHERE event_type = 'dashboard_french_test'`);
	await browser?.close();
});

async function openSignedIn(query = ""): Promise<{ page: Page; errors: string[] }> {
	const { page, errors } = await signInToDashboard(browser, baseUrl, BROWSER_TEST_ADMIN_TOKEN, { query });
	await expect.poll(() => page.locator("#status dl").isVisible()).toBe(true);
	return { page, errors };
}

async function api(path: string): Promise<any> {
	const res = await fetch(`${baseUrl}${path}`, { headers: { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}` } });
	expect(res.status).toBe(200);
	return res.json();
}

/** Start a backup through the API and wait for its snapshot id. */
async function backUp(): Promise<string> {
	const res = await fetch(`${baseUrl}/api/admin/backups`, { method: "POST", headers: { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}`, "Content-Type": "application/json" }, body: "{}" });
	expect(res.status).toBe(202);
	const started = (await res.json()) as { statusUrl: string };
	let run: any;
	await expect.poll(async () => (run = await api(started.statusUrl)).status, { timeout: 60_000 }).toBe("complete");
	return run.snapshotId;
}

/** Visible texts of the administrator's cards (roles card aside), ids (<code>) aside. */
async function cardTexts(page: Page): Promise<string[]> {
	return page.evaluate(() => {
		const out: string[] = [];
		const walker = document.createTreeWalker(document.getElementById("app")!, NodeFilter.SHOW_TEXT);
		for (let node = walker.nextNode(); node; node = walker.nextNode()) {
			const el = node.parentElement;
			if (!el || el.closest("script, style, template, code, #roles, #roles-card, [data-rt], option")) continue;
			if (el.closest("section")?.querySelector("#roles")) continue;
			if (!el.checkVisibility({ visibilityProperty: true })) continue;
			const text = (node.textContent ?? "").trim();
			if (text) out.push(text);
		}
		return out;
	});
}

describe("the dashboard in French", () => {
	it("on a fresh install the undo button is disabled and says why", async () => {
		// No browser test replaces data on this deployment (the off-site drill uses its own).
		expect(sql(`SELECT COUNT(*) AS n FROM restore_runs WHERE mode = 'replace'`)[0]!.n).toBe(0);
		const { page, errors } = await openSignedIn();
		await expect.poll(() => page.locator("#undo-why").innerText()).toBe("Rien à annuler : aucun remplacement n'a été fait.");
		expect(await page.locator("#undo").isDisabled()).toBe(true);
		expect(await page.locator("#undo").getAttribute("aria-describedby")).toBe("undo-why");
		// English page: English reason.
		const en = await openSignedIn("?lang=en");
		await expect.poll(() => en.page.locator("#undo-why").innerText()).toBe("Nothing to undo: no replace has been done.");
		expect(errors).toEqual([]);
		expect(en.errors).toEqual([]);
		await page.context().close();
		await en.page.context().close();
	});

	it("names backups by date, agrees plurals, sizes in Ko, channels by what they are, retention in words", async () => {
		const now = new Date().toISOString();
		sql(`INSERT INTO notification_log (at, channel, event_type, run_id, ok, attempts, duration_ms, error)
		     VALUES ('${now}', 'resend', 'dashboard_french_test', NULL, 1, 1, 5, NULL), ('${now}', 'webhook', 'dashboard_french_test', NULL, 1, 1, 5, NULL)`);
		const snapshotId = await backUp();
		const manifest = await (await fetch(`${baseUrl}/api/admin/snapshots/${snapshotId}/manifest`, { headers: { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}` } })).json();
		const { page, errors } = await openSignedIn();

		// Alert channels by what they are.
		const channels = await page.locator("#status dd ul").first().innerText();
		expect(channels).toContain("E-mail (Resend)");
		expect(channels).toContain("Webhook");
		expect(channels).not.toMatch(/\bresend\b/);

		// The status's time zone is used: the newest backup's time as Paris reads it.
		const status = await api("/api/admin/status");
		expect(status.timezone).toBe("Europe/Paris");
		const paris = new Intl.DateTimeFormat("fr-FR", { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Paris" });
		const row = page.locator("#snapshots tbody tr", { hasText: snapshotId });
		const time = snapshotId.replace(/^(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})Z.*$/, "$1T$2:$3:$4Z");
		expect(await row.innerText()).toContain(paris.format(new Date(time)));
		expect(await row.innerText()).toMatch(/\d+(,\d)?\s(o|Ko|Mo)\b/);

		// Verify: the flash names the backup by its date, with an agreed plural and a size in Ko/o.
		await row.getByRole("button", { name: "Vérifier" }).click();
		const flash = page.locator("#flash");
		await expect.poll(() => flash.innerText(), { timeout: 60_000 }).toMatch(/intacte|ENDOMMAGÉE/);
		const text = await flash.innerText();
		const chunks = manifest.chunks.length as number;
		expect(text).toContain(`Sauvegarde du ${paris.format(new Date(time))} intacte : ${chunks} ${chunks < 2 ? "morceau relu" : "morceaux relus"}`);
		expect(text).not.toContain(snapshotId);
		expect(text).toMatch(/\((\d+|\d+,\d)\s(o|Ko|Mo)\)/);

		// Retention preview: French words and dates, no English reason, fates that match the API.
		await page.click("#retention-preview");
		const rows = page.locator("#retention tbody tr");
		await expect.poll(() => rows.count()).toBeGreaterThan(0);
		const retention = await page.locator("#retention").innerText();
		expect(retention).not.toMatch(/daily|weekly|monthly|deferred|newest|outside|held|in use|pinned:/);
		expect(retention).toMatch(/jour du \d{1,2} [a-zéû]+\.?/);
		expect(retention).toContain("la plus récente vérifiée");
		const preview = await api("/api/admin/retention");
		for (const d of preview.snapshots) {
			const text = await page.locator(`#retention tbody tr`, { hasText: d.id }).innerText();
			if (d.fate === "remove_later") expect(text).toMatch(/Supprimée plus tard \(au plus \d+ % par passage\)/);
			else expect(text).toContain(d.keep ? "Gardée" : "Supprimée");
			if (d.fate === "remove_later") expect(text).not.toContain("Gardée");
		}

		// The catalogue accounts for every visible text of the cards; no plural or unit mistake.
		const texts = (await cardTexts(page)).map(neutraliseDatesAndSizes);
		const catalogue = buildDashboardCatalogue(await page.evaluate(() => (globalThis as any).eval("TEXT.fr")));
		const pins = (await api("/api/admin/pins")).pins.map((p: any) => p.message.fr);
		// Sentences the server writes in both languages (the verdict, the budget's labels) are the
		// catalogue's too: the dashboard shows their French side.
		const statusNow = await api("/api/admin/status");
		const server = [
			statusNow.verdict.label.fr,
			statusNow.verdict.summary.fr,
			...statusNow.verdict.reasons.flatMap((r: any) => [r.text.fr, r.action.fr]),
			...statusNow.platform.figures.map((f: any) => f.label.fr),
			...statusNow.platform.warnings.map((w: any) => w.message.fr),
		].map(neutraliseDatesAndSizes);
		expect(findForeignTexts(texts, catalogue, [...pins.map(neutraliseDatesAndSizes), ...server, "h)", "<"])).toEqual([]);
		expect(findPluralMistakes(texts)).toEqual([]);
		expect(findForeignUnits(texts)).toEqual([]);
		expect(errors).toEqual([]);
		await page.context().close();
	});

	it("after a replace the undo button says until when, undoes it, then says it was undone", async () => {
		const snapshotId = await backUp();
		const headers = { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}`, "Content-Type": "application/json" };
		const started = (await (await fetch(`${baseUrl}/api/admin/restore`, { method: "POST", headers, body: JSON.stringify({ snapshotId, mode: "replace" }) })).json()) as { statusUrl: string };
		await expect.poll(async () => (await api(started.statusUrl)).status, { timeout: 60_000 }).toBe("complete");
		const state = await api("/api/admin/restore/undo");
		expect(state.available).toBe(true);

		const { page, errors } = await openSignedIn();
		const paris = new Intl.DateTimeFormat("fr-FR", { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Paris" });
		await expect.poll(() => page.locator("#undo-why").innerText()).toMatch(/^Possible/);
		expect(await page.locator("#undo").isEnabled()).toBe(true);
		const why = await page.locator("#undo-why").innerText();
		expect(why).toContain(`Possible jusqu'à la prochaine sauvegarde réussie (la prochaine automatique : ${paris.format(new Date(state.nextBackupAt))})`);
		expect(why).toContain(`Remplacement fait le ${paris.format(new Date(state.replace.finishedAt))}`);
		expect(why).not.toContain(snapshotId);

		await page.click("#undo");
		await expect.poll(() => page.locator("#flash").innerText(), { timeout: 60_000 }).toMatch(/^Remplacement annulé : les données d'avant le remplacement du .+ sont revenues\.$/);
		await expect.poll(() => page.locator("#undo-why").innerText()).toMatch(/^Rien à annuler : le dernier remplacement \(le .+\) a déjà été annulé le .+\.$/);
		expect(await page.locator("#undo").isDisabled()).toBe(true);
		expect((await api("/api/admin/restore/undo")).reason).toBe("undone");
		expect(errors).toEqual([]);
		await page.context().close();
	});

	it("the checks catch what they are for", () => {
		expect(findPluralMistakes(["1 morceaux relus", "0 sauvegardes", "3 sauvegarde(s) relue(s)", "1 mois", "2 morceaux"])).toEqual([
			"1 morceaux",
			"0 sauvegardes",
			"3 sauvegarde(s) relue(s)",
		]);
		expect(findForeignUnits(["12 Kio", "3,4 Mio", "12 Ko", "5 MB"])).toEqual(["12 Kio", "3,4 Mio", "5 MB"]);
		expect(neutraliseDatesAndSizes("Sauvegarde du 3 déc. 2026, 06:31 intacte (204 o) ; mois de mai 2026 ; maintenant")).toBe("Sauvegarde du # intacte (#) ; mois de # ; maintenant");
		const catalogue = buildDashboardCatalogue({ a: "jour du {date}", b: "Gardée", c: { d: "la plus récente vérifiée" } });
		expect(findForeignTexts(["jour du 2 déc.", "Gardée", "daily 2026-12-02", "deferred: at most 25%", "resend"].map(neutraliseDatesAndSizes), catalogue)).toEqual([
			"daily 2026-12-02",
			"deferred: at most 25%",
			"resend",
		]);
	});
});
