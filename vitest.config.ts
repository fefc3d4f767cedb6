// Tests run inside workerd with the Workers Vitest integration, on real local D1, R2 and
// Workflows configured from wrangler.jsonc. Migrations are applied in test/apply-migrations.ts.
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));

export default defineConfig({
	plugins: [
		cloudflareTest({
			wrangler: { configPath: "./wrangler.jsonc" },
			miniflare: {
				bindings: {
					TEST_MIGRATIONS: migrations,
					ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
				},
			},
		}),
	],
	test: {
		include: ["test/**/*.test.ts"],
		setupFiles: ["./test/apply-migrations.ts"],
		testTimeout: 60_000,
		hookTimeout: 60_000,
	},
});
