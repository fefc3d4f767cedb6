// The SnapshotStore port: where snapshot objects live (R2, a local directory, an S3-compatible
// bucket elsewhere), and the reads every concern shares on top of it (list snapshots, read and
// check a manifest). Nothing outside an adapter touches a backend's own API.
// Runs in workerd and in Node (the CLI imports it): hence the explicit ".ts" imports.
import {
	FormatError,
	SNAPSHOT_PREFIX,
	isSnapshotId,
	manifestKey,
	parseManifest,
	partsOf,
	serializeManifest,
	sha256Hex,
	type ChunkEntry,
	type Manifest,
} from "./format.ts";
import { inspectChunk, type ChunkInspection, type Decryptor } from "./codec.ts";
import { MANIFEST_SIGNATURE_META, checkManifestSignature, signManifest, type SignatureStatus } from "./signature.ts";

/** What a listing or a head says about one stored object. */
export type ObjectInfo = {
	key: string;
	size: number;
	/** Custom metadata as written by put (listings of some backends omit it: then {}). */
	metadata: Record<string, string>;
};

export type StoredObject = ObjectInfo & { bytes: Uint8Array };
export type ObjectStream = ObjectInfo & { body: ReadableStream<Uint8Array> };

export type PutOptions = {
	/**
	 * SHA-256 of `body`, lowercase hex. The store rejects a body whose hash differs, where the
	 * backend can check it on arrival (R2, S3 and the directory adapter all do): a corrupted upload
	 * is refused, never stored.
	 */
	sha256?: string;
	contentType?: string;
	/** Small string metadata kept with the object (ASCII keys, at most 2 KiB in all). */
	metadata?: Record<string, string>;
	/** Create only: when an object already exists at `key`, nothing is written. */
	ifAbsent?: boolean;
};

/** Why a store operation failed, for callers that react differently (retention and locks). */
export type StoreErrorCode = "locked" | "checksum" | "unavailable" | "denied" | "other";

export class StoreError extends Error {
	readonly code: StoreErrorCode;
	constructor(code: StoreErrorCode, message: string) {
		super(message);
		this.name = "StoreError";
		this.code = code;
	}
}

/**
 * The port. Keys are "/"-separated paths such as `snapshots/<id>/manifest.json`.
 * Contract (tested once, against every adapter, by test/contract/snapshot-store.ts):
 * - `put` is atomic: a reader sees the whole previous object or the whole new one, never a part;
 *   it replaces an existing object unless `ifAbsent` is set, in which case it returns
 *   `{ written: false }` and leaves the existing object untouched. A `sha256` that does not match
 *   the body throws StoreError("checksum") and stores nothing. Idempotent for the same body.
 * - `get`/`getStream`/`head`/`getRange` return undefined for a missing key (never throw for it).
 * - `getRange(key, offset, length)` returns the bytes [offset, offset + length) of the object, fewer
 *   when the object ends first (none at or past its end); `size` is the WHOLE object's size.
 *   One request, never the whole object: a part of a chunk is read without the rest.
 * - `list(prefix)` returns every object whose key starts with `prefix`, sorted by key, however many
 *   (adapters page internally). `listFolders(prefix)` returns the distinct next path segments under
 *   `prefix` that contain at least one object, as full prefixes ending in "/", sorted.
 * - `delete(keys)` removes the keys; a missing key is not an error (idempotent). A backend that
 *   refuses a deletion by policy (a bucket lock) throws StoreError("locked").
 * - Errors other than these are thrown as they come (transient ones are retried by the caller).
 */
export interface SnapshotStore {
	/** What it is, for messages and status ("r2", "directory", "s3"). */
	readonly kind: string;
	put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ written: boolean }>;
	get(key: string): Promise<StoredObject | undefined>;
	getStream(key: string): Promise<ObjectStream | undefined>;
	getRange(key: string, offset: number, length: number): Promise<StoredObject | undefined>;
	head(key: string): Promise<ObjectInfo | undefined>;
	list(prefix: string): Promise<ObjectInfo[]>;
	listFolders(prefix: string): Promise<string[]>;
	delete(keys: readonly string[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Reads shared by every concern, on any store

/** Custom metadata key holding the manifest's own SHA-256. */
export const MANIFEST_SHA_META = "manifest-sha256";

/** Ids of every snapshot *folder* in the store (complete or not), oldest first. */
export async function listSnapshotFolders(store: SnapshotStore): Promise<string[]> {
	const ids: string[] = [];
	for (const p of await store.listFolders(SNAPSHOT_PREFIX)) {
		const id = p.slice(SNAPSHOT_PREFIX.length, -1);
		if (isSnapshotId(id)) ids.push(id);
	}
	return ids.sort();
}

export type ManifestRead =
	| { ok: true; manifest: Manifest; text: string; sha256Recorded: boolean; signature: SignatureStatus }
	| { ok: false; reason: "missing" | "checksum" | "format"; message: string };

/** The key that authenticates manifests (BACKUP_SIGNING_KEY); without it, nothing can be checked. */
export type ManifestKeyring = { signingKey?: string | undefined };

/**
 * Read and check a snapshot's manifest: present, its SHA-256 equal to the one stored in its
 * metadata, parseable by this reader, and its signature checked against `keyring` (see
 * signature.ts; an untrusted signature is reported in `signature`, it is not a read failure: each
 * caller decides). Never throws for a bad manifest.
 */
export async function readManifest(store: SnapshotStore, snapshotId: string, keyring: ManifestKeyring = {}): Promise<ManifestRead> {
	const obj = await store.get(manifestKey(snapshotId));
	if (!obj) return { ok: false, reason: "missing", message: `snapshot ${snapshotId} has no manifest` };
	const text = new TextDecoder().decode(obj.bytes);
	const expected = obj.metadata[MANIFEST_SHA_META];
	if (expected && sha256Hex(text) !== expected) {
		return { ok: false, reason: "checksum", message: `manifest of ${snapshotId} does not match its SHA-256` };
	}
	try {
		const manifest = parseManifest(text);
		if (manifest.snapshotId !== snapshotId) {
			return { ok: false, reason: "format", message: `manifest of ${snapshotId} names another snapshot` };
		}
		const signature = await checkManifestSignature(text, obj.metadata[MANIFEST_SIGNATURE_META], keyring.signingKey);
		return { ok: true, manifest, text, sha256Recorded: Boolean(expected), signature };
	} catch (err) {
		if (err instanceof FormatError) return { ok: false, reason: "format", message: err.message };
		throw err;
	}
}

/**
 * Commit a snapshot: write its manifest (the commit point, so always LAST, after every chunk is
 * stored and checked) with its SHA-256 and, when a signing key is given, its signature in the
 * object's metadata, then read it back through readManifest. Throws when the read-back does not
 * match. Idempotent for the same manifest.
 */
export async function writeManifest(
	store: SnapshotStore,
	manifest: Manifest,
	keyring: ManifestKeyring = {},
): Promise<{ sha256: string; text: string }> {
	const text = serializeManifest(manifest);
	const sha256 = sha256Hex(text);
	const metadata: Record<string, string> = { [MANIFEST_SHA_META]: sha256 };
	if (keyring.signingKey) metadata[MANIFEST_SIGNATURE_META] = await signManifest(text, keyring.signingKey);
	await store.put(manifestKey(manifest.snapshotId), text, { sha256, contentType: "application/json", metadata });
	const back = await readManifest(store, manifest.snapshotId, keyring);
	if (!back.ok) throw new Error(`manifest read-back failed: ${back.message}`);
	if (keyring.signingKey && back.signature !== "valid") throw new Error("manifest read-back failed: its signature does not verify");
	if (back.text !== text) throw new Error("manifest read-back failed: the stored manifest differs from the one written");
	return { sha256, text };
}

/** Every complete snapshot (one with a readable manifest), newest first, with its signature status. */
export async function listManifestReads(
	store: SnapshotStore,
	keyring: ManifestKeyring = {},
): Promise<Array<Extract<ManifestRead, { ok: true }>>> {
	const newestFirst = (await listSnapshotFolders(store)).reverse();
	const out: Array<Extract<ManifestRead, { ok: true }>> = [];
	// Manifests are small: read a few at a time.
	for (let i = 0; i < newestFirst.length; i += 8) {
		const reads = await Promise.all(newestFirst.slice(i, i + 8).map((id) => readManifest(store, id, keyring)));
		for (const r of reads) if (r.ok) out.push(r);
	}
	return out;
}

/** Every complete snapshot (one with a readable manifest), newest first, trusted or not. */
export async function listManifests(store: SnapshotStore): Promise<Manifest[]> {
	return (await listManifestReads(store)).map((r) => r.manifest);
}

/** The stored bytes of one object, or undefined when it does not exist. */
export async function readObjectBytes(store: SnapshotStore, key: string): Promise<Uint8Array | undefined> {
	return (await store.get(key))?.bytes;
}

/** Read one chunk back and inspect it (size, SHA-256, gzip, every record, counts). */
export async function inspectStoredChunk(
	store: SnapshotStore,
	entry: ChunkEntry,
	options: { decrypt?: Decryptor } = {},
): Promise<ChunkInspection> {
	return inspectChunk(entry, await readObjectBytes(store, entry.key), options);
}

/**
 * The stored bytes of part `index` of a chunk (see partsOf): one range read, or undefined when the
 * object is missing. A chunk without `parts` is read whole.
 */
export async function readPartBytes(store: SnapshotStore, entry: ChunkEntry, index: number): Promise<Uint8Array | undefined> {
	const parts = partsOf(entry);
	const part = parts[index];
	if (!part) return undefined;
	if (parts.length === 1 && part.offset === 0) return (await store.get(entry.key))?.bytes;
	return (await store.getRange(entry.key, part.offset, part.bytes))?.bytes;
}

/** Every object key under a prefix. */
export async function listKeys(store: SnapshotStore, prefix: string): Promise<string[]> {
	return (await store.list(prefix)).map((o) => o.key);
}

/** Size of every object under a prefix, by key. */
export async function fetchObjectSizes(store: SnapshotStore, prefix: string): Promise<Map<string, number>> {
	return new Map((await store.list(prefix)).map((o) => [o.key, o.size]));
}
