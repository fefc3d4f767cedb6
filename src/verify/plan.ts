// Weekly verification, the pure parts: which snapshots and which of their chunks to read (the
// rotating sample), and the restore drill's rules of comparison with the live data.
import { EMPTY_DIGEST, addDigests, recordDigest, type Row } from "../snapshots/format";

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

// ---------------------------------------------------------------------------------------------
// Rotating sample of chunks (restic's `check --read-data-subset`, turned each week)

/** What the selection needs of one snapshot: its id and the number of parts of each chunk. */
export type SnapshotShape = { id: string; partsPerChunk: number[] };

/** Chunks of one snapshot to read this run, as ranges [from, to] (1-based chunk numbers). */
export type SnapshotRead = { id: string; ranges: Array<[number, number]>; whole: boolean };

export type ReadSelection = {
	/** In the order given (newest first); snapshots with nothing to read are left out. */
	reads: SnapshotRead[];
	/** Where the next run goes on ("<snapshotId>/<n>" of the last chunk read), null = from the start. */
	cursor: string | null;
	chunksTotal: number;
	chunksRead: number;
	partsTotal: number;
	partsRead: number;
	/** Weekly runs needed to read every chunk once at this budget (1 when everything is read). */
	cycleRuns: number;
};

/** Pure: "<snapshotId>/<n>", and back. */
export function buildCursor(id: string, n: number): string {
	return `${id}/${n}`;
}
function parseCursor(cursor: string | null): { id: string; n: number } | null {
	const m = cursor ? /^(.+)\/(\d+)$/.exec(cursor) : null;
	return m ? { id: m[1]!, n: Number(m[2]) } : null;
}

/**
 * Pure: which chunks this run reads. The newest snapshot is read whole every time (a restore
 * would use it; the drill compares it with the live data). The other snapshots' chunks, in
 * (snapshot id, chunk) order, are read from just after `cursor` on, wrapping around, until
 * `budgetParts` parts are spent (what the newest took counts; at least a quarter of the budget is
 * left for the others, and at least one chunk is read), so every chunk comes round within
 * `cycleRuns` runs. When everything fits, everything is read and the cursor is cleared.
 */
export function buildReadSelection(snapshots: readonly SnapshotShape[], cursor: string | null, budgetParts: number): ReadSelection {
	const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
	const chunksTotal = sum(snapshots.map((s) => s.partsPerChunk.length));
	const partsTotal = sum(snapshots.map((s) => sum(s.partsPerChunk)));
	const [newest, ...others] = snapshots;
	if (!newest) return { reads: [], cursor: null, chunksTotal: 0, chunksRead: 0, partsTotal: 0, partsRead: 0, cycleRuns: 1 };
	const whole = (s: SnapshotShape): SnapshotRead => ({ id: s.id, ranges: s.partsPerChunk.length ? [[1, s.partsPerChunk.length]] : [], whole: true });
	const newestParts = sum(newest.partsPerChunk);
	const othersBudget = Math.max(budgetParts - newestParts, Math.ceil(budgetParts / 4), 1);
	const othersParts = partsTotal - newestParts;
	if (othersParts <= othersBudget) {
		return { reads: snapshots.map(whole), cursor: null, chunksTotal, chunksRead: chunksTotal, partsTotal, partsRead: partsTotal, cycleRuns: 1 };
	}
	// Every other chunk, oldest snapshot first.
	const items: Array<{ id: string; n: number; parts: number }> = [];
	for (const s of [...others].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
		s.partsPerChunk.forEach((parts, i) => items.push({ id: s.id, n: i + 1, parts }));
	}
	const at = parseCursor(cursor);
	let start = at ? items.findIndex((x) => x.id > at.id || (x.id === at.id && x.n > at.n)) : 0;
	if (start < 0) start = 0;
	const taken: typeof items = [];
	let spent = 0;
	for (let k = 0; k < items.length; k++) {
		const x = items[(start + k) % items.length]!;
		if (taken.length > 0 && spent + x.parts > othersBudget) break;
		taken.push(x);
		spent += x.parts;
	}
	const byId = new Map<string, number[]>();
	for (const x of taken) byId.set(x.id, [...(byId.get(x.id) ?? []), x.n]);
	const reads: SnapshotRead[] = [whole(newest)];
	for (const s of others) {
		const ns = (byId.get(s.id) ?? []).sort((a, b) => a - b);
		if (ns.length === 0) continue;
		const ranges: Array<[number, number]> = [];
		for (const n of ns) {
			const last = ranges[ranges.length - 1];
			if (last && last[1] === n - 1) last[1] = n;
			else ranges.push([n, n]);
		}
		reads.push({ id: s.id, ranges, whole: ns.length === s.partsPerChunk.length });
	}
	const lastTaken = taken[taken.length - 1]!;
	return {
		reads,
		cursor: buildCursor(lastTaken.id, lastTaken.n),
		chunksTotal,
		chunksRead: newest.partsPerChunk.length + taken.length,
		partsTotal,
		partsRead: newestParts + spent,
		cycleRuns: Math.ceil(othersParts / othersBudget),
	};
}

/** Pure: the coverage sentence of a run, in French and English (reports, dashboard, CLI). */
export function describeCoverage(sel: Pick<ReadSelection, "chunksTotal" | "chunksRead" | "cycleRuns">): { fr: string; en: string } {
	if (sel.chunksTotal === 0) return { fr: "aucun morceau à relire", en: "no chunk to read" };
	if (sel.chunksRead >= sel.chunksTotal) return { fr: "tous les morceaux relus cette semaine", en: "every chunk read this week" };
	const pct = Math.max(1, Math.floor((100 * sel.chunksRead) / sel.chunksTotal));
	return {
		fr: `${pct} % des morceaux relus cette semaine ; tous relus en ${sel.cycleRuns} semaines`,
		en: `${pct}% of the chunks read this week; all read within ${sel.cycleRuns} weeks`,
	};
}
