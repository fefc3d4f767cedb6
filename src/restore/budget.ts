// A write restore against D1's daily write limit (Free: 100,000 rows a day): the dry run states
// the rows a merge and a replace would write and whether today's budget holds them; a merge or a
// replace that cannot finish within it is refused before anything is written.
import { fetchRowsWrittenOn } from "../db/platform-usage";
import { fetchLatestDryRunReport } from "../db/restore-runs";
import {
	boundRestoreWrites,
	buildRestoreBudget,
	describeRestoreBudget,
	estimateRestoreWrites,
	type RestoreBudget,
	type RestoreWrites,
	type TableCounts,
	type Words,
} from "../platform/budget";
import type { PlanName } from "../platform/plans";
import { usageDay } from "../platform/usage-meter";

/** The dry run's budget: what merge and replace would write, against today's rows written. */
export async function fetchDryRunBudget(
	db: D1Database,
	plan: PlanName,
	tables: Readonly<Record<string, TableCounts>>,
	chunks: number,
	now: Date,
): Promise<RestoreBudget> {
	const writes = estimateRestoreWrites(tables, chunks);
	return buildRestoreBudget(plan, writes, await fetchRowsWrittenOn(db, usageDay(now)), now);
}

export type WriteBudgetCheck = { ok: true; budget: RestoreBudget } | { ok: false; budget: RestoreBudget; message: Words };

/**
 * Before a merge or a replace starts: the rows it would write (the newest dry run of the snapshot
 * when there is one, else the most the snapshot's rows could cost) against today's budget.
 */
export async function checkWriteBudget(
	db: D1Database,
	plan: PlanName,
	request: { snapshotId: string; mode: "merge" | "replace"; rows: number; chunks: number },
	now: Date,
): Promise<WriteBudgetCheck> {
	const [reportText, writtenToday] = await Promise.all([
		fetchLatestDryRunReport(db, request.snapshotId),
		fetchRowsWrittenOn(db, usageDay(now)),
	]);
	const writes = writesOfReport(reportText) ?? boundRestoreWrites({ rows: request.rows }, request.chunks);
	const budget = buildRestoreBudget(plan, writes, writtenToday, now);
	if (budget[request.mode].fits) return { ok: true, budget };
	return { ok: false, budget, message: describeRestoreBudget(budget, request.mode) };
}

/** The merge and replace rows a stored dry-run report states, or null (an older report has none). */
function writesOfReport(text: string | null): RestoreWrites | null {
	if (!text) return null;
	try {
		const b = (JSON.parse(text) as { budget?: { merge?: { rows?: unknown }; replace?: { rows?: unknown } } }).budget;
		const merge = b?.merge?.rows;
		const replace = b?.replace?.rows;
		return typeof merge === "number" && typeof replace === "number" ? { merge, replace } : null;
	} catch {
		return null;
	}
}
