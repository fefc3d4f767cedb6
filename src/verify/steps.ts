// The I/O of each VerifyWorkflow step: plan from R2 manifests, check a batch of chunks (and, for
// the newest snapshot, feed the restore drill), digest a page of live rows. Small JSON results.
import { type Manifest, type Row } from "../snapshots/format";
import { checkChunk } from "../snapshots/codec";
import { listSnapshotFolders, readManifest, inspectStoredChunk, readObjectBytes, type ManifestKeyring, type SnapshotStore } from "../snapshots/store";
import { describeSignature, isTrusted } from "../snapshots/signature";
import { findExportedTable } from "../snapshots/tables";
import {
	EMPTY_SIDE,
	addToSide,
	buildChunkBatches,
	buildDrillRule,
	buildVerifySample,
	mergeSides,
	projectRow,
	type DrillSide,
} from "./plan";
import type { CorruptItem } from "../db/verification-runs";
import { fetchLastChecks } from "../db/snapshot-checks";
import { fetchErasedSubmissionIds } from "../db/erasures";
import { fetchSeqPage } from "../db/export";

export type VerifyTarget = {
	id: string;
	batches: Array<[number, number]>;
	/** The manifest's per-table rows and digests: the sum over the chunks must give them back. */
	expected: Record<string, { rows: number; digest: string }>;
	/** Bounds of the tables (restore drill of the newest). */
	bounds: Record<string, number | null>;
	bytes: number;
};

export type VerifyPlan = {
	/** Complete snapshots (readable manifest) in R2. */
	snapshotsTotal: number;
	totalBytes: number;
	newest: string | null;
	newestSubmissions: number | null;
	/** The sample to re-read, newest first. */
	targets: VerifyTarget[];
	/** Manifests present but unreadable (checksum or format): corrupt snapshots. */
	unreadable: CorruptItem[];
};

function toTarget(m: Manifest): VerifyTarget {
	const expected: VerifyTarget["expected"] = {};
	const bounds: VerifyTarget["bounds"] = {};
	for (const [t, s] of Object.entries(m.tables)) {
		expected[t] = { rows: s.rows, digest: s.digest };
		bounds[t] = s.bound;
	}
	return { id: m.snapshotId, batches: buildChunkBatches(m.chunks), expected, bounds, bytes: m.bytes };
}

/** Step "plan": list every snapshot in R2 (never D1 alone), choose the sample, batch its chunks. */
export async function planVerification(
	store: SnapshotStore,
	db: D1Database,
	sample: number,
	keyring: ManifestKeyring = {},
): Promise<VerifyPlan> {
	const ids = (await listSnapshotFolders(store)).reverse();
	const manifests: Manifest[] = [];
	const unreadable: CorruptItem[] = [];
	for (let i = 0; i < ids.length; i += 8) {
		const batch = ids.slice(i, i + 8);
		const reads = await Promise.all(batch.map((id) => readManifest(store, id, keyring)));
		reads.forEach((r, j) => {
			// An unauthenticated manifest is reported like a corruption: it may have been planted.
			if (r.ok && !isTrusted(r.signature)) {
				unreadable.push({ snapshotId: batch[j]!, chunk: null, reason: `manifest_${r.signature}`, message: describeSignature(r.signature) });
			} else if (r.ok) manifests.push(r.manifest);
			// "missing": a running or abandoned backup, the backup's GC owns it; not a corruption.
			else if (r.reason !== "missing") unreadable.push({ snapshotId: batch[j]!, chunk: null, reason: `manifest_${r.reason}`, message: r.message });
		});
	}
	const sampled = new Set(buildVerifySample(manifests.map((m) => m.snapshotId), await fetchLastChecks(db), sample));
	return {
		snapshotsTotal: manifests.length,
		totalBytes: manifests.reduce((s, m) => s + m.bytes, 0),
		newest: manifests[0]?.snapshotId ?? null,
		newestSubmissions: manifests[0]?.tables.submissions?.rows ?? null,
		targets: manifests.filter((m) => sampled.has(m.snapshotId)).map(toTarget),
		unreadable,
	};
}

/** What the drill accumulates per table on the snapshot side. */
export type DrillSnapshotTable = DrillSide & { erased: number; columns: string[] | null };

export type BatchResult = {
	chunks: number;
	bytes: number;
	problems: CorruptItem[];
	/** Full-record sums per table (compared with the manifest's digests at the end). */
	tables: Record<string, DrillSide>;
	/** Only for the newest snapshot: the drill's projected sums per table. */
	drill: Record<string, DrillSnapshotTable> | null;
};

/**
 * Step "check <id> <from>-<to>": read chunks one at a time (bounded memory), verify size, SHA-256,
 * gzip, every record and the counts. With `drill`, also decode the records for the restore drill.
 */
export async function checkChunkBatch(
	store: SnapshotStore,
	db: D1Database,
	target: Pick<VerifyTarget, "id" | "bounds">,
	from: number,
	to: number,
	drill: boolean,
): Promise<BatchResult> {
	const result: BatchResult = { chunks: 0, bytes: 0, problems: [], tables: {}, drill: drill ? {} : null };
	const read = await readManifest(store, target.id);
	if (!read.ok) {
		result.problems.push({ snapshotId: target.id, chunk: null, reason: `manifest_${read.reason}`, message: read.message });
		return result;
	}
	const erased = drill ? new Set(await fetchErasedSubmissionIds(db)) : new Set<string>();
	for (let n = from; n <= to; n++) {
		const entry = read.manifest.chunks[n - 1];
		if (!entry) {
			result.problems.push({ snapshotId: target.id, chunk: null, reason: "manifest_changed", message: `chunk ${n} is no longer in the manifest` });
			continue;
		}
		result.chunks++;
		result.bytes += entry.bytes;
		if (!drill) {
			const inspection = await inspectStoredChunk(store, entry);
			if (!inspection.ok) {
				result.problems.push({ snapshotId: target.id, chunk: entry.key, reason: inspection.reason, message: inspection.message });
				continue;
			}
			for (const [t, s] of Object.entries(inspection.tables)) result.tables[t] = mergeSides(result.tables[t] ?? EMPTY_SIDE, s);
			continue;
		}
		const checked = await checkChunk(entry, await readObjectBytes(store, entry.key));
		if (!checked.ok) {
			result.problems.push({ snapshotId: target.id, chunk: entry.key, reason: checked.reason, message: checked.message });
			continue;
		}
		for (const { table, row } of checked.records) {
			result.tables[table] = addToSide(result.tables[table] ?? EMPTY_SIDE, table, row);
			const rule = buildDrillRule(table, target.bounds[table] ?? null);
			const acc = (result.drill![table] ??= { ...EMPTY_SIDE, erased: 0, columns: null });
			acc.columns ??= Object.keys(row);
			if (!rule.compare) continue;
			if (rule.excludeErased && typeof row.id === "string" && erased.has(row.id)) {
				acc.erased++;
				continue;
			}
			const side = addToSide(acc, table, projectRow(row, rule.ignoreColumns));
			acc.rows = side.rows;
			acc.digest = side.digest;
		}
	}
	return result;
}

/** Rows read per live-digest step, in pages of LIVE_PAGE_ROWS. */
export const LIVE_ROWS_PER_STEP = 20_000;
const LIVE_PAGE_ROWS = 500;

/**
 * Step "live <table> after <seq>": the drill's live side, rows with after < seq <= bound in seq
 * order, projected like the snapshot's. Keyset paging: never a whole table in memory.
 */
export async function digestLivePage(
	db: D1Database,
	input: { table: string; after: number; bound: number; columns: string[] | null; ignore: string[] },
	maxRows = LIVE_ROWS_PER_STEP,
): Promise<{ side: DrillSide; last: number; done: boolean }> {
	const table = findExportedTable(input.table);
	if (!table || !table.bounded) throw new Error(`table ${input.table} is not a bounded exported table`);
	let side = EMPTY_SIDE;
	let last = input.after;
	for (let read = 0; read < maxRows; ) {
		const results = await fetchSeqPage<Row>(db, table.name, last, input.bound, LIVE_PAGE_ROWS);
		for (const row of results) side = addToSide(side, table.name, projectRow(row, input.ignore, input.columns ?? undefined));
		read += results.length;
		if (results.length < LIVE_PAGE_ROWS) return { side, last, done: true };
		last = results[results.length - 1]!.seq as number;
	}
	return { side, last, done: false };
}
