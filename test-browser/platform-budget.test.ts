// The Cloudflare budget as the administrator sees it, against the running local Worker: the
// dashboard's card (real chromium), the CLI's status table, and a restore stopped by D1's daily
// write limit in both (the preview says so; nothing is written).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, signInToDashboard } from "./browser";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";
import { sql } from "./local-d1";

const baseUrl = inject("baseUrl");
const ROOT = path.resolve(import.meta.dirname, "..");
const work = mkdtempSync(path.join(tmpdir(), "platform-cli-"));
const RESULTS = path.resolve(import.meta.dirname, "../test-results");
let browser: Browser;

beforeAll(async () => {
	browser = await launchChromium();
});

afterAll(async () => {
	await browser?.close();
	rmSync(work, { recursive: true, force: true });
});

function admin(args: string[], env: Record<string, string> = {}) {
	const run = spawnSync(process.execPath, [path.join(ROOT, "scripts/admin.mjs"), ...args], {
		cwd: work,
		env: { ...process.env, ADMIN_URL: baseUrl, ADMIN_TOKEN: BROWSER_TEST_ADMIN_TOKEN, LOCALE: "fr", ...env },
		encoding: "utf8",
		timeout: 120_000,
	});
	return { code: run.status, out: run.stdout, err: run.stderr };
}

const today = () => new Date().toISOString().slice(0, 10);

/** Rows written today so far; `add` seeds more, undone after each test so other files can restore. */
let added = 0;
function addWrittenToday(rows: number): void {
	sql(`INSERT INTO platform_usage (day, d1_rows_written) VALUES ('${today()}', ${rows})
	     ON CONFLICT (day) DO UPDATE SET d1_rows_written = d1_rows_written + excluded.d1_rows_written`);
	added += rows;
}
function writtenToday(): number {
	return Number(sql(`SELECT d1_rows_written AS n FROM platform_usage WHERE day = '${today()}'`)[0]?.n ?? 0);
}

afterEach(() => {
	if (added) sql(`UPDATE platform_usage SET d1_rows_written = max(0, d1_rows_written - ${added}) WHERE day = '${today()}'`);
	added = 0;
});

async function openDashboard(query = ""): Promise<{ page: Page; errors: string[] }> {
	const { page, errors } = await signInToDashboard(browser, baseUrl, BROWSER_TEST_ADMIN_TOKEN, { query });
	await expect.poll(() => page.locator("#platform table").isVisible(), { timeout: 60_000 }).toBe(true);
	return { page, errors };
}

describe("the Cloudflare budget", () => {
	it("dashboard: the Free plan's card lists every figure against its limit, and warns in French above 80 %", async () => {
		const { page, errors } = await openDashboard();
		expect(await page.locator("#platform-title").innerText()).toBe("Budget Cloudflare (offre gratuite)");
		expect(await page.locator("#platform tbody tr").count()).toBe(9);
		const cron = page.locator("#platform tr[data-key=cronTriggers]");
		expect(await cron.locator("th").innerText()).toBe("Déclencheurs planifiés utilisés");
		expect((await cron.locator("td").allInnerTexts()).slice(0, 2)).toEqual(["1", "5"]);
		expect(await page.locator("#platform").innerText()).toMatch(/Tout est dans les limites de l'offre/);

		// Seed the day near the limit: the row is marked and the warning says what it means.
		addWrittenToday(85_000);
		await page.click("#refresh");
		const warnings = page.locator("[data-testid=platform-warnings]");
		await expect.poll(() => warnings.isVisible(), { timeout: 30_000 }).toBe(true);
		expect(await warnings.innerText()).toMatch(/Lignes écrites dans la base aujourd'hui .* : 8\d(,\d)? % de la limite — .*refuse les écritures jusqu'à minuit UTC/);
		const written = page.locator("#platform tr[data-key=d1RowsWrittenToday]");
		expect(await written.getAttribute("class")).toBe("over");
		expect(await written.locator("td").nth(1).innerText()).toBe("100\u202f000");
		expect(await written.locator("progress").getAttribute("value")).toMatch(/^8\d/);
		mkdirSync(RESULTS, { recursive: true });
		await page.locator("#platform-card").screenshot({ path: path.join(RESULTS, "platform-budget.png") });
		expect(errors).toEqual([]);
		await page.context().close();

		const en = await openDashboard("?lang=en");
		expect(await en.page.locator("#platform-title").innerText()).toBe("Cloudflare budget (Free plan)");
		expect(await en.page.locator("[data-testid=platform-warnings]").innerText()).toMatch(/Database rows written today .*refuses writes until 00:00 UTC/);
		await en.page.context().close();
	});

	it("CLI: status ends with the budget table, in French, with its warning", () => {
		let status = admin(["status"]);
		expect(status.code).toBe(0);
		expect(status.out).toMatch(/^Budget Cloudflare \(offre gratuite\)$/m);
		expect(status.out).toMatch(/^Tout est dans les limites de l'offre\.$/m);
		expect(status.out).toMatch(/^Quoi +Utilisé +Limite +%/m);
		expect(status.out).toMatch(/^Déclencheurs planifiés utilisés +1 +5 +20\u00a0%$/m);
		expect(status.out).toMatch(/^Lignes écrites dans la base aujourd'hui .* +[\d\u202f]+ +100\u202f000 +(<\u00a0)?[\d,]+\u00a0%$/m);

		addWrittenToday(90_000);
		status = admin(["status"]);
		expect(status.out).toMatch(/^ATTENTION — Lignes écrites dans la base aujourd'hui .*refuse les écritures/m);
		expect(status.out).toMatch(/^Lignes écrites dans la base aujourd'hui .*> 80 % !$/m);

		const en = admin(["status"], { LOCALE: "en" });
		expect(en.out).toMatch(/^Cloudflare budget \(Free plan\)$/m);
		expect(en.out).toMatch(/^WARNING — Database rows written today/m);
	});

	it("a restore that cannot finish within today's write limit: the preview says so, and nothing is written (CLI and dashboard)", async () => {
		const backup = admin(["backup"]);
		expect(backup.code).toBe(0);
		const snapshotId = /\(référence (\S+)\)/.exec(backup.out)?.[1];
		expect(snapshotId).toBeTruthy();
		const restoresBefore = Number(sql(`SELECT COUNT(*) AS n FROM restore_runs WHERE mode <> 'dry-run'`)[0]!.n);

		// Within budget: the preview states the rows and that they fit.
		const fits = admin(["restore", snapshotId!]);
		expect(fits.code).toBe(0);
		expect(fits.out).toMatch(/^Limite quotidienne d'écriture : une fusion écrirait jusqu'à [\d\u202f]+ lignes, un remplacement jusqu'à [\d\u202f]+ ; il en reste [\d\u202f]+ aujourd'hui\.$/m);

		addWrittenToday(Math.max(0, 99_990 - writtenToday()));
		const refused = admin(["restore", snapshotId!, "--mode", "merge", "--yes"]);
		expect(refused.code).toBe(1);
		expect(refused.out).toMatch(/^LIMITE QUOTIDIENNE — Une fusion écrirait jusqu'à .* lignes.*elle serait refusée\. Relancez-la après minuit UTC/m);
		expect(refused.out).toMatch(/^Restauration non lancée : rien n'a été écrit\.$/m);

		const { page, errors } = await openDashboard();
		const row = page.locator("#snapshots tbody tr", { hasText: snapshotId! });
		await row.getByRole("button", { name: "Restaurer…" }).click();
		await page.getByRole("button", { name: "Aperçu (ne modifie rien)" }).click();
		const notice = page.locator("#restore [data-testid=restore-budget]");
		await expect.poll(() => notice.isVisible(), { timeout: 60_000 }).toBe(true);
		expect(await notice.innerText()).toMatch(/Une fusion écrirait jusqu'à .* lignes.*serait refusée/);
		// The administrator clicks anyway: the server refuses, the page says why in French.
		await page.locator("#restore").getByRole("button", { name: /Fusionner/ }).click();
		await expect.poll(() => page.locator("#flash").innerText(), { timeout: 60_000 }).toMatch(/^Restauration refusée : elle écrirait plus de lignes/);
		expect(errors).toEqual([]);
		await page.context().close();
		expect(Number(sql(`SELECT COUNT(*) AS n FROM restore_runs WHERE mode <> 'dry-run'`)[0]!.n)).toBe(restoresBefore);
	}, 240_000); // a backup, two dry runs by the CLI and one in the page
});
