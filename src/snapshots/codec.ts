// The chunk codec: the ONE write path (record lines -> gzip -> [encryption] -> checksum) and its
// exact inverse (checksum -> [decryption] -> gunzip -> record lines), shared by the export, the
// verification, the restore, the CLI's local checks and the download. Pure: bytes in, bytes out.
// Runs in workerd and, unchanged, in Node (the CLI imports it): hence the explicit ".ts" imports.
import { Buffer } from "node:buffer";
import { gunzipSync, gzipSync } from "node:zlib";
import { FormatError, canonicalRow, describePart, DigestSum, partsOf, recordHashBytes, sha256Hex, type ChunkEntry, type SnapshotRecord } from "./format.ts";

/**
 * Gzip level written by the export. Readers do not care: any level decodes the same. Level 1
 * (measured in workerd, docs/BENCHMARKS.md): less than half the CPU of level 6 for about 10 %
 * larger chunks; levels 2 and 3 cost more for at most 1.5 % less.
 */
export const GZIP_LEVEL = 1;

const encoder = new TextEncoder();
const NEWLINE = 0x0a;

/**
 * An encryption stage (age, for copies outside Cloudflare). `encrypt` must be a pure function of
 * its input as far as readers are concerned: `decrypt(encrypt(x))` is `x`. Both may be async
 * (WebCrypto).
 */
export type Encryptor = { scheme: "age"; recipients: readonly string[]; encrypt(data: Uint8Array): Promise<Uint8Array> };
export type Decryptor = { scheme: "age"; decrypt(data: Uint8Array): Promise<Uint8Array> };

// ---------------------------------------------------------------------------------------------
// Primitives

/** Gzip bytes (one complete gzip member; level 6 by default, like `gzip -6`). */
export function gzip(data: Uint8Array | string, level = GZIP_LEVEL): Uint8Array {
	const out = gzipSync(typeof data === "string" ? encoder.encode(data) : data, { level });
	return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Gunzip bytes; several concatenated members decode to their concatenation (like zcat). */
export function gunzip(data: Uint8Array): Uint8Array {
	const out = gunzipSync(data);
	return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Serialise records as NDJSON (one record per line, each line ending with "\n"). */
export function encodeRecordLines(records: Iterable<SnapshotRecord>): string {
	let out = "";
	for (const r of records) out += `${JSON.stringify(r)}\n`;
	return out;
}

/** A parsed line is a `{table, row}` record whose cells are strings, numbers or null. */
export function isRecord(v: unknown): v is SnapshotRecord {
	if (typeof v !== "object" || v === null) return false;
	const { table, row } = v as { table?: unknown; row?: unknown };
	if (typeof table !== "string" || typeof row !== "object" || row === null || Array.isArray(row)) return false;
	return Object.values(row).every((c) => c === null || typeof c === "string" || typeof c === "number");
}

/** Parse NDJSON text into records, checking the shape of every line. */
export function parseRecordLines(text: string, where = "chunk"): SnapshotRecord[] {
	const records: SnapshotRecord[] = [];
	if (text.length === 0) return records;
	if (!text.endsWith("\n")) throw new FormatError(`${where}: truncated (last line has no newline)`);
	const lines = text.split("\n");
	lines.pop();
	lines.forEach((line, i) => {
		let value: unknown;
		try {
			value = JSON.parse(line);
		} catch {
			throw new FormatError(`${where}: line ${i + 1} is not valid JSON`);
		}
		if (!isRecord(value)) throw new FormatError(`${where}: line ${i + 1} is not a {table,row} record`);
		records.push(value);
	});
	return records;
}

// ---------------------------------------------------------------------------------------------
// The write path

export type SealedChunk = {
	/** The bytes to store. */
	bytes: Uint8Array;
	/** SHA-256 of `bytes`, lowercase hex: what the manifest records and `sha256sum` prints. */
	sha256: string;
	/** Size of the NDJSON before compression. */
	rawBytes: number;
};

/**
 * Record lines -> one gzip member -> (encryption when given) -> checksum. `lines` is NDJSON
 * (each line ending in "\n"), as text or as its UTF-8 bytes, or a list of such byte parts
 * (concatenated without an extra copy per part; parts are released as they are copied).
 */
export async function sealChunk(
	lines: string | Uint8Array | Uint8Array[],
	options: { level?: number; encrypt?: Encryptor } = {},
): Promise<SealedChunk> {
	const raw = typeof lines === "string" ? encoder.encode(lines) : Array.isArray(lines) ? concatParts(lines) : lines;
	let bytes = gzip(raw, options.level ?? GZIP_LEVEL);
	if (options.encrypt) bytes = await options.encrypt.encrypt(bytes);
	return { bytes, sha256: sha256Hex(bytes), rawBytes: raw.byteLength };
}

/**
 * A chunk made of several gzip members (the parts of a chunk, each sealed in its own step): their
 * concatenation, which is one valid gzip stream decoding to the concatenated lines, and its
 * SHA-256. Plain chunks only (encryption would apply to the whole chunk).
 */
export function sealMembers(members: readonly Uint8Array[]): {
	bytes: Uint8Array;
	sha256: string;
	/** Each member's byte range in `bytes` and its SHA-256 (the manifest entry's `parts`). */
	ranges: Array<{ offset: number; bytes: number; sha256: string }>;
} {
	const ranges: Array<{ offset: number; bytes: number; sha256: string }> = [];
	let offset = 0;
	for (const m of members) {
		ranges.push({ offset, bytes: m.byteLength, sha256: sha256Hex(m) });
		offset += m.byteLength;
	}
	const bytes = concatParts([...members]);
	return { bytes, sha256: sha256Hex(bytes), ranges };
}

/**
 * Check a gzip member the writer has just made, before it leaves the step: it decompresses, byte
 * for byte, to the NDJSON it was made from (`written`). Why checking bytes is enough (and
 * stronger than re-parsing every record): each line is JSON.stringify output of the D1 values
 * (see buildRecordLine in src/backup/export.ts), which JSON.parse gives back exactly for every
 * value the export accepts (strings, finite numbers, null); equal bytes mean the same records,
 * counts and record hashes. What is stored is then tied to these members by its SHA-256.
 */
export function checkSealedMember(member: Uint8Array, written: Uint8Array): { ok: true } | ChunkFailure {
	let raw: Uint8Array;
	try {
		raw = gunzip(member);
	} catch {
		return { ok: false, reason: "decode", message: "a part does not gunzip right after compression" };
	}
	const same =
		raw.byteLength === written.byteLength &&
		Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).equals(Buffer.from(written.buffer, written.byteOffset, written.byteLength));
	return same ? { ok: true } : { ok: false, reason: "decode", message: "a part does not decompress to the lines written" };
}

/** Encode records as one plain chunk (gzip of NDJSON), synchronously; for tests and fixtures. */
export function encodeChunk(records: Iterable<SnapshotRecord>): Uint8Array {
	return gzip(encodeRecordLines(records));
}

const EMPTY = new Uint8Array(0);

function concatParts(parts: Uint8Array[]): Uint8Array {
	let total = 0;
	for (const p of parts) total += p.byteLength;
	const all = new Uint8Array(total);
	let at = 0;
	for (let i = 0; i < parts.length; i++) {
		all.set(parts[i]!, at);
		at += parts[i]!.byteLength;
		parts[i] = EMPTY; // let each part go as soon as it is copied
	}
	return all;
}

// ---------------------------------------------------------------------------------------------
// The read path

export type ChunkFailureReason = "missing" | "size" | "checksum" | "decrypt" | "decode" | "rows";
export type ChunkFailure = { ok: false; reason: ChunkFailureReason; message: string };

/** The stored bytes opened: checksum checked, decrypted, gunzipped. */
export type OpenedChunk = { ok: true; raw: Uint8Array } | ChunkFailure;

/** How a chunk is named in messages: its number and key, never its content. */
export function describeChunk(entry: Pick<ChunkEntry, "n" | "key">): string {
	return `chunk ${entry.n} (${entry.key})`;
}

/**
 * The first checks of openChunk, alone: the object exists (`stored` undefined means missing) and
 * has the entry's size and SHA-256. What the writer checks on reading a chunk back: its parts were
 * each decompressed and compared with their lines before upload, so equal SHA-256 proves that
 * the stored bytes are those checked members, and gzip members concatenated decode to their
 * concatenation (RFC 1952); gunzipping them once more would prove nothing new.
 */
export function checkStoredBytes(entry: ChunkEntry, stored: Uint8Array | undefined): { ok: true } | ChunkFailure {
	const where = describeChunk(entry);
	if (!stored) return { ok: false, reason: "missing", message: `${where}: object is missing` };
	if (stored.byteLength !== entry.bytes) {
		return { ok: false, reason: "size", message: `${where}: ${stored.byteLength} bytes, manifest says ${entry.bytes}` };
	}
	if (sha256Hex(stored) !== entry.sha256) {
		return { ok: false, reason: "checksum", message: `${where}: SHA-256 does not match the manifest` };
	}
	return { ok: true };
}

/**
 * The exact inverse of sealChunk, checking as it goes: the object exists (`stored` undefined means
 * missing), has the manifest's size and SHA-256, decrypts (when `decrypt` is given) and gunzips,
 * and ends with a newline. Never throws for bad data.
 */
export async function openChunk(
	entry: ChunkEntry,
	stored: Uint8Array | undefined,
	options: { decrypt?: Decryptor } = {},
): Promise<OpenedChunk> {
	const where = describeChunk(entry);
	const found = checkStoredBytes(entry, stored);
	if (!found.ok) return found;
	let compressed = stored!;
	if (options.decrypt) {
		try {
			compressed = await options.decrypt.decrypt(compressed);
		} catch {
			return { ok: false, reason: "decrypt", message: `${where}: cannot be decrypted with the identity given` };
		}
	}
	let raw: Uint8Array;
	try {
		raw = gunzip(compressed);
	} catch {
		return { ok: false, reason: "decode", message: `${where}: not a valid gzip stream (corrupt or truncated)` };
	}
	if (raw.byteLength > 0 && raw[raw.byteLength - 1] !== NEWLINE) {
		return { ok: false, reason: "decode", message: `${where}: truncated (last line has no newline)` };
	}
	return { ok: true, raw };
}

/** Result of checking one chunk's stored bytes against its manifest entry. */
export type ChunkCheck = { ok: true; records: SnapshotRecord[] } | ChunkFailure;

/** Do the per-table counts equal the manifest entry's? */
function countsMatch(entry: ChunkEntry, total: number, counts: Record<string, number>): boolean {
	const expected = entry.tables ?? {};
	return (
		total === entry.rows &&
		Object.keys(counts).length === Object.keys(expected).length &&
		Object.entries(counts).every(([t, n]) => expected[t] === n)
	);
}

/**
 * Verify a chunk and return its records: openChunk, then UTF-8, every line a {table,row} record,
 * row counts per table as the manifest says.
 */
export async function checkChunk(
	entry: ChunkEntry,
	stored: Uint8Array | undefined,
	options: { decrypt?: Decryptor } = {},
): Promise<ChunkCheck> {
	const opened = await openChunk(entry, stored, options);
	if (!opened.ok) return opened;
	const where = describeChunk(entry);
	let records: SnapshotRecord[];
	try {
		const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(opened.raw);
		records = parseRecordLines(text, where);
	} catch (err) {
		const message = err instanceof FormatError ? err.message : `${where}: not valid UTF-8`;
		return { ok: false, reason: "decode", message };
	}
	const counts: Record<string, number> = {};
	for (const r of records) counts[r.table] = (counts[r.table] ?? 0) + 1;
	if (!countsMatch(entry, records.length, counts)) {
		return { ok: false, reason: "rows", message: `${where}: ${records.length} records, manifest says ${entry.rows}` };
	}
	return { ok: true, records };
}

/** Result of inspecting a stored chunk without keeping its records in memory. */
export type ChunkInspection = { ok: true; tables: Record<string, { rows: number; digest: string }> } | ChunkFailure;

/**
 * Like checkChunk, but memory-bounded: records are parsed one line at a time and only per-table
 * counts and content digests are kept. Raw newlines cannot occur inside JSON strings, so
 * splitting the decompressed bytes on 0x0A is exact.
 */
export async function inspectChunk(
	entry: ChunkEntry,
	stored: Uint8Array | undefined,
	options: { decrypt?: Decryptor } = {},
): Promise<ChunkInspection> {
	const opened = await openChunk(entry, stored, options);
	if (!opened.ok) return opened;
	const where = describeChunk(entry);
	const digested = digestLines(opened.raw, where);
	if (!digested.ok) return digested;
	if (!countsMatch(entry, digested.rows, digested.counts)) {
		return { ok: false, reason: "rows", message: `${where}: ${digested.rows} records, manifest says ${entry.rows}` };
	}
	return { ok: true, tables: digested.tables };
}

type DigestedLines = { ok: true; rows: number; counts: Record<string, number>; tables: Record<string, { rows: number; digest: string }> };

/**
 * Every line of decompressed bytes a UTF-8 JSON {table,row} record: per-table counts and content
 * digests, one line at a time (no records kept). Raw newlines cannot occur inside JSON strings,
 * so splitting on 0x0A is exact. `onRecord`, when given, sees each record.
 */
function digestLines(raw: Uint8Array, where: string, onRecord?: (record: SnapshotRecord) => void): DigestedLines | ChunkFailure {
	const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
	const sums: Record<string, DigestSum> = {};
	const counts: Record<string, number> = {};
	let total = 0;
	for (let start = 0, line = 1; start < raw.byteLength; line++) {
		const end = raw.indexOf(NEWLINE, start);
		let value: unknown;
		try {
			value = JSON.parse(decoder.decode(raw.subarray(start, end)));
		} catch {
			return { ok: false, reason: "decode", message: `${where}: line ${line} is not valid UTF-8 JSON` };
		}
		if (!isRecord(value)) return { ok: false, reason: "decode", message: `${where}: line ${line} is not a {table,row} record` };
		(sums[value.table] ??= new DigestSum()).addBytes(recordHashBytes(value.table, canonicalRow(value.row)));
		counts[value.table] = (counts[value.table] ?? 0) + 1;
		onRecord?.(value);
		total++;
		start = end + 1;
	}
	const tables: Record<string, { rows: number; digest: string }> = {};
	for (const t of Object.keys(counts)) tables[t] = { rows: counts[t]!, digest: sums[t]!.toHex() };
	return { ok: true, rows: total, counts, tables };
}

// ---------------------------------------------------------------------------------------------
// One part of a chunk (a byte range that is one gzip member; see ChunkEntry.parts)

/**
 * The checks of openChunk for ONE part (`index` in partsOf(entry)): the range read (`stored`,
 * undefined = the object is missing) has the part's size and SHA-256, gunzips, ends with a
 * newline. A chunk without `parts` is one part: its whole bytes against the entry's SHA-256.
 * Plain chunks only (an encrypted chunk is opened whole by openChunk). Never throws for bad data.
 */
export function openPart(entry: ChunkEntry, index: number, stored: Uint8Array | undefined): OpenedChunk {
	const part = partsOf(entry)[index];
	const where = describePart(entry, index);
	if (!part) return { ok: false, reason: "missing", message: `${where}: no such part` };
	if (!stored) return { ok: false, reason: "missing", message: `${where}: object is missing` };
	if (stored.byteLength !== part.bytes) {
		return { ok: false, reason: "size", message: `${where}: ${stored.byteLength} bytes read, manifest says ${part.bytes}` };
	}
	if (sha256Hex(stored) !== part.sha256) return { ok: false, reason: "checksum", message: `${where}: SHA-256 does not match the manifest` };
	let raw: Uint8Array;
	try {
		raw = gunzip(stored);
	} catch {
		return { ok: false, reason: "decode", message: `${where}: not a valid gzip stream (corrupt or truncated)` };
	}
	if (raw.byteLength > 0 && raw[raw.byteLength - 1] !== NEWLINE) {
		return { ok: false, reason: "decode", message: `${where}: truncated (last line has no newline)` };
	}
	return { ok: true, raw };
}

/** Result of inspecting one part: per-table counts and content digests (never its records). */
export type PartInspection = { ok: true; rows: number; tables: Record<string, { rows: number; digest: string }> } | ChunkFailure;

/**
 * openPart, then every line a UTF-8 JSON {table,row} record, as many records as the part entry
 * says; returns per-table counts and content digests (the chunk's per-table counts are checked
 * by the caller once every part of the chunk is summed). `onRecord`, when given, sees each record.
 */
export function inspectPart(
	entry: ChunkEntry,
	index: number,
	stored: Uint8Array | undefined,
	onRecord?: (record: SnapshotRecord) => void,
): PartInspection {
	const opened = openPart(entry, index, stored);
	if (!opened.ok) return opened;
	const where = describePart(entry, index);
	const digested = digestLines(opened.raw, where, onRecord);
	if (!digested.ok) return digested;
	const expected = partsOf(entry)[index]!.rows;
	if (digested.rows !== expected) return { ok: false, reason: "rows", message: `${where}: ${digested.rows} records, manifest says ${expected}` };
	return { ok: true, rows: digested.rows, tables: digested.tables };
}

/** Pure: do a chunk's per-table counts, summed over its parts, equal its manifest entry's? */
export function checkChunkCounts(entry: ChunkEntry, counts: Record<string, number>): { ok: true } | ChunkFailure {
	const total = Object.values(counts).reduce((a, b) => a + b, 0);
	if (countsMatch(entry, total, counts)) return { ok: true };
	return { ok: false, reason: "rows", message: `${describeChunk(entry)}: records per table differ from the manifest (${total} records, manifest says ${entry.rows})` };
}

/** Decode one plain stored chunk into its records, without a manifest entry. Throws FormatError. */
export function decodeChunk(bytes: Uint8Array, where = "chunk"): SnapshotRecord[] {
	let raw: Uint8Array;
	try {
		raw = gunzip(bytes);
	} catch {
		throw new FormatError(`${where}: not a valid gzip stream (corrupt or truncated)`);
	}
	let text: string;
	try {
		text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(raw);
	} catch {
		throw new FormatError(`${where}: not valid UTF-8`);
	}
	return parseRecordLines(text, where);
}
