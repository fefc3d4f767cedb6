// The layout of export files in the bucket (CSV exports made by the export Workflow), read and
// written through the SnapshotStore port. Exports are NOT snapshots: they live under their own
// prefix, `exports/<id>/`, which nothing that lists, keeps, verifies or copies snapshots looks at
// (those only read `snapshots/`). An export is deleted EXPORT_KEEP_DAYS after it was asked for.
//   exports/<id>/progress.json        where the job stands (rewritten by each step)
//   exports/<id>/piece-000000.csv     the file's pieces, in order (000000 starts with BOM and header);
//   exports/<id>/piece-000001.csv     each grows page by page up to EXPORT_PIECE_BYTES, then the next begins
//   exports/<id>/manifest.json        written LAST: the file is complete (the commit point)
// Runs in workerd and in Node: hence the explicit ".ts" imports.
import type { SnapshotStore } from "./store.ts";

export const EXPORT_PREFIX = "exports/";
/** Export files are deleted this long after they were asked for (docs/decisions.md). */
export const EXPORT_KEEP_DAYS = 7;

/** `csv-2026-12-03T052400Z-ab12cd34`: the kind, the time asked (UTC, sorts), a random suffix. */
const EXPORT_ID = /^csv-(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})Z-([a-z0-9]{8})$/;

export function buildExportId(at: Date, random: string): string {
	const iso = at.toISOString();
	return `csv-${iso.slice(0, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z-${random}`;
}

export function isExportId(id: string): boolean {
	return EXPORT_ID.test(id);
}

/** The time encoded in an export id, or undefined when the id is malformed. */
export function parseExportTime(id: string): Date | undefined {
	const m = EXPORT_ID.exec(id);
	if (!m) return undefined;
	const d = new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
	return Number.isNaN(d.getTime()) ? undefined : d;
}

export const exportPrefix = (id: string) => `${EXPORT_PREFIX}${id}/`;
export const exportPieceKey = (id: string, n: number) => `${exportPrefix(id)}piece-${String(n).padStart(6, "0")}.csv`;
export const exportProgressKey = (id: string) => `${exportPrefix(id)}progress.json`;
export const exportManifestKey = (id: string) => `${exportPrefix(id)}manifest.json`;

export type ExportFormat = "excel" | "raw";
export type ExportLocale = "fr" | "en";

/** What was asked for, fixed when the job starts. */
export type ExportRequest = {
	id: string;
	kind: "csv";
	format: ExportFormat;
	locale: ExportLocale;
	timeZone: string;
	requestedAt: string;
	/** The download's name (reponses-2026-12-03.csv …). */
	fileName: string;
};

/** Where the job stands. `rows` and `rowsTotal` are submissions; `pieces` counts piece objects. */
export type ExportProgress = ExportRequest & {
	status: "queued" | "running" | "failed";
	rows: number;
	rowsTotal: number | null;
	pieces: number;
	bytes: number;
	/** The Workflow instance doing the work now (chained instances: `<id>-part2` …). */
	instance: string;
	finishedAt: string | null;
	error: string | null;
};

/**
 * The finished file: its piece objects concatenated in order are `bytes` bytes of `contentType`.
 * `pieces` holds each piece's size. One piece is one object, which a request returns as it is.
 */
export type ExportManifest = ExportRequest & {
	format_name: "cafes-partenaires-export";
	version: 1;
	status: "complete";
	contentType: string;
	rows: number;
	rowsTotal: number;
	bytes: number;
	/** Bytes of each piece, in order (their sum is `bytes`). */
	pieces: number[];
	finishedAt: string;
};

const JSON_TYPE = "application/json";

export async function putExportProgress(store: SnapshotStore, progress: ExportProgress): Promise<void> {
	await store.put(exportProgressKey(progress.id), JSON.stringify(progress), { contentType: JSON_TYPE });
}

/** Commit an export: its manifest, written after every piece is stored. */
export async function putExportManifest(store: SnapshotStore, manifest: ExportManifest): Promise<void> {
	await store.put(exportManifestKey(manifest.id), JSON.stringify(manifest), { contentType: JSON_TYPE });
}

export type ExportState = { done: true; manifest: ExportManifest } | { done: false; progress: ExportProgress };

/** Where export `id` stands: its manifest when complete, else its progress; undefined when unknown. */
export async function readExportState(store: SnapshotStore, id: string): Promise<ExportState | undefined> {
	const manifest = await store.get(exportManifestKey(id));
	if (manifest) return { done: true, manifest: JSON.parse(new TextDecoder().decode(manifest.bytes)) as ExportManifest };
	const progress = await store.get(exportProgressKey(id));
	if (progress) return { done: false, progress: JSON.parse(new TextDecoder().decode(progress.bytes)) as ExportProgress };
	return undefined;
}

/**
 * Append one page of the file to its pieces, idempotently (a retried step writes the same bytes):
 * the page goes at the end of the last piece, read back and rewritten, unless that would take the
 * piece over `pieceBytes`, when it begins the next piece. `pieces` are the sizes recorded so far:
 * a piece object longer than recorded (a retry after its write) is cut back to that size first.
 * Returns the new sizes.
 */
export async function appendExportPage(
	store: SnapshotStore,
	id: string,
	pieces: readonly number[],
	page: Uint8Array,
	pieceBytes: number,
	contentType: string,
): Promise<number[]> {
	const last = pieces.length - 1;
	const lastBytes = pieces[last] ?? 0;
	if (last < 0 || (lastBytes > 0 && lastBytes + page.byteLength > pieceBytes)) {
		await store.put(exportPieceKey(id, last + 1), page, { contentType });
		return [...pieces, page.byteLength];
	}
	const stored = await store.get(exportPieceKey(id, last));
	const before = stored?.bytes ?? new Uint8Array(0);
	if (before.byteLength < lastBytes) throw new Error(`export ${id}: piece ${last} is shorter than recorded`);
	const joined = new Uint8Array(lastBytes + page.byteLength);
	joined.set(before.subarray(0, lastBytes));
	joined.set(page, lastBytes);
	await store.put(exportPieceKey(id, last), joined, { contentType });
	return [...pieces.slice(0, last), joined.byteLength];
}

/**
 * The finished file as one stream: each piece read from the store and written on as it comes,
 * never the whole file in memory. `sink` receives the bytes (a FixedLengthStream's writable, so
 * that a missing or short piece makes the download fail instead of ending early). Not closed on
 * error: the caller aborts it.
 */
export async function pumpExportFile(store: SnapshotStore, manifest: ExportManifest, sink: WritableStream<Uint8Array>): Promise<void> {
	for (let n = 0; n < manifest.pieces.length; n++) {
		const piece = await store.getStream(exportPieceKey(manifest.id, n));
		if (!piece) throw new Error(`export ${manifest.id}: piece ${n} is missing`);
		await piece.body.pipeTo(sink, { preventClose: true });
	}
	await sink.close();
}

/**
 * Pure: which export folders are due for deletion at `now`: those asked for more than `keepDays`
 * ago (by the time in their id), oldest first, at most `limit`. A folder whose name is not an
 * export id is left alone.
 */
export function planExportCleanup(folderIds: readonly string[], now: Date, keepDays = EXPORT_KEEP_DAYS, limit = 20): string[] {
	const cutoff = now.getTime() - keepDays * 86_400_000;
	return folderIds
		.filter((id) => {
			const t = parseExportTime(id);
			return t !== undefined && t.getTime() < cutoff;
		})
		.sort()
		.slice(0, limit);
}

/** Ids of every export folder in the store. */
export async function listExportIds(store: SnapshotStore): Promise<string[]> {
	return (await store.listFolders(EXPORT_PREFIX)).map((p) => p.slice(EXPORT_PREFIX.length, -1));
}

/**
 * Delete the exports asked for more than `keepDays` before `now`, at most `limit` per call (the
 * hourly cron calls it: a backlog goes down by `limit` an hour). The manifest goes first, so
 * that a deletion cut short leaves an unfinished export, never a complete one missing pieces.
 * Returns the ids deleted.
 */
export async function deleteOldExports(store: SnapshotStore, now: Date, keepDays = EXPORT_KEEP_DAYS, limit = 20): Promise<string[]> {
	const due = planExportCleanup(await listExportIds(store), now, keepDays, limit);
	for (const id of due) {
		await store.delete([exportManifestKey(id)]);
		await store.delete((await store.list(exportPrefix(id))).map((o) => o.key));
	}
	return due;
}
