// The registry of tables exported into every snapshot (and read back by restores).
// Adding a table to the backup is one line below; its columns are read from the live schema.

/**
 * One exported table.
 * - `key`: a unique, non-null column used to page through the table in order (keyset paging,
 *   never whole tables in memory) and by restores to upsert rows.
 * - `bounded`: the table has a monotonic `seq`; the snapshot includes exactly the rows with
 *   `seq <= bound`, where the bound is read for every bounded table in one D1 batch at the start
 *   of the run. Unbounded tables (small, updated in place) are read as they are when exported.
 */
export type ExportedTable = {
	readonly name: string;
	readonly key: string;
	readonly bounded: boolean;
};

/** Export order = restore order. One line per table. */
export const exportedTables = [
	{ name: "roles", key: "seq", bounded: true },
	{ name: "submissions", key: "seq", bounded: true },
	{ name: "counters", key: "name", bounded: false },
	{ name: "erasures", key: "seq", bounded: true },
	{ name: "erased_submissions", key: "submission_id", bounded: false },
	{ name: "audit_log", key: "seq", bounded: true },
	// Run metadata: lets an administrator see the backup history even after losing D1.
	{ name: "backup_runs", key: "id", bounded: false },
] as const satisfies readonly ExportedTable[];

export type ExportedTableName = (typeof exportedTables)[number]["name"];

export function findExportedTable(name: string): ExportedTable | undefined {
	return exportedTables.find((t) => t.name === name);
}
