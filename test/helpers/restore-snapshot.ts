// Test helpers for restores and erasures: seed consistent data (counters computed here, not by
// the code under test), wipe, digest live tables, run a restore through the API and wait for it.
import { introspectWorkflowInstance } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { digestRows, type Manifest, type Row } from "../../src/snapshots/format";

export const ADMIN = { Authorization: "Bearer test-admin-token-0123456789abcdef" };
/** Tables a restore writes (the restore plan's list, repeated here on purpose). */
export const DATA_TABLES = ["roles", "submissions", "counters", "erasures", "erased_submissions"] as const;

export function api(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
	const headers: Record<string, string> = { ...ADMIN, ...(init.headers as Record<string, string> | undefined) };
	let body = init.body;
	if (init.json !== undefined) {
		headers["Content-Type"] = "application/json";
		body = JSON.stringify(init.json);
	}
	return exports.default.fetch(new Request(`https://test.local${path}`, { ...init, headers, body }));
}

export type SeedSubmission = { id: string; role: string; day: string; email?: string };

/** Insert roles, submissions and the counters they imply (computed here, independently). */
export async function seed(db: D1Database, subs: SeedSubmission[]): Promise<void> {
	const roles = [...new Set(subs.map((s) => s.role))];
	const statements: D1PreparedStatement[] = roles.map((r) =>
		db
			.prepare(`INSERT OR IGNORE INTO roles (role_key, label, created_at, use_count, last_used_at) VALUES (?1, ?2, ?3, 0, NULL)`)
			.bind(r, r.toUpperCase(), "2026-11-01T08:00:00.000Z"),
	);
	for (const s of subs) {
		const answers = JSON.stringify({ cafe: `Café ${s.id}`, ville: "Lyon", role: s.role, satisfaction: 4, ...(s.email ? { email: s.email } : {}) });
		statements.push(
			db
				.prepare(`INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation) VALUES (?1, ?2, '1', ?3, ?4, '{"ok":true}')`)
				.bind(s.id, `${s.day}T10:00:00.000Z`, s.role, answers),
		);
	}
	await db.batch(statements);
	await writeCountersFromRows(db);
}

/** Counters and use counts as they should be, computed in JS from the rows. */
export async function expectedCounters(db: D1Database): Promise<{ counters: Record<string, number>; uses: Record<string, number> }> {
	const { results } = await db.prepare(`SELECT role_key, received_at FROM submissions`).all<{ role_key: string; received_at: string }>();
	const counters: Record<string, number> = { total: results.length };
	const uses: Record<string, number> = {};
	for (const r of results) {
		counters[`role:${r.role_key}`] = (counters[`role:${r.role_key}`] ?? 0) + 1;
		counters[`day:${r.received_at.slice(0, 10)}`] = (counters[`day:${r.received_at.slice(0, 10)}`] ?? 0) + 1;
		uses[r.role_key] = (uses[r.role_key] ?? 0) + 1;
	}
	return { counters, uses };
}

async function writeCountersFromRows(db: D1Database): Promise<void> {
	const { counters, uses } = await expectedCounters(db);
	const statements = Object.entries(counters).map(([name, value]) =>
		db
			.prepare(`INSERT INTO counters (name, value, updated_at) VALUES (?1, ?2, '2026-11-01T08:00:00.000Z') ON CONFLICT(name) DO UPDATE SET value = excluded.value`)
			.bind(name, value),
	);
	const { results } = await db.prepare(`SELECT role_key FROM roles`).all<{ role_key: string }>();
	for (const r of results) statements.push(db.prepare(`UPDATE roles SET use_count = ?2 WHERE role_key = ?1`).bind(r.role_key, uses[r.role_key] ?? 0));
	if (statements.length) await db.batch(statements);
}

/** Counters (non-zero ones) and use counts as stored. */
export async function storedCounters(db: D1Database): Promise<{ counters: Record<string, number>; uses: Record<string, number> }> {
	const c = await db.prepare(`SELECT name, value FROM counters WHERE value <> 0 OR name = 'total'`).all<{ name: string; value: number }>();
	const r = await db.prepare(`SELECT role_key, use_count FROM roles WHERE use_count <> 0`).all<{ role_key: string; use_count: number }>();
	return {
		counters: Object.fromEntries(c.results.map((x) => [x.name, x.value])),
		uses: Object.fromEntries(r.results.map((x) => [x.role_key, x.use_count])),
	};
}

/** Empty every table, release every data lock and drop restore leftovers (tests share one database per file). */
export async function wipe(db: D1Database): Promise<void> {
	const { results } = await db
		.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'restore_stage_%' OR name LIKE 'restore_undo_%')`)
		.all<{ name: string }>();
	await db.batch([
		...results.map((r) => db.prepare(`DROP TABLE "${r.name}"`)),
		...[...DATA_TABLES, "audit_log", "restore_runs", "data_locks"].map((t) => db.prepare(`DELETE FROM ${t}`)),
	]);
}

/** Content digest of each live data table, computed the way snapshots are. */
export async function liveDigests(db: D1Database, tables: readonly string[] = DATA_TABLES): Promise<Record<string, string>> {
	const out: Record<string, string> = {};
	for (const t of tables) {
		const { results } = await db.prepare(`SELECT * FROM ${t}`).all<Row>();
		out[t] = digestRows(t, results);
	}
	return out;
}

export function manifestDigests(m: Manifest, tables: readonly string[] = DATA_TABLES): Record<string, string> {
	return Object.fromEntries(tables.map((t) => [t, m.tables[t]?.digest ?? digestRows(t, [])]));
}

export async function count(db: D1Database, sql: string, ...binds: unknown[]): Promise<number> {
	const row = await db.prepare(sql).bind(...binds).first<{ n: number }>();
	return row?.n ?? 0;
}

export type RestoreView = {
	id: string;
	status: string;
	mode: string;
	error: string | null;
	undoAvailable: boolean;
	progress: Record<string, number>;
	report: {
		tables?: Record<string, { added: number; differ: number; disappear: number; skippedErased: number; unchanged: number; inSnapshot: number; samples: Record<string, string[]> }>;
		written?: Record<string, number>;
		skippedErased?: number;
	} | null;
};

/** POST a restore, wait for its Workflow to finish, return the run as GET shows it. */
export async function runRestore(snapshotId: string, mode?: string, extra: { allowUnsigned?: boolean } = {}): Promise<RestoreView> {
	const res = await api("/api/admin/restore", { method: "POST", json: { snapshotId, ...(mode ? { mode } : {}), ...extra } });
	if (res.status !== 202) throw new Error(`restore POST answered ${res.status}: ${await res.text()}`);
	const { id, statusUrl } = await res.json<{ id: string; statusUrl: string }>();
	await using instance = await introspectWorkflowInstance(env.RESTORE_WORKFLOW, id);
	await instance.waitForStatus("complete");
	return (await api(statusUrl)).json<RestoreView>();
}
