// Starts the app once for the browser tests: wrangler dev on a free 127.0.0.1 port, fresh temp state,
// migrations applied, a known admin token. Stops it (and deletes the state) after the run.
import type { TestProject } from "vitest/node";
// Plain ES module shared with the benchmarks.
import { startLocalWorker } from "../bench/local-worker.mjs";

declare module "vitest" {
	interface ProvidedContext {
		baseUrl: string;
		/** Derived wrangler config and persist dir, to query the Worker's local D1. */
		wranglerConfig: string;
		persistDir: string;
	}
}

export const BROWSER_TEST_ADMIN_TOKEN = "browser-test-admin-token-0123456789abcdef";

export default async function setup(project: TestProject) {
	const worker = await startLocalWorker({
		vars: {
			ADMIN_TOKEN: BROWSER_TEST_ADMIN_TOKEN,
			BACKUP_SIGNING_KEY: "browser-test-signing-key-0123456789abcdef0123",
			// Shown on the form ("how to have your answers deleted").
			CONTACT_EMAIL: "questionnaire@cap-formations.test",
		},
		label: "browser-tests",
	});
	project.provide("baseUrl", worker.url);
	project.provide("wranglerConfig", worker.configPath);
	project.provide("persistDir", worker.persistDir);
	return async () => {
		await worker.stop();
	};
}
