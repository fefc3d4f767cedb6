// Quoting of SQL identifiers for the statements of src/db/. Table and column names come from the
// code's registries and from the schema (PRAGMA output), never from users; values are always
// bound parameters.

/** Any name, with embedded double quotes doubled (SQLite's rule). */
export function quoteIdent(name: string): string {
	return `"${name.replaceAll('"', '""')}"`;
}

const PLAIN_IDENT = /^[a-z_][a-z0-9_]*$/;

/** A plain lower-case identifier, quoted; anything else throws (the restore's tables and columns). */
export function quotePlainIdent(name: string): string {
	if (!PLAIN_IDENT.test(name)) throw new Error(`not a plain identifier: ${name.slice(0, 40)}`);
	return `"${name}"`;
}
