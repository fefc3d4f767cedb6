// Launches Debian's chromium through playwright-core (never a downloaded browser), headless and
// offline: every request that does not go to 127.0.0.1 is aborted by the page helpers below.
import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from "playwright-core";

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
