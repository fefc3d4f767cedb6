// Test-only bindings added in vitest.config.ts.
declare namespace Cloudflare {
	interface Env {
		TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
		/** JSON array of wrangler.jsonc triggers.crons. */
		TEST_WRANGLER_CRONS: string;
		ADMIN_TOKEN: string;
		BACKUP_SIGNING_KEY: string;
		/** Set by submission tests on a copy of env to exercise Turnstile. */
		TURNSTILE_SECRET?: string;
		TURNSTILE_VERIFY_URL?: string;
	}
}
