// Tests run inside workerd with the Workers Vitest integration, on real local D1, R2 and
// Workflows configured from wrangler.jsonc. Migrations are applied in test/apply-migrations.ts.
import { readFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_AGE_RECIPIENT, TEST_SIGNING_KEY } from "./test/keys";

const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));

/** The crons and vars of wrangler.jsonc, for the test that keeps them consistent. */
const wranglerText = readFileSync(path.join(import.meta.dirname, "wrangler.jsonc"), "utf8").replace(/^\s*\/\/.*$/gm, "");
const wranglerCrons = JSON.stringify(JSON.parse(wranglerText).triggers.crons);

/** The off-site replica of the test deployment: the local s3rver, encrypted to a test age key. */
function offsiteBindings(s3Url: string): Record<string, string> {
	return {
		OFFSITE_S3_ENDPOINT: s3Url,
		OFFSITE_S3_BUCKET: "offsite-replica",
		OFFSITE_S3_REGION: "us-east-1",
		OFFSITE_S3_ACCESS_KEY_ID: "S3RVER",
		OFFSITE_S3_SECRET_ACCESS_KEY: "S3RVER",
		BACKUP_AGE_RECIPIENTS: TEST_AGE_RECIPIENT,
	};
}

/** Test configuration of the notification channels: all of them, on 127.0.0.1 only. */
function notificationBindings(receiverUrl: string): Record<string, string> {
	return {
		ADMIN_EMAIL: "admin-one@cap-formations.test, admin-two@cap-formations.test",
		EMAIL_FROM: "sauvegardes@cap-formations.test",
		CLOUDFLARE_EMAIL: "on",
		EMAIL_API_KEY: "emailjs-private-token",
		EMAILJS_SERVICE_ID: "service_test",
		EMAILJS_TEMPLATE_ID: "template_test",
		EMAILJS_PUBLIC_KEY: "public_test",
		EMAILJS_API_URL: `${receiverUrl}/global/emailjs`,
		RESEND_API_KEY: "re_test_key",
		RESEND_API_URL: `${receiverUrl}/global/resend`,
		WEBHOOK_URL: `${receiverUrl}/global/webhook`,
		HEARTBEAT_URL: `${receiverUrl}/global/ping`,
		NOTIFY_TIMEOUT_MS: "2000",
	};
}

export default defineConfig({
	plugins: [
		// A function so that bindings can use values provided by globalSetup (the receiver's URL).
		cloudflareTest(({ inject }) => ({
			wrangler: { configPath: "./wrangler.jsonc" },
			miniflare: {
				bindings: {
					TEST_MIGRATIONS: migrations,
					TEST_WRANGLER_CRONS: wranglerCrons,
					ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
					BACKUP_SIGNING_KEY: TEST_SIGNING_KEY,
					// Every notification provider on, pointed at the local receiver (test/receiver/server.ts).
					...notificationBindings(inject("receiverUrl")),
					// The off-site replica on, at the local S3-compatible server (test/s3/server.ts).
					...offsiteBindings(inject("s3Url")),
				},
			},
		})),
	],
	test: {
		include: ["test/**/*.test.ts"],
		setupFiles: ["./test/apply-migrations.ts"],
		globalSetup: ["./test/receiver/server.ts", "./test/s3/server.ts"],
		testTimeout: 60_000,
		hookTimeout: 60_000,
	},
});
