// Schema introspection: a table's columns, explicit indexes and CREATE statement, whether it
// exists, and the last migration applied (the schema version a snapshot records).
import { quotePlainIdent } from "./sql";

/** Column names in schema order; empty when the table does not exist. */
export async function fetchColumns(db: D1Database, table: string): Promise<string[]> {
	const { results } = await db.prepare(`PRAGMA table_info(${quotePlainIdent(table)})`).all<{ name: string }>();
	return results.map((r) => r.name);
}

export type IndexDef = { name: string; sql: string };

/** Explicit indexes of a table (not the automatic ones behind UNIQUE/PRIMARY KEY). */
export async function fetchIndexes(db: D1Database, table: string): Promise<IndexDef[]> {
	const { results } = await db
		.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL`)
		.bind(table)
		.all<IndexDef>();
	return results;
}

/** The table's CREATE TABLE statement as stored by SQLite; throws when the table does not exist. */
export async function fetchTableSql(db: D1Database, table: string): Promise<string> {
	const row = await db
		.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1`)
		.bind(table)
		.first<{ sql: string }>();
	if (!row) throw new Error(`table ${table} does not exist`);
	return row.sql;
}

export async function tableExists(db: D1Database, name: string): Promise<boolean> {
	const row = await db.prepare(`SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?1`).bind(name).first();
	return row !== null;
}

/** Name of the last applied migration ("unknown" when the migrations table is absent). */
export async function fetchSchemaVersion(db: D1Database): Promise<string> {
	try {
		const row = await db.prepare("SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1").first<{ name: string }>();
		return row?.name ?? "none";
	} catch {
		return "unknown";
	}
}
