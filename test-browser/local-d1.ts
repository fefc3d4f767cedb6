// The local D1 database of the server under test, queried directly (sqlite3 on wrangler's file):
// for seeding states the API cannot create and for checking that nothing was written.
import { inject } from "vitest";
import { queryLocalD1 } from "../bench/local-worker.mjs";

export function sql(statement: string): Record<string, unknown>[] {
	return queryLocalD1({ configPath: inject("wranglerConfig"), persistDir: inject("persistDir"), sql: statement });
}
