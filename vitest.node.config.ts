// Node-side unit and contract tests: code that runs on the administrator's machine (the CLI's
// local directory store, its checks), tested on the real file system.
import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		environment: "node",
		include: ["test-node/**/*.test.ts"],
		testTimeout: 60_000,
	},
});
