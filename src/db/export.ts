// Reads of the backup export and of the verification's live side: the columns and consistency
// bound of every exported table in ONE batch, and keyset pages of rows (never a whole table in
// memory). Table names come from the exported table registry (src/snapshots/tables.ts).
import { quoteIdent } from "./sql";

/** What these reads need to know of an exported table (see ExportedTable). */
export type PagedTable = { readonly name: string; readonly key: string; readonly bounded: boolean };

/**
 * Per table: its columns in schema order (empty: no such table), max(key) when bounded, and its
 * row count at that moment (what a run's progress is measured against).
 */
export type TableShape = { columns: string[]; bound: number | null; rows: number };

/**
 * Columns and bounds of every table, in ONE D1 batch (a single transaction), so that the bounds
 * describe one moment of the database. Results are in the order of `tables`.
 */
export async function fetchTableShapes(db: D1Database, tables: readonly PagedTable[]): Promise<TableShape[]> {
	const statements = tables.flatMap((t) => [
		db.prepare(`PRAGMA table_info(${quoteIdent(t.name)})`),
		db.prepare(
			t.bounded
				? `SELECT max(${quoteIdent(t.key)}) AS bound, count(*) AS n FROM ${quoteIdent(t.name)}`
				: `SELECT NULL AS bound, count(*) AS n FROM ${quoteIdent(t.name)}`,
		),
	]);
	const results = await db.batch<Record<string, unknown>>(statements);
	return tables.map((_, i) => {
		const columns = results[2 * i]!.results.map((r) => String(r.name));
		// count(*) is read in the same statement as the bound: no extra query, the same moment.
		const row = results[2 * i + 1]?.results[0];
		const bound = row?.bound;
		return {
			columns,
			bound: typeof bound === "number" ? bound : null,
			rows: typeof row?.n === "number" ? row.n : 0,
		};
	});
}

export type KeysetPage = {
	table: string;
	key: string;
	columns: readonly string[];
	/** Only rows with key <= bound (null: no bound). */
	bound: number | null;
	/** Only rows with key > after (null: from the start). */
	after: string | number | null;
	limit: number;
};

/** One keyset page of a table in key order, as arrays in column order. */
export async function fetchKeysetPage(db: D1Database, page: KeysetPage): Promise<unknown[][]> {
	const k = quoteIdent(page.key);
	const where: string[] = [];
	const params: unknown[] = [];
	if (page.after !== null) {
		where.push(`${k} > ?`);
		params.push(page.after);
	}
	if (page.bound !== null) {
		where.push(`${k} <= ?`);
		params.push(page.bound);
	}
	const sql =
		`SELECT ${page.columns.map(quoteIdent).join(", ")} FROM ${quoteIdent(page.table)}` +
		(where.length ? ` WHERE ${where.join(" AND ")}` : "") +
		` ORDER BY ${k} LIMIT ?`;
	params.push(page.limit);
	return db.prepare(sql).bind(...params).raw();
}

/** Whole rows with after < seq <= bound, in seq order, at most `limit` (a bounded table's page). */
export async function fetchSeqPage<T = Record<string, unknown>>(
	db: D1Database,
	table: string,
	after: number,
	bound: number,
	limit: number,
): Promise<T[]> {
	const { results } = await db
		.prepare(`SELECT * FROM ${quoteIdent(table)} WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`)
		.bind(after, bound, limit)
		.all<T>();
	return results;
}
