// Restore planning, pure: which tables a restore touches and how, the request schema, the record
// lines to load, and the dry-run comparison. No bindings here (see load.ts for the I/O; the SQL
// that loads rows is in src/db/restore-tables.ts).
import { z } from "zod";
import { describeChunk, isRecord } from "../snapshots/codec";
import { canonicalRow, describePart, isChunkKeyOf, partsOf, type ChunkEntry, type Manifest, type Row, type SnapshotRecord } from "../snapshots/format";
import { checkSnapshotRow, describeRowKey, type RowCheckContext } from "./rows";

export const RESTORE_MODES = ["dry-run", "merge", "replace"] as const;
export type RestoreMode = (typeof RESTORE_MODES)[number];

/** Body of POST /api/admin/restore. dry-run is the default: a restore never writes by surprise. */
export const restoreRequestSchema = z.strictObject({
	snapshotId: z
		.string({ error: "is required" })
		.regex(/^\d{4}-\d{2}-\d{2}T\d{6}Z-[a-z0-9]{1,32}$/, "must be a snapshot id such as 2026-11-25T020000Z-abc123"),
	mode: z.enum(RESTORE_MODES, { error: 'must be "dry-run", "merge" or "replace"' }).default("dry-run"),
	/**
	 * Explicit override: restore a snapshot whose manifest is not authenticated by this deployment's
	 * BACKUP_SIGNING_KEY (written before signing existed, or with another key). Logged.
	 */
	allowUnsigned: z.boolean({ error: "must be true or false" }).default(false),
});
export type RestoreRequest = z.output<typeof restoreRequestSchema>;

/**
 * How one table is restored.
 * - key: the natural key; merge is INSERT OR IGNORE on it, dry-run compares by it.
 * - seq: the table has an AUTOINCREMENT `seq`; merge keeps the snapshot's seq when it is free.
 * - keepLiveOnReplace: replace takes the union of live and snapshot rows instead of the snapshot
 *   alone. Erasure tables are like this: an erasure made after the snapshot must survive it.
 */
export type RestoreTable = { table: string; key: string; seq: boolean; keepLiveOnReplace: boolean };

/**
 * Tables a restore writes, in load order. Erasure tables come first so that their ids are known
 * before submissions are written. counters are loaded, then reconciled with the rows (they are
 * derived data; see docs/restore-runbook.md). Not restored (operational history of this
 * installation, not the questionnaire's data): backup_runs, audit_log, restore_runs.
 */
export const RESTORE_TABLES: readonly RestoreTable[] = [
	{ table: "erasures", key: "id", seq: true, keepLiveOnReplace: true },
	{ table: "erased_submissions", key: "submission_id", seq: false, keepLiveOnReplace: true },
	{ table: "roles", key: "role_key", seq: true, keepLiveOnReplace: false },
	{ table: "submissions", key: "id", seq: true, keepLiveOnReplace: false },
	{ table: "counters", key: "name", seq: false, keepLiveOnReplace: false },
];

export const OPERATIONAL_TABLES = ["backup_runs", "audit_log", "restore_runs"] as const;

export function findRestoreTable(name: string): RestoreTable | undefined {
	return RESTORE_TABLES.find((t) => t.table === name);
}

export const STAGE_PREFIX = "restore_stage_";
export const UNDO_PREFIX = "restore_undo_";

/** Bytes per INSERT statement: one JSON parameter of at most ~MAX_PARAM_BYTES (D1 caps a value at 2 MB). */
export const MAX_PARAM_BYTES = 900_000;

/**
 * Join NDJSON record lines into JSON arrays of at most maxBytes each (a single huge line goes
 * alone). The lines are passed to SQLite as they are: no JSON.parse/stringify round trip in JS.
 */
export function joinLinesForParams(lines: readonly string[], maxBytes = MAX_PARAM_BYTES): string[] {
	const groups: string[] = [];
	let current: string[] = [];
	let size = 2;
	for (const line of lines) {
		const n = line.length + 1;
		if (current.length > 0 && size + n > maxBytes) {
			groups.push(`[${current.join(",")}]`);
			current = [];
			size = 2;
		}
		current.push(line);
		size += n;
	}
	if (current.length > 0) groups.push(`[${current.join(",")}]`);
	return groups;
}

const RECORD_PREFIX = /^\{"table":"([a-z_][a-z0-9_]*)","row":/;

/**
 * Group a decoded chunk's lines by restorable table, without parsing every line: the writer
 * emits `{"table":"…","row":…}`, recognised by its prefix; any other spelling (another writer
 * or version) falls back to JSON.parse. Lines of other tables are dropped.
 */
export function groupRecordLines(text: string): Map<string, string[]> {
	const out = new Map<string, string[]>();
	let start = 0;
	while (start < text.length) {
		let end = text.indexOf("\n", start);
		if (end === -1) end = text.length;
		const line = text.slice(start, end);
		start = end + 1;
		if (line.length === 0) continue;
		const table = RECORD_PREFIX.exec(line)?.[1] ?? (JSON.parse(line) as { table: string }).table;
		if (!findRestoreTable(table)) continue;
		let lines = out.get(table);
		if (!lines) out.set(table, (lines = []));
		lines.push(line);
	}
	return out;
}

/** Column names of one record line (a table's rows in one snapshot share the same columns). */
export function columnsOfLine(line: string): string[] {
	return Object.keys((JSON.parse(line) as { row: Record<string, unknown> }).row);
}

const FIRST_ID = /"id":"((?:[^"\\]|\\.)*)"/;

/**
 * The submission id of a record line. The writer's lines are `{"table":…,"row":{"seq":…,"id":"…"`,
 * and inside `answers` (a JSON string) quotes are escaped, so the first `"id":"` is the row's
 * id; other spellings fall back to JSON.parse.
 */
export function submissionIdOfLine(line: string): string {
	if (RECORD_PREFIX.test(line)) {
		const m = FIRST_ID.exec(line);
		if (m) return m[1]!.includes("\\") ? (JSON.parse(`"${m[1]}"`) as string) : m[1]!;
	}
	return String((JSON.parse(line) as { row: { id?: unknown } }).row.id);
}

/** Drop the lines of erased submissions; returns the kept lines and how many were dropped. */
export function filterErasedLines(lines: readonly string[], erased: ReadonlySet<string>): { kept: string[]; skipped: number } {
	if (erased.size === 0) return { kept: [...lines], skipped: 0 };
	const kept = lines.filter((l) => !erased.has(submissionIdOfLine(l)));
	return { kept, skipped: lines.length - kept.length };
}

/** Columns to insert: those the snapshot's rows have AND the live table has. */
export function pickColumns(rowColumns: readonly string[], liveColumns: readonly string[]): string[] {
	const seen = new Set(rowColumns);
	return liveColumns.filter((c) => seen.has(c));
}

/** Group a chunk's records by restorable table; records of other tables are ignored. */
export function groupRestorable(records: readonly SnapshotRecord[]): Map<string, Row[]> {
	const out = new Map<string, Row[]>();
	for (const r of records) {
		if (!findRestoreTable(r.table)) continue;
		let rows = out.get(r.table);
		if (!rows) out.set(r.table, (rows = []));
		rows.push(r.row);
	}
	return out;
}

/** Submission ids a snapshot says are erased: erased_submissions rows and erasures.submission_ids. */
export function erasedIdsInRecords(records: readonly SnapshotRecord[]): string[] {
	const ids = new Set<string>();
	for (const r of records) {
		if (r.table === "erased_submissions" && typeof r.row.submission_id === "string") ids.add(r.row.submission_id);
		if (r.table === "erasures" && typeof r.row.submission_ids === "string") {
			for (const id of parseIdList(r.row.submission_ids)) ids.add(id);
		}
	}
	return [...ids];
}

function parseIdList(json: string): string[] {
	try {
		const v: unknown = JSON.parse(json);
		return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
	} catch {
		return [];
	}
}

// ---------------------------------------------------------------------------------------------
// Verification of a chunk's records (the verification pass, before any write)

/** A snapshot row refused by its checks: where it is and why, never what it holds. */
export type RejectedRow = { table: string; key: string; chunk: number; line: number; reason: string };
/** Refused rows: how many, and the first MAX_REJECTED_LISTED of them (reports stay small). */
export type RejectedRows = { total: number; rows: RejectedRow[] };
export const MAX_REJECTED_LISTED = 100;

export function addRejected(a: RejectedRows, b: RejectedRows): RejectedRows {
	return { total: a.total + b.total, rows: [...a.rows, ...b.rows].slice(0, MAX_REJECTED_LISTED) };
}

/** The refusal of a write restore whose snapshot has refused rows (nothing is written). */
export function describeRejected(r: RejectedRows): string {
	const first = r.rows[0];
	const rows = r.total === 1 ? "1 row of the snapshot fails its checks" : `${r.total} rows of the snapshot fail their checks`;
	const example = first ? ` (first: ${first.table} ${first.key}, ${first.reason})` : "";
	return `${rows}${example}; nothing was written. A dry run lists them (docs/restore-runbook.md, "Contrôle des lignes").`;
}

const NOT_CANONICAL = "record: not in the form the backup writes (a repeated column, or a value spelled differently)";

export type ChunkScan = { ok: true; erasedIds: string[]; rejected: RejectedRows } | { ok: false; reason: string };

/** One part's scan: as a chunk's, plus its records per table (the chunk's are checked when summed). */
export type PartScan = { ok: true; erasedIds: string[]; rejected: RejectedRows; counts: Record<string, number> } | { ok: false; reason: string };

/**
 * Pure: check the decoded text of one chunk (checksums already matched). A line that is not a
 * {table,row} record, or per-table counts that differ from the manifest, refuse the whole
 * snapshot; a record of a restored table that fails checkSnapshotRow, or that is not exactly
 * JSON.stringify of itself, is a refused row (named, by table, key and position). Canonical lines
 * matter because the load passes these very lines to SQLite, whose JSON reader takes the first
 * of two repeated keys (JavaScript takes the last) and reads 9223372036854775807 exactly (JavaScript
 * rounds it): only a canonical line is read the same way by the check and by the INSERT.
 */
export function scanChunkText(entry: ChunkEntry, text: string, context: RowCheckContext): ChunkScan {
	const { parts: _, ...whole } = entry;
	const scan = scanPartText(whole, 0, text, context);
	if (!scan.ok) return scan;
	const counted = findCountsProblem(entry, scan.counts);
	return counted ? { ok: false, reason: counted } : { ok: true, erasedIds: scan.erasedIds, rejected: scan.rejected };
}

/** Pure: why a chunk's per-table counts (summed over its parts) differ from its entry, or undefined. */
export function findCountsProblem(entry: ChunkEntry, counts: Record<string, number>): string | undefined {
	const where = describeChunk(entry);
	const expected = entry.tables ?? {};
	const total = Object.values(counts).reduce((a, b) => a + b, 0);
	if (total !== entry.rows) return `${where}: ${total} records, manifest says ${entry.rows}`;
	const same = Object.keys(counts).length === Object.keys(expected).length && Object.entries(counts).every(([t, c]) => expected[t] === c);
	return same ? undefined : `${where}: records per table differ from the manifest`;
}

/**
 * Pure: scanChunkText for ONE part of a chunk (`index` in partsOf(entry)): the same checks of every
 * line, its record count against the part's; line numbers count from the chunk's first line (the
 * records of the parts before it: one line each).
 */
export function scanPartText(entry: ChunkEntry, index: number, text: string, context: RowCheckContext): PartScan {
	const parts = partsOf(entry);
	const where = describePart(entry, index);
	const firstLine = parts.slice(0, index).reduce((a, p) => a + p.rows, 0) + 1;
	const counts: Record<string, number> = {};
	const rejected: RejectedRows = { total: 0, rows: [] };
	const erased = new Set<string>();
	let total = 0;
	for (let start = 0, n = firstLine; start < text.length; n++) {
		let end = text.indexOf("\n", start);
		if (end === -1) end = text.length;
		const line = text.slice(start, end);
		start = end + 1;
		let value: unknown;
		try {
			value = JSON.parse(line);
		} catch {
			return { ok: false, reason: `${where}: line ${n} is not valid JSON` };
		}
		if (!isRecord(value)) return { ok: false, reason: `${where}: line ${n} is not a {table,row} record` };
		counts[value.table] = (counts[value.table] ?? 0) + 1;
		total++;
		if (!findRestoreTable(value.table)) continue;
		for (const id of erasedIdsInRecords([value])) erased.add(id);
		const reason = checkSnapshotRow(value.table, value.row, context) ?? (JSON.stringify(value) === line ? null : NOT_CANONICAL);
		if (reason === null) continue;
		rejected.total++;
		if (rejected.rows.length < MAX_REJECTED_LISTED) {
			const key = describeRowKey(value.table, value.row) ?? `chunk ${entry.n} line ${n}`;
			rejected.rows.push({ table: value.table, key, chunk: entry.n, line: n, reason });
		}
	}
	const expected = parts[index]?.rows ?? 0;
	if (total !== expected) return { ok: false, reason: `${where}: ${total} records, manifest says ${expected}` };
	return { ok: true, erasedIds: [...erased], rejected, counts };
}

/**
 * Check that a manifest is complete before reading chunks: per-table row counts equal the sum of
 * the chunks' counts, and the chunk keys belong to the snapshot. Returns the reason or undefined.
 */
export function findManifestProblem(m: Manifest): string | undefined {
	if (m.encryption) {
		return "snapshot is encrypted; the Worker holds no private key and cannot restore it (see docs/restore-runbook.md)";
	}
	const fromChunks: Record<string, number> = {};
	for (const c of m.chunks) {
		if (!isChunkKeyOf(m.snapshotId, c.key)) return `chunk ${c.n} key is outside the snapshot folder`;
		for (const [t, n] of Object.entries(c.tables ?? {})) fromChunks[t] = (fromChunks[t] ?? 0) + n;
	}
	for (const [t, s] of Object.entries(m.tables)) {
		if ((fromChunks[t] ?? 0) !== s.rows) return `table ${t}: manifest says ${s.rows} rows, chunks hold ${fromChunks[t] ?? 0}`;
	}
	for (const t of Object.keys(fromChunks)) if (!m.tables[t]) return `chunks hold table ${t} absent from the manifest tables`;
	const total = m.chunks.reduce((s, c) => s + c.rows, 0);
	if (total !== m.rows) return `manifest says ${m.rows} rows, chunks hold ${total}`;
	return undefined;
}

// ---------------------------------------------------------------------------------------------
// Dry-run comparison

export const SAMPLE_IDS = 5;

export type TableDiff = {
	/** Rows of the snapshot (this table). */
	inSnapshot: number;
	/** Not in the live table: merge and replace would add them. */
	added: number;
	/** Same key, different content: replace would overwrite them, merge keeps the live version. */
	differ: number;
	unchanged: number;
	/** Live rows absent from the snapshot: replace would remove them (kept for undo). */
	disappear: number;
	/** Erased submissions present in the snapshot: never restored. */
	skippedErased: number;
	samples: { added: string[]; differ: string[]; disappear: string[]; skippedErased: string[] };
};

export function emptyDiff(): TableDiff {
	return {
		inSnapshot: 0,
		added: 0,
		differ: 0,
		unchanged: 0,
		disappear: 0,
		skippedErased: 0,
		samples: { added: [], differ: [], disappear: [], skippedErased: [] },
	};
}

/** Equal on the snapshot's columns (a newer live schema may have extra columns). */
export function isSameRow(snapshotRow: Row, liveRow: Row): boolean {
	const projected: Row = {};
	for (const k of Object.keys(snapshotRow)) projected[k] = liveRow[k] ?? null;
	return canonicalRow(projected) === canonicalRow(snapshotRow);
}

/**
 * Compare one chunk's rows of a table with the live rows of the same keys.
 * `erased` holds submission ids never to restore. Only ids go into samples, never content.
 */
export function diffRows(
	spec: RestoreTable,
	snapshotRows: readonly Row[],
	liveByKey: ReadonlyMap<string, Row>,
	erased: ReadonlySet<string>,
): TableDiff {
	const d = emptyDiff();
	for (const row of snapshotRows) {
		const key = String(row[spec.key] ?? "");
		d.inSnapshot++;
		if (spec.table === "submissions" && erased.has(key)) {
			d.skippedErased++;
			pushSample(d.samples.skippedErased, key);
			continue;
		}
		const live = liveByKey.get(key);
		if (!live) {
			d.added++;
			pushSample(d.samples.added, key);
		} else if (isSameRow(row, live)) d.unchanged++;
		else {
			d.differ++;
			pushSample(d.samples.differ, key);
		}
	}
	return d;
}

function pushSample(list: string[], id: string): void {
	if (list.length < SAMPLE_IDS && !list.includes(id)) list.push(id);
}

/** Sum two partial diffs (chunk by chunk). */
export function addDiffs(a: TableDiff, b: TableDiff): TableDiff {
	const samples = { added: [...a.samples.added], differ: [...a.samples.differ], disappear: [...a.samples.disappear], skippedErased: [...a.samples.skippedErased] };
	for (const k of Object.keys(samples) as (keyof TableDiff["samples"])[]) for (const id of b.samples[k]) pushSample(samples[k], id);
	return {
		inSnapshot: a.inSnapshot + b.inSnapshot,
		added: a.added + b.added,
		differ: a.differ + b.differ,
		unchanged: a.unchanged + b.unchanged,
		disappear: a.disappear + b.disappear,
		skippedErased: a.skippedErased + b.skippedErased,
		samples,
	};
}

/**
 * Finish a table's diff: live rows not matched by any snapshot key would disappear on replace
 * (never for keepLiveOnReplace tables). Samples come from candidate live keys (the newest rows)
 * that no chunk contained.
 */
export function finishDiff(spec: RestoreTable, d: TableDiff, liveCount: number, unmatchedCandidates: readonly string[]): TableDiff {
	if (spec.keepLiveOnReplace) return d;
	const matched = d.differ + d.unchanged;
	const disappear = Math.max(0, liveCount - matched);
	return { ...d, disappear, samples: { ...d.samples, disappear: disappear > 0 ? unmatchedCandidates.slice(0, SAMPLE_IDS) : [] } };
}

/** A restore run id, also the Workflow instance id: sorts by time, [a-z0-9-] only. */
export function buildRestoreId(at: Date, random: string): string {
	const iso = at.toISOString();
	return `restore-${iso.slice(0, 10)}t${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}z-${random}`;
}

export function isRestoreId(id: string): boolean {
	return /^restore-\d{4}-\d{2}-\d{2}t\d{6}z-[a-z0-9]{1,32}$/.test(id);
}
