// Weekly verification, the pure parts: which snapshots to check, how to batch their chunks into
// Workflow steps, and the restore drill's rules of comparison with the live data.
import { EMPTY_DIGEST, addDigests, recordDigest, type ChunkEntry, type Row } from "../snapshots/format";

// ---------------------------------------------------------------------------------------------
// Sample

/**
 * Which snapshots to re-read. `sample` 0 = all. Otherwise the newest (always: it is the one a
 * restore would use) plus the `sample - 1` checked least recently (never checked first, then the
 * oldest check; ties: the older snapshot first), so that over the weeks every snapshot is read.
 * `ids` newest first; `lastChecked` maps a snapshot id to the ISO time of its last check.
 */
export function buildVerifySample(ids: readonly string[], lastChecked: ReadonlyMap<string, string>, sample: number): string[] {
	if (sample <= 0 || ids.length <= sample) return [...ids];
	const [newest, ...rest] = ids;
	const order = [...rest].sort((a, b) => {
		const ca = lastChecked.get(a) ?? "";
		const cb = lastChecked.get(b) ?? "";
		if (ca !== cb) return ca < cb ? -1 : 1;
		return a < b ? -1 : 1;
	});
	const chosen = new Set([newest!, ...order.slice(0, sample - 1)]);
	return ids.filter((id) => chosen.has(id));
}

// ---------------------------------------------------------------------------------------------
// Batches

/** Compressed bytes read per Workflow step (and at most this many chunks): bounded CPU per step. */
export const STEP_BYTE_BUDGET = 16 * 1024 * 1024;
export const STEP_MAX_CHUNKS = 64;

/** Consecutive chunk ranges [from, to] (1-based, inclusive), each within the step budget. */
export function buildChunkBatches(
	chunks: readonly Pick<ChunkEntry, "n" | "bytes">[],
	byteBudget = STEP_BYTE_BUDGET,
	maxChunks = STEP_MAX_CHUNKS,
): Array<[number, number]> {
	const batches: Array<[number, number]> = [];
	let start = -1;
	let bytes = 0;
	for (const c of chunks) {
		if (start >= 0 && (bytes + c.bytes > byteBudget || c.n - start >= maxChunks)) {
			batches.push([start, c.n - 1]);
			start = -1;
		}
		if (start < 0) {
			start = c.n;
			bytes = 0;
		}
		bytes += c.bytes;
	}
	if (start >= 0) batches.push([start, chunks[chunks.length - 1]!.n]);
	return batches;
}

// ---------------------------------------------------------------------------------------------
// The restore drill

/**
 * What of a table can be compared with the live database, long after the snapshot:
 * - tables with a `seq` bound: the rows with seq <= bound, which later inserts never touch;
 *   - `roles.use_count` and `roles.last_used_at` change with every new submission, and
 *     `label`, `approved_at`, `merged_into` with the administrator's approvals, renames and merges
 *     (audit-logged): ignored;
 *   - `submissions` erased on request after the snapshot are gone from D1 by design: the drill
 *     leaves out of the snapshot side every submission listed in `erased_submissions`;
 * - tables without a bound (counters, backup_runs, erased_submissions) are updated in place or
 *   grow without a seq: there is no live state to compare with, so they are not compared.
 */
export type DrillRule =
	| { compare: true; ignoreColumns: string[]; excludeErased: boolean }
	| { compare: false; why: string };

const IGNORED_COLUMNS: Record<string, string[]> = {
	roles: ["use_count", "last_used_at", "label", "approved_at", "merged_into"],
};

export function buildDrillRule(table: string, bound: number | null): DrillRule {
	if (bound === null) return { compare: false, why: "no seq bound: updated in place, nothing stable to compare" };
	return { compare: true, ignoreColumns: IGNORED_COLUMNS[table] ?? [], excludeErased: table === "submissions" };
}

/** The row reduced to the compared columns (`columns` = the snapshot's columns, when known). */
export function projectRow(row: Row, ignore: readonly string[], columns?: readonly string[]): Row {
	const out: Row = {};
	for (const key of columns ?? Object.keys(row)) {
		if (ignore.includes(key)) continue;
		out[key] = key in row ? row[key]! : null;
	}
	return out;
}

/** Per-table running totals of one side of the drill (carried between Workflow steps). */
export type DrillSide = { rows: number; digest: string };

export function addToSide(side: DrillSide, table: string, row: Row): DrillSide {
	return { rows: side.rows + 1, digest: addDigests(side.digest, recordDigest(table, row)) };
}

export function mergeSides(a: DrillSide, b: DrillSide): DrillSide {
	return { rows: a.rows + b.rows, digest: addDigests(a.digest, b.digest) };
}

export const EMPTY_SIDE: DrillSide = { rows: 0, digest: EMPTY_DIGEST };

export type DrillTableResult = {
	table: string;
	compared: boolean;
	/** Why the table is not compared, or what differs. */
	note: string | null;
	snapshotRows: number;
	liveRows: number | null;
	/** Submissions left out of the snapshot side because they were erased on request since. */
	erasedSinceSnapshot: number;
	ok: boolean;
};

/** Pure: one table's verdict from both sides' totals. */
export function compareDrillTable(input: {
	table: string;
	rule: DrillRule;
	snapshot: DrillSide;
	live: DrillSide | null;
	erased: number;
}): DrillTableResult {
	const { table, rule, snapshot, live, erased } = input;
	if (!rule.compare || !live) {
		return { table, compared: false, note: rule.compare ? "not read" : rule.why, snapshotRows: snapshot.rows, liveRows: null, erasedSinceSnapshot: 0, ok: true };
	}
	let note: string | null = null;
	if (live.rows !== snapshot.rows) note = `${snapshot.rows} rows in the snapshot, ${live.rows} live`;
	else if (live.digest !== snapshot.digest) note = "same number of rows, different content";
	return { table, compared: true, note, snapshotRows: snapshot.rows, liveRows: live.rows, erasedSinceSnapshot: erased, ok: note === null };
}
