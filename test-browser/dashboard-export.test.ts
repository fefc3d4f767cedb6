// The dashboard's "Télécharger les réponses (tableur CSV)" in Chromium: it starts the export job,
// shows its progress in French, then downloads the file, which is the direct export byte for byte.
// And a snapshot's "Télécharger", fetched chunk by chunk: the same bytes as the one-request download.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium, localContext } from "./browser";
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

describe("dashboard CSV export", () => {
	it("starts the job, shows its progress, then downloads the file in pieces", async () => {
		// 600 answers (4 pages), one of them with every troublesome character.
		sql(`INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation)
		     WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 600)
		     SELECT printf('dash-export-%04d', i), strftime('%Y-%m-%dT%H:%M:%fZ', '2026-03-29', printf('+%d seconds', i * 37)), '1', '',
		            json_object('cafe', CASE i WHEN 7 THEN 'Le "Zinc"; bar, tabac' || char(10) || 'Étage' ELSE printf('Café n°%d', i) END, 'ville', 'Besançon'), '{}'
		     FROM c`);
		const context = await localContext(browser, { acceptDownloads: true });
		const page = await context.newPage();
		const asked: string[] = [];
		page.on("request", (r) => asked.push(new URL(r.url()).pathname + new URL(r.url()).search));
		const errors: string[] = [];
		page.on("pageerror", (e) => errors.push(e.message));
		await page.goto(`${baseUrl}/admin/`);
		await page.fill("#token", BROWSER_TEST_ADMIN_TOKEN);
		await page.click("#login button[type=submit]");
		await expect.poll(() => page.locator("#app").isVisible()).toBe(true);
		// Every text the progress line shows, as it changes.
		await page.evaluate(() => {
			const seen: string[] = [];
			(window as unknown as { seen: string[] }).seen = seen;
			new MutationObserver(() => {
				const box = document.getElementById("export-progress");
				if (box && !box.hidden) seen.push(box.textContent ?? "");
			}).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
		});

		const downloading = page.waitForEvent("download", { timeout: 120_000 });
		await page.click("#export-csv");
		const download = await downloading;
		expect(download.suggestedFilename()).toMatch(/^reponses-\d{4}-\d{2}-\d{2}\.csv$/);
		const saved = readFileSync((await download.path())!);

		const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
		expect(seen.some((s) => /^Préparation du fichier/.test(s))).toBe(true);
		expect(seen.some((s) => /Préparation du fichier : \d[\d\s\u202f]* \/ \d[\d\s\u202f]* réponses/.test(s))).toBe(true);
		await expect.poll(() => page.locator("#flash").innerText()).toMatch(/Fichier CSV téléchargé/);
		expect(await page.locator("#export-progress").isHidden()).toBe(true);

		const direct = await fetch(`${baseUrl}/api/admin/submissions.csv`, { headers: { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}` } });
		const expected = Buffer.from(await direct.arrayBuffer());
		expect(saved.equals(expected)).toBe(true);
		expect(saved.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
		expect(saved.toString("utf8")).toContain('"Le ""Zinc""; bar, tabac\nÉtage"');
		expect(asked.filter((p) => /^\/api\/admin\/exports\/csv-[^/]+\/file\?piece=\d+$/.test(p)).length).toBeGreaterThan(0);
		expect(asked.filter((p) => p.endsWith("/file"))).toEqual([]);
		expect(errors).toEqual([]);
		await context.close();
	});

	it("downloads a whole snapshot chunk by chunk, the same bytes as the one-request download", async () => {
		const AUTH = { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}` };
		const started = await fetch(`${baseUrl}/api/admin/backups`, { method: "POST", headers: AUTH });
		const { statusUrl } = (await started.json()) as { statusUrl: string };
		let snapshotId = "";
		for (let i = 0; i < 240 && !snapshotId; i++) {
			const run = (await (await fetch(`${baseUrl}${statusUrl}`, { headers: AUTH })).json()) as { status: string; snapshotId?: string };
			if (run.status === "failed") throw new Error("backup failed");
			if (run.status === "complete") snapshotId = run.snapshotId!;
			else await new Promise((r) => setTimeout(r, 500));
		}
		expect(snapshotId).toMatch(/^\d{4}-\d{2}-\d{2}T\d{6}Z-/);
		const context = await localContext(browser, { acceptDownloads: true });
		const page = await context.newPage();
		const asked: string[] = [];
		page.on("request", (r) => asked.push(new URL(r.url()).pathname));
		await page.goto(`${baseUrl}/admin/`);
		await page.fill("#token", BROWSER_TEST_ADMIN_TOKEN);
		await page.click("#login button[type=submit]");
		const row = page.locator("#snapshots tbody tr", { has: page.locator("code", { hasText: snapshotId }) });
		const downloading = page.waitForEvent("download", { timeout: 120_000 });
		await row.getByRole("button", { name: "Télécharger" }).click();
		const download = await downloading;
		expect(download.suggestedFilename()).toBe(`snapshot-${snapshotId}.ndjson.gz`);
		const saved = readFileSync((await download.path())!);
		const whole = Buffer.from(await (await fetch(`${baseUrl}/api/admin/snapshots/${snapshotId}/download`, { headers: AUTH })).arrayBuffer());
		expect(saved.equals(whole)).toBe(true);
		expect(gunzipSync(saved).toString("utf8")).toContain('"table":"submissions"');
		// One request per chunk, never the whole-snapshot request (over the CPU budget when large).
		expect(asked).toContain(`/api/admin/snapshots/${snapshotId}/chunks/1`);
		expect(asked.filter((p) => p.endsWith("/download"))).toEqual([]);
		await context.close();
	});
});
