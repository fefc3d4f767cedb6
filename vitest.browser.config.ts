// End-to-end tests against the running Worker: Node runs the tests, `wrangler dev` runs the Worker
// on 127.0.0.1 with throw-away state (test-browser/global-setup.ts). Debian's chromium drives the
// public form and the admin dashboard; the admin CLI runs as a child process.
import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		environment: "node",
		include: ["test-browser/**/*.test.ts"],
		globalSetup: ["./test-browser/global-setup.ts"],
		// One browser and one server for the whole run; the files share them, so no parallel files.
		fileParallelism: false,
		testTimeout: 60_000,
		hookTimeout: 120_000,
	},
});
