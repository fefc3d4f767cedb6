// The snapshot format (see docs/backup-format.md): ids, object keys, records, the manifest and the
// content digest. Pure: no bindings here. The bytes of a chunk are made and read by codec.ts.
// This is the contract that must outlive the code: readers must keep reading every version.
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";

export const FORMAT_NAME = "cafes-partenaires-snapshot";
/** Current format version written by this code. Readers accept every version <= this one. */
export const FORMAT_VERSION = 1;
export const SNAPSHOT_PREFIX = "snapshots/";

// ---------------------------------------------------------------------------------------------
// Keys and ids

/** `2026-11-25T020000Z-<random>`: sorts by time, readable, safe in URLs and object keys. */
export function buildSnapshotId(at: Date, random: string): string {
	const iso = at.toISOString(); // 2026-11-25T02:00:00.000Z
	const compact = `${iso.slice(0, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
	return `${compact}-${random}`;
}

const SNAPSHOT_ID = /^(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})Z-([a-z0-9]{1,32})$/;

export function isSnapshotId(id: string): boolean {
	return SNAPSHOT_ID.test(id);
}

/** The time encoded in a snapshot id, or undefined when the id is malformed. */
export function parseSnapshotTime(id: string): Date | undefined {
	const m = SNAPSHOT_ID.exec(id);
	if (!m) return undefined;
	const d = new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
	return Number.isNaN(d.getTime()) ? undefined : d;
}

export function snapshotPrefix(snapshotId: string): string {
	return `${SNAPSHOT_PREFIX}${snapshotId}/`;
}

export function chunkKey(snapshotId: string, n: number, encrypted = false): string {
	return `${snapshotPrefix(snapshotId)}chunk-${String(n).padStart(6, "0")}.ndjson.gz${encrypted ? ".age" : ""}`;
}

/**
 * Is `key` a chunk of this snapshot's own folder (`snapshots/<id>/chunk-NNNNNN.ndjson.gz[.age]`)?
 * A manifest is data: readers check each chunk key with this before reading or serving it, so a
 * tampered manifest cannot point them at another snapshot's objects or anything else in the bucket.
 */
export function isChunkKeyOf(snapshotId: string, key: string): boolean {
	const prefix = snapshotPrefix(snapshotId);
	return key.startsWith(prefix) && /^chunk-\d{6,}\.ndjson\.gz(\.age)?$/.test(key.slice(prefix.length));
}

export function manifestKey(snapshotId: string): string {
	return `${snapshotPrefix(snapshotId)}manifest.json`;
}

// ---------------------------------------------------------------------------------------------
// Records and chunks

/** A column value as stored in D1. */
export type Cell = string | number | null;
/** One table row, column name -> value. */
export type Row = Record<string, Cell>;
/** One line of a chunk: a row tagged with its table. */
export type SnapshotRecord = { table: string; row: Row };

export type ChunkEntry = {
	/** 1-based chunk number. */
	n: number;
	/** Full object key in the bucket. */
	key: string;
	/** Size of the stored object in bytes. */
	bytes: number;
	/** SHA-256 of the stored bytes, lowercase hex (what `sha256sum` prints). */
	sha256: string;
	/** Records in the chunk, and per table. */
	rows: number;
	tables: Record<string, number>;
	/**
	 * Optional (written since 2026-12; absent in older snapshots and in encrypted copies): the
	 * chunk's gzip members, in order. Each is a byte range of the stored chunk that is a complete
	 * gzip member by itself, so a reader can check and load one part without the whole chunk
	 * (an R2 range read). The ranges are contiguous and cover the whole object.
	 */
	parts?: ChunkPart[];
};

/** One gzip member of a plain chunk: where it is, its SHA-256 and how many records it holds. */
export type ChunkPart = {
	/** Byte offset of the member in the stored chunk. */
	offset: number;
	/** Its length in bytes. */
	bytes: number;
	/** SHA-256 of those bytes, lowercase hex (`tail -c +$((offset+1)) | head -c bytes | sha256sum`). */
	sha256: string;
	/** Records in it. */
	rows: number;
};

/**
 * Pure: the parts a reader goes through for a chunk: its `parts`, or, for a chunk written without
 * them (older snapshots, encrypted copies), the whole chunk as one part. One read path for both.
 */
export function partsOf(entry: Pick<ChunkEntry, "bytes" | "sha256" | "rows" | "parts">): ChunkPart[] {
	return entry.parts && entry.parts.length > 0 ? entry.parts : [{ offset: 0, bytes: entry.bytes, sha256: entry.sha256, rows: entry.rows }];
}

/**
 * Pure: why a chunk's `parts` list is unusable (not contiguous from 0, not covering the object,
 * rows not adding up to the chunk's), or undefined when it is fine or absent.
 */
export function findPartsProblem(entry: Pick<ChunkEntry, "n" | "bytes" | "rows" | "parts">): string | undefined {
	if (entry.parts === undefined) return undefined;
	if (!Array.isArray(entry.parts) || entry.parts.length === 0) return `chunk ${entry.n}: parts list is empty or invalid`;
	let at = 0;
	let rows = 0;
	for (const [i, p] of entry.parts.entries()) {
		const ok =
			typeof p === "object" &&
			p !== null &&
			Number.isInteger(p.offset) &&
			Number.isInteger(p.bytes) &&
			p.bytes > 0 &&
			Number.isInteger(p.rows) &&
			p.rows >= 0 &&
			typeof p.sha256 === "string" &&
			/^[0-9a-f]{64}$/.test(p.sha256);
		if (!ok) return `chunk ${entry.n}: part ${i + 1} is invalid`;
		if (p.offset !== at) return `chunk ${entry.n}: part ${i + 1} does not start where part ${i} ends`;
		at += p.bytes;
		rows += p.rows;
	}
	if (at !== entry.bytes) return `chunk ${entry.n}: parts cover ${at} bytes, the chunk has ${entry.bytes}`;
	if (rows !== entry.rows) return `chunk ${entry.n}: parts hold ${rows} records, the chunk ${entry.rows}`;
	return undefined;
}

/** How a part is named in messages: chunk number and key, part number (1-based), byte range. */
export function describePart(entry: Pick<ChunkEntry, "n" | "key" | "parts">, index: number): string {
	if (!entry.parts?.length) return `chunk ${entry.n} (${entry.key})`;
	const p = entry.parts[index]!;
	return `chunk ${entry.n} (${entry.key}) part ${index + 1}/${entry.parts.length} (bytes ${p.offset}-${p.offset + p.bytes - 1})`;
}

export type TableSummary = {
	rows: number;
	/** Column names in schema order at snapshot time (informative; records carry their own names). */
	columns?: string[];
	/** Content digest of the table's records (see contentDigest below). */
	digest: string;
	/** The table's consistency bound: the highest `seq` included, or null for unbounded tables. */
	bound: number | null;
};

export type Manifest = {
	format: typeof FORMAT_NAME;
	version: number;
	snapshotId: string;
	trigger: "scheduled" | "manual";
	/** The backup run (Workflow instance) that wrote it. */
	runId: string;
	startedAt: string;
	finishedAt: string;
	appVersion: string;
	/** Name of the last applied D1 migration when the snapshot was taken. */
	schemaVersion: string;
	tables: Record<string, TableSummary>;
	rows: number;
	bytes: number;
	chunks: ChunkEntry[];
	/** Digest of all tables' digests; compare with a live database or a restore. */
	contentDigest: string;
	compression: "gzip";
	encryption: null | { scheme: "age"; recipients: string[] };
};

export class FormatError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "FormatError";
	}
}

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Hashes and the content digest

export function sha256Hex(data: Uint8Array | string): string {
	return createHash("sha256").update(data).digest("hex");
}

/** Canonical JSON of a row: keys sorted, so the digest does not depend on column order. */
export function canonicalRow(row: Row): string {
	const keys = Object.keys(row).sort();
	return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(row[k])}`).join(",")}}`;
}

const MOD = 1n << 256n;
const TWO_32 = 2 ** 32;
/** Adds between two carry propagations: 2^20 * (2^32 - 1) + carries stays below 2^53 (exact doubles). */
const ADDS_PER_NORMALIZE = 1 << 20;

/**
 * Running content digest: the sum modulo 2^256 of 256-bit big-endian record hashes, kept as 8
 * 32-bit words (most significant first) in plain numbers, with carries propagated lazily.
 * Mathematically the same value as the BigInt definition below (tested), without BigInt or hex
 * per record: this is what keeps a million-row backup affordable.
 */
export class DigestSum {
	private readonly words = [0, 0, 0, 0, 0, 0, 0, 0];
	private pending = 0;

	/** Add a 32-byte SHA-256 value read as a big-endian integer. */
	addBytes(d: Uint8Array): void {
		const w = this.words;
		for (let j = 0; j < 8; j++) {
			const o = 4 * j;
			w[j]! += ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
		}
		if (++this.pending >= ADDS_PER_NORMALIZE) this.normalize();
	}

	/** Add a digest given as 64 hex digits (a partial sum carried between steps). */
	addHex(hex: string): void {
		if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error("digest must be 64 lowercase hex digits");
		for (let j = 0; j < 8; j++) this.words[j]! += Number.parseInt(hex.slice(8 * j, 8 * j + 8), 16);
		if (++this.pending >= ADDS_PER_NORMALIZE) this.normalize();
	}

	/** Propagate carries; the carry out of the top word is dropped (modulo 2^256). */
	private normalize(): void {
		let carry = 0;
		for (let j = 7; j >= 0; j--) {
			const v = this.words[j]! + carry;
			carry = Math.floor(v / TWO_32);
			this.words[j] = v - carry * TWO_32;
		}
		this.pending = 0;
	}

	/** The sum as 64 lowercase hex digits. */
	toHex(): string {
		this.normalize();
		return this.words.map((w) => w.toString(16).padStart(8, "0")).join("");
	}
}

let hashBase: ReturnType<typeof createHash> | undefined;
let scratch = new Uint8Array(64 * 1024);

/**
 * SHA-256 of the UTF-8 bytes of `table + "\n" + canonical` (one record's hash, 32 bytes).
 * Encodes into a reused buffer and copies a pristine hash object: several times cheaper per call
 * than createHash(string) in workerd, which matters at one call per row.
 */
export function recordHashBytes(table: string, canonical: string): Uint8Array {
	const text = `${table}\n${canonical}`;
	if (text.length * 3 > scratch.byteLength) scratch = new Uint8Array(text.length * 3);
	const { written } = encoder.encodeInto(text, scratch);
	hashBase ??= createHash("sha256");
	return hashBase.copy().update(scratch.subarray(0, written)).digest();
}

const tableHashes = new Map<string, ReturnType<typeof createHash>>();

/**
 * The record hash of one record whose canonical row is given as its UTF-8 bytes: the same value
 * as recordHashBytes(table, canonical), for callers that already hold the encoded bytes (the
 * export reads them out of the chunk it is writing). One pristine hash of `table + "\n"` per
 * table is copied per record: no string, no second encoding.
 */
export function recordHasher(table: string): (canonical: Uint8Array) => Uint8Array {
	let base = tableHashes.get(table);
	if (!base) {
		base = createHash("sha256").update(`${table}\n`);
		tableHashes.set(table, base);
	}
	const pristine = base;
	return (canonical) => pristine.copy().update(canonical).digest();
}

/**
 * The content digest of a set of records is the sum, modulo 2^256, of SHA-256(table + "\n" +
 * canonical row) over its records, as 64 hex digits. It does not depend on record order or on
 * how records are split into chunks, so partial sums can be carried between Workflow steps and
 * a live database can be digested in any order. It detects changed, missing and extra rows; it
 * is a comparison tool, not a security primitive (the chunk SHA-256s protect the bytes).
 */
export function recordDigest(table: string, row: Row): bigint {
	return BigInt(`0x${Buffer.from(recordHashBytes(table, canonicalRow(row))).toString("hex")}`);
}

export const EMPTY_DIGEST = "0".repeat(64);

export function addDigests(a: string, b: string | bigint): string {
	const sum = (BigInt(`0x${a}`) + (typeof b === "bigint" ? b : BigInt(`0x${b}`))) % MOD;
	return sum.toString(16).padStart(64, "0");
}

/** Digest of many rows of one table. */
export function digestRows(table: string, rows: Iterable<Row>): string {
	const sum = new DigestSum();
	for (const row of rows) sum.addBytes(recordHashBytes(table, canonicalRow(row)));
	return sum.toHex();
}

/** The snapshot-wide digest: SHA-256 over "table:digest" lines of every table, sorted by name. */
export function combineTableDigests(tables: Record<string, { digest: string }>): string {
	const lines = Object.keys(tables)
		.sort()
		.map((t) => `${t}:${tables[t]!.digest}\n`)
		.join("");
	return sha256Hex(lines);
}

// ---------------------------------------------------------------------------------------------
// Manifest

/**
 * The manifest's text: JSON indented by 2, except that each part of `chunks[].parts` is written
 * compactly on its own line (a million rows make ~9,000 parts: 1.0 MB instead of 1.8 MB to
 * store, read and parse). Any JSON reader reads both the same; manifests without parts are
 * written exactly as before.
 */
export function serializeManifest(manifest: Manifest): string {
	const compact: string[] = [];
	const chunks = manifest.chunks.map((c) =>
		c.parts ? { ...c, parts: c.parts.map((p) => `\u0000part:${compact.push(JSON.stringify(p)) - 1}`) } : c,
	);
	const text = JSON.stringify({ ...manifest, chunks }, null, 2);
	if (compact.length === 0) return `${text}\n`;
	return `${text.replace(/"\\u0000part:(\d+)"/g, (_, i: string) => compact[Number(i)]!)}\n`;
}

/** Parse and check a manifest of any supported version. Throws FormatError with the reason. */
export function parseManifest(text: string): Manifest {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		throw new FormatError("manifest is not valid JSON");
	}
	const m = value as Partial<Manifest>;
	if (typeof m !== "object" || m === null || m.format !== FORMAT_NAME) {
		throw new FormatError(`manifest format is not "${FORMAT_NAME}"`);
	}
	if (typeof m.version !== "number" || !Number.isInteger(m.version) || m.version < 1) {
		throw new FormatError("manifest version is missing or invalid");
	}
	if (m.version > FORMAT_VERSION) {
		throw new FormatError(
			`manifest version ${m.version} is newer than this reader (${FORMAT_VERSION}); update the application`,
		);
	}
	if (typeof m.snapshotId !== "string" || !isSnapshotId(m.snapshotId)) {
		throw new FormatError("manifest snapshotId is missing or invalid");
	}
	if (!Array.isArray(m.chunks) || typeof m.tables !== "object" || m.tables === null) {
		throw new FormatError("manifest chunks or tables are missing");
	}
	m.chunks.forEach((c, i) => {
		if (
			typeof c?.key !== "string" ||
			typeof c.sha256 !== "string" ||
			!/^[0-9a-f]{64}$/.test(c.sha256) ||
			typeof c.bytes !== "number" ||
			typeof c.rows !== "number" ||
			c.n !== i + 1
		) {
			throw new FormatError(`manifest chunk entry ${i + 1} is invalid`);
		}
		const parts = findPartsProblem(c);
		if (parts) throw new FormatError(`manifest ${parts}`);
	});
	return m as Manifest;
}

