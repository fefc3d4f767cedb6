// The platform_usage table: per-UTC-day totals of what this application asked of D1 and R2, and
// the most steps a Workflow instance took. Written once per invocation (one upsert of one row).
import type { UsageDelta } from "../platform/usage-meter";
import type { PlatformUsage } from "../platform/budget";

/**
 * One upsert adding `delta` to the row of `day` (YYYY-MM-DD). The statement itself writes one row,
 * counted in d1_rows_written so that the accounting includes its own cost.
 */
export function buildUsageUpsert(db: D1Database, day: string, delta: UsageDelta): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO platform_usage (day, d1_rows_read, d1_rows_written, r2_class_a, r2_class_b, d1_size_bytes, backup_steps, verify_steps, restore_steps)
			 VALUES (?1, ?2, ?3 + 1, ?4, ?5, ?6, ?7, ?8, ?9)
			 ON CONFLICT (day) DO UPDATE SET
			   d1_rows_read = d1_rows_read + excluded.d1_rows_read,
			   d1_rows_written = d1_rows_written + excluded.d1_rows_written,
			   r2_class_a = r2_class_a + excluded.r2_class_a,
			   r2_class_b = r2_class_b + excluded.r2_class_b,
			   d1_size_bytes = max(d1_size_bytes, excluded.d1_size_bytes),
			   backup_steps = max(backup_steps, excluded.backup_steps),
			   verify_steps = max(verify_steps, excluded.verify_steps),
			   restore_steps = max(restore_steps, excluded.restore_steps)`,
		)
		.bind(
			day,
			delta.d1RowsRead,
			delta.d1RowsWritten,
			delta.r2ClassA,
			delta.r2ClassB,
			delta.d1SizeBytes,
			delta.backupSteps,
			delta.verifySteps,
			delta.restoreSteps,
		);
}

/** The figures the status compares with the plan's limits, as counted by this deployment. */
export type UsageFigures = Omit<PlatformUsage, "r2BytesStored" | "cronTriggers"> & { restoreSteps: number };

/**
 * One query: today's D1 rows, the month's R2 operations, and for each maximum the value of the
 * latest day that recorded one. `day` is today (YYYY-MM-DD); the month is its first 7 characters.
 */
export async function fetchUsageFigures(db: D1Database, day: string): Promise<UsageFigures> {
	const latest = (col: string) => `(SELECT ${col} FROM platform_usage WHERE ${col} > 0 ORDER BY day DESC LIMIT 1)`;
	const row = await db
		.prepare(
			`SELECT
			   (SELECT d1_rows_read FROM platform_usage WHERE day = ?1) AS d1_rows_read,
			   (SELECT d1_rows_written FROM platform_usage WHERE day = ?1) AS d1_rows_written,
			   (SELECT SUM(r2_class_a) FROM platform_usage WHERE day >= ?2 AND day <= ?1) AS r2_class_a,
			   (SELECT SUM(r2_class_b) FROM platform_usage WHERE day >= ?2 AND day <= ?1) AS r2_class_b,
			   ${latest("d1_size_bytes")} AS d1_size_bytes,
			   ${latest("backup_steps")} AS backup_steps,
			   ${latest("verify_steps")} AS verify_steps,
			   ${latest("restore_steps")} AS restore_steps`,
		)
		.bind(day, `${day.slice(0, 7)}-01`)
		.first<Record<string, number | null>>();
	const n = (k: string) => Number(row?.[k] ?? 0);
	return {
		d1RowsReadToday: n("d1_rows_read"),
		d1RowsWrittenToday: n("d1_rows_written"),
		r2ClassAMonth: n("r2_class_a"),
		r2ClassBMonth: n("r2_class_b"),
		d1SizeBytes: n("d1_size_bytes"),
		backupSteps: n("backup_steps"),
		verifySteps: n("verify_steps"),
		restoreSteps: n("restore_steps"),
	};
}

/** D1 rows written today (YYYY-MM-DD) by this application, as recorded so far. */
export async function fetchRowsWrittenOn(db: D1Database, day: string): Promise<number> {
	const row = await db.prepare("SELECT d1_rows_written AS n FROM platform_usage WHERE day = ?").bind(day).first<{ n: number }>();
	return row?.n ?? 0;
}
