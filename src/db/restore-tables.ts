// The restore's SQL on whole tables: the JSON-array INSERT that loads records, the staging copies
// a replace loads into (restore_stage_*) and the copies it keeps for undo (restore_undo_*), the
// swap's DDL, and the reads of the dry-run comparison. Which statements run, in which order and
// in which batch is decided in src/restore/load.ts. Names are checked plain identifiers.
import { fetchTableSql, type IndexDef } from "./schema";
import { quotePlainIdent } from "./sql";

/** `CREATE TABLE x (...)` -> `CREATE TABLE "newName" (...)`: same columns and constraints. */
export function renameCreateTable(sql: string, newName: string): string {
	const m = /^CREATE TABLE\s+(?:"[^"]+"|\w+)\s*\(/i.exec(sql);
	if (!m) throw new Error("unexpected CREATE TABLE statement");
	return `CREATE TABLE ${quotePlainIdent(newName)} (${sql.slice(m[0].length)}`;
}

/** An empty table `newName` with the columns and constraints of `table` (not its indexes). */
export async function buildCreateTableLike(db: D1Database, table: string, newName: string): Promise<D1PreparedStatement> {
	return db.prepare(renameCreateTable(await fetchTableSql(db, table), newName));
}

export function buildDropTable(db: D1Database, table: string, opts: { ifExists: boolean }): D1PreparedStatement {
	return db.prepare(`DROP TABLE ${opts.ifExists ? "IF EXISTS " : ""}${quotePlainIdent(table)}`);
}

export function buildRenameTable(db: D1Database, from: string, to: string): D1PreparedStatement {
	return db.prepare(`ALTER TABLE ${quotePlainIdent(from)} RENAME TO ${quotePlainIdent(to)}`);
}

export function buildDropIndex(db: D1Database, index: IndexDef): D1PreparedStatement {
	return db.prepare(`DROP INDEX ${quotePlainIdent(index.name)}`);
}

/** Recreate an index from its stored CREATE INDEX statement (it follows its table's name). */
export function buildCreateIndex(db: D1Database, index: IndexDef): D1PreparedStatement {
	return db.prepare(index.sql);
}

/**
 * SQL inserting records given as one JSON array parameter (?1, elements `{table, row}`) into
 * `target`, ignoring rows whose natural key (or seq) already exists. json_each keeps D1's
 * 100-parameter limit out of the way: one statement loads thousands of rows.
 * keepSeqWhenFree: write NULL as seq when the snapshot's seq is taken by another row, so the
 * row gets a fresh seq instead of being silently ignored (merge into a non-empty table).
 * Erased submissions are filtered out before (filterErasedLines): a per-row SQL filter costs
 * ~40% of the load time.
 */
export function buildInsertSql(opts: { target: string; columns: readonly string[]; keepSeqWhenFree: boolean }): string {
	const target = quotePlainIdent(opts.target);
	const cols = opts.columns.map(quotePlainIdent);
	const values = opts.columns.map((c) => {
		const v = `j.value ->> '$.row.${c}'`;
		if (c === "seq" && opts.keepSeqWhenFree) {
			return `CASE WHEN EXISTS (SELECT 1 FROM ${target} x WHERE x."seq" = ${v}) THEN NULL ELSE ${v} END`;
		}
		return v;
	});
	return `INSERT OR IGNORE INTO ${target} (${cols.join(", ")}) SELECT ${values.join(", ")} FROM json_each(?1) AS j`;
}

/** One buildInsertSql statement per JSON array of record lines (see joinLinesForParams). */
export function buildInsertRecords(
	db: D1Database,
	opts: { target: string; columns: readonly string[]; keepSeqWhenFree: boolean },
	jsonArrays: readonly string[],
): D1PreparedStatement[] {
	const sql = buildInsertSql(opts);
	return jsonArrays.map((json) => db.prepare(sql).bind(json));
}

/** Copy rows from one table to another with the same schema, keeping seq when it is free. */
function copyRowsSql(from: string, to: string, columns: readonly string[], where = ""): string {
	const cols = columns.map(quotePlainIdent).join(", ");
	const values = columns
		.map((c) =>
			c === "seq" ? `CASE WHEN EXISTS (SELECT 1 FROM ${quotePlainIdent(to)} x WHERE x."seq" = f."seq") THEN NULL ELSE f."seq" END` : `f.${quotePlainIdent(c)}`,
		)
		.join(", ");
	return `INSERT OR IGNORE INTO ${quotePlainIdent(to)} (${cols}) SELECT ${values} FROM ${quotePlainIdent(from)} f ${where}`;
}

/** Copy the rows of `from` into `to` (only those with seq > afterSeq when given), as copyRowsSql. */
export function buildCopyRows(
	db: D1Database,
	from: string,
	to: string,
	columns: readonly string[],
	afterSeq?: number,
): D1PreparedStatement {
	if (afterSeq === undefined) return db.prepare(copyRowsSql(from, to, columns));
	return db.prepare(copyRowsSql(from, to, columns, `WHERE f."seq" > ?1`)).bind(afterSeq);
}

/**
 * Delete from `<prefix>submissions` the submissions listed in `<prefix>erased_submissions`:
 * the live tables (prefix ""), or a staging or kept copy about to become live.
 */
export function buildDeleteErasedSubmissions(db: D1Database, prefix: string): D1PreparedStatement {
	return db.prepare(
		`DELETE FROM ${quotePlainIdent(`${prefix}submissions`)} WHERE id IN (SELECT submission_id FROM ${quotePlainIdent(`${prefix}erased_submissions`)})`,
	);
}

/** Highest seq of a table with a seq (0 when empty). */
export async function fetchMaxSeq(db: D1Database, table: string): Promise<number> {
	const row = await db.prepare(`SELECT COALESCE(MAX(seq), 0) AS m FROM ${quotePlainIdent(table)}`).first<{ m: number }>();
	return row?.m ?? 0;
}

/** Row count of a table and the keys of its newest rows (by rowid), read in one batch. */
export async function fetchCountAndNewestKeys(
	db: D1Database,
	table: string,
	key: string,
	limit: number,
): Promise<{ count: number; keys: string[] }> {
	const t = quotePlainIdent(table);
	const k = quotePlainIdent(key);
	const [count, keys] = await db.batch<Record<string, unknown>>([
		db.prepare(`SELECT COUNT(*) AS n FROM ${t}`),
		db.prepare(`SELECT ${k} AS k FROM ${t} ORDER BY rowid DESC LIMIT ?1`).bind(limit),
	]);
	return {
		count: Number(count!.results[0]?.n ?? 0),
		keys: keys!.results.map((r) => String(r.k)),
	};
}

/** The rows of `table` whose `key` is one of `keys`, by key (read in slices of 5,000 keys). */
export async function fetchRowsByKey<T extends Record<string, unknown>>(
	db: D1Database,
	table: string,
	key: string,
	keys: readonly string[],
): Promise<Map<string, T>> {
	const map = new Map<string, T>();
	for (let i = 0; i < keys.length; i += 5_000) {
		const { results } = await db
			.prepare(`SELECT * FROM ${quotePlainIdent(table)} WHERE ${quotePlainIdent(key)} IN (SELECT value FROM json_each(?1))`)
			.bind(JSON.stringify(keys.slice(i, i + 5_000)))
			.all<T>();
		for (const r of results) map.set(String(r[key]), r);
	}
	return map;
}
