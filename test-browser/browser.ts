// Launches Debian's chromium through playwright-core (never a downloaded browser), headless and
// offline: every request that does not go to 127.0.0.1 is aborted by the page helpers below.
import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Dialog, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
	if (!existsSync(CHROMIUM)) {
		throw new Error(`${CHROMIUM} is missing: \`npm test\` installs it (scripts/ensure-chromium.mjs), or \`sudo apt-get install -y --no-install-recommends chromium\`.`);
	}
	// launch() gives every run a fresh temporary user-data-dir, deleted on close.
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: [
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--disable-quic",
			"--no-first-run",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
		],
	});
}

/** A browser context that can only reach the local server. */
export async function localContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
	const context = await browser.newContext({ locale: "fr-FR", ...options });
	await context.route(
		(url) => url.hostname !== "127.0.0.1",
		(route) => route.abort(),
	);
	return context;
}

/**
 * A new page of the dashboard (`/admin/` + `query`), signed in with `token`: page errors are
 * collected; dialogs are accepted unless `onDialog` says otherwise. The caller waits for what it needs.
 */
export async function signInToDashboard(
	browser: Browser,
	baseUrl: string,
	token: string,
	{ query = "", viewport = { width: 1100, height: 900 }, onDialog }: { query?: string; viewport?: { width: number; height: number }; onDialog?: (d: Dialog) => void } = {},
): Promise<{ page: Page; errors: string[] }> {
	const context = await localContext(browser, { viewport });
	const page = await context.newPage();
	const errors: string[] = [];
	page.on("pageerror", (e) => errors.push(e.message));
	page.on("dialog", onDialog ?? ((d) => void d.accept()));
	await page.goto(`${baseUrl}/admin/${query}`);
	await page.fill("#token", token);
	await page.click("#login button[type=submit]");
	return { page, errors };
}
