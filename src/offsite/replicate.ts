// The copy outside Cloudflare: one committed snapshot of the primary store copied to another
// store (the S3-compatible replica, or a local mirror), chunk by chunk, each checked on the way
// out of the primary and after its upload, the manifest LAST. With age recipients, every object of
// the copy is encrypted (docs/backup-format.md, "Encrypted copies"); a plain `SHA256SUMS` lists the
// stored bytes, so that anyone can check the copy with `sha256sum -c` without the private key.
import { openChunk, type Decryptor, type Encryptor } from "../snapshots/codec.ts";
import { chunkKey, manifestKey, serializeManifest, sha256Hex, snapshotPrefix, type ChunkEntry, type Manifest } from "../snapshots/format.ts";
import { MANIFEST_SIGNATURE_META, isTrusted, signManifest } from "../snapshots/signature.ts";
import { MANIFEST_SHA_META, listSnapshotFolders, readManifest, type ManifestKeyring, type SnapshotStore } from "../snapshots/store.ts";

/** Name of the checksum list in every copied snapshot folder (sha256sum format). */
export const SUMS_NAME = "SHA256SUMS";
/** The manifest of an encrypted copy. */
export const ENCRYPTED_MANIFEST_NAME = "manifest.json.age";

export class ReplicationError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "ReplicationError";
	}
}

/** The commit point of a copied snapshot: its manifest, plain or encrypted. */
export function copyManifestKey(snapshotId: string, encrypted: boolean): string {
	return encrypted ? `${snapshotPrefix(snapshotId)}${ENCRYPTED_MANIFEST_NAME}` : manifestKey(snapshotId);
}

/** Pure: `sha256  name` lines for the objects of one folder (what `sha256sum -c` reads). */
export function buildSums(entries: ReadonlyArray<{ key: string; sha256: string }>): string {
	return entries.map((e) => `${e.sha256}  ${e.key.slice(e.key.lastIndexOf("/") + 1)}\n`).join("");
}

/** Pure: parse a SHA256SUMS text into name -> sha256. Throws on a malformed line. */
export function parseSums(text: string): Map<string, string> {
	const out = new Map<string, string>();
	for (const line of text.split("\n")) {
		if (!line.trim()) continue;
		const m = /^([0-9a-f]{64}) [ *]([A-Za-z0-9._-]+)$/.exec(line);
		if (!m) throw new ReplicationError(`${SUMS_NAME}: malformed line`);
		out.set(m[2]!, m[1]!);
	}
	return out;
}

export type CopyResult = { snapshotId: string; copied: boolean; objects: number; bytes: number; encrypted: boolean };

/** Put, then read back and compare: "checked after upload" on any store. */
async function putChecked(target: SnapshotStore, key: string, bytes: Uint8Array, metadata: Record<string, string> = {}): Promise<string> {
	const sha256 = sha256Hex(bytes);
	await target.put(key, bytes, { sha256, metadata });
	const back = await target.get(key);
	if (!back || back.size !== bytes.byteLength || sha256Hex(back.bytes) !== sha256) {
		throw new ReplicationError(`${key}: the copy read back does not match what was sent`);
	}
	return sha256;
}

/** Is this snapshot already committed in the target (its manifest present)? */
export async function isCopied(target: SnapshotStore, snapshotId: string, encrypted: boolean): Promise<boolean> {
	return (await target.head(copyManifestKey(snapshotId, encrypted))) !== undefined;
}

/**
 * Copy one committed snapshot from `source` to `target`. Idempotent: a snapshot already committed
 * in the target is skipped; an interrupted copy is redone from the start (its objects are
 * overwritten, and the folder has no manifest until the end, so it never looks whole).
 * Refuses a source snapshot whose manifest is not authenticated by `keyring`.
 */
export async function copySnapshot(
	source: SnapshotStore,
	target: SnapshotStore,
	snapshotId: string,
	options: { keyring: ManifestKeyring; encrypt?: Encryptor; decrypt?: Decryptor; trustSource?: boolean },
): Promise<CopyResult> {
	const encrypted = options.encrypt !== undefined;
	if (await isCopied(target, snapshotId, encrypted)) {
		return { snapshotId, copied: false, objects: 0, bytes: 0, encrypted };
	}
	const read = await readManifest(source, snapshotId, options.keyring);
	if (!read.ok) throw new ReplicationError(read.message);
	if (!options.trustSource && !isTrusted(read.signature)) {
		throw new ReplicationError(`manifest of ${snapshotId} is not authenticated (${read.signature})`);
	}
	const manifest = read.manifest;
	const transformed = encrypted || options.decrypt !== undefined;
	const chunks: ChunkEntry[] = [];
	let bytes = 0;
	for (const entry of manifest.chunks) {
		const stored = (await source.get(entry.key))?.bytes;
		// The source chunk must be exactly what its manifest says before it is copied anywhere.
		const opened = await openChunk(entry, stored, { decrypt: options.decrypt });
		if (!opened.ok) throw new ReplicationError(opened.message);
		// The gzip member is encrypted as a whole: `age -d chunk.age | zcat` gives the NDJSON.
		const plainGzip = options.decrypt ? await options.decrypt.decrypt(stored!) : stored!;
		const out = options.encrypt ? await options.encrypt.encrypt(plainGzip) : plainGzip;
		const key = chunkKey(snapshotId, entry.n, encrypted);
		const sha256 = await putChecked(target, key, out);
		// An encrypted copy is one age stream per chunk: the plain members' byte ranges mean nothing there.
		const { parts, ...rest } = entry;
		chunks.push(options.encrypt || options.decrypt ? { ...rest, key, bytes: out.byteLength, sha256 } : { ...rest, ...(parts ? { parts } : {}), key, bytes: out.byteLength, sha256 });
		bytes += out.byteLength;
	}
	const copy: Manifest = transformed
		? { ...manifest, chunks, bytes, encryption: encrypted ? { scheme: "age", recipients: [...options.encrypt!.recipients] } : null }
		: manifest;
	// An untransformed copy keeps the manifest's exact bytes (and so its signature).
	const text = transformed ? serializeManifest(copy) : read.text;
	const plainBytes = new TextEncoder().encode(text);
	const manifestBytes = encrypted ? await options.encrypt!.encrypt(plainBytes) : plainBytes;
	const metadata: Record<string, string> = { [MANIFEST_SHA_META]: sha256Hex(text) };
	if (!transformed && read.signature === "valid") {
		metadata[MANIFEST_SIGNATURE_META] = (await source.head(manifestKey(snapshotId)))?.metadata[MANIFEST_SIGNATURE_META] ?? "";
	} else if (options.keyring.signingKey) {
		metadata[MANIFEST_SIGNATURE_META] = await signManifest(text, options.keyring.signingKey);
	}
	if (!metadata[MANIFEST_SIGNATURE_META]) delete metadata[MANIFEST_SIGNATURE_META];
	const mKey = copyManifestKey(snapshotId, encrypted);
	// The list of sums first, the manifest (the commit point) last.
	const sums = buildSums([...chunks, { key: mKey, sha256: sha256Hex(manifestBytes) }]);
	await putChecked(target, `${snapshotPrefix(snapshotId)}${SUMS_NAME}`, new TextEncoder().encode(sums));
	await putChecked(target, mKey, manifestBytes, metadata);
	return { snapshotId, copied: true, objects: chunks.length + 2, bytes: bytes + manifestBytes.byteLength, encrypted };
}

/** A problem found by checkCopy in one snapshot of a copy. */
export type CopyProblem = { snapshotId: string; object: string; reason: "missing" | "checksum" | "sums" };

/**
 * Check every object of one copied snapshot against its SHA256SUMS, without any key: a flipped
 * byte, a truncated or missing object is found. (Decrypting and reading the records needs the
 * identity: the administrator's `verify-local --identity` does that part.)
 */
export async function checkCopy(target: SnapshotStore, snapshotId: string): Promise<CopyProblem[]> {
	const sumsObj = await target.get(`${snapshotPrefix(snapshotId)}${SUMS_NAME}`);
	if (!sumsObj) return [{ snapshotId, object: SUMS_NAME, reason: "missing" }];
	let sums: Map<string, string>;
	try {
		sums = parseSums(new TextDecoder().decode(sumsObj.bytes));
	} catch {
		return [{ snapshotId, object: SUMS_NAME, reason: "sums" }];
	}
	const problems: CopyProblem[] = [];
	for (const [name, sha256] of sums) {
		const obj = await target.get(`${snapshotPrefix(snapshotId)}${name}`);
		if (!obj) problems.push({ snapshotId, object: name, reason: "missing" });
		else if (sha256Hex(obj.bytes) !== sha256) problems.push({ snapshotId, object: name, reason: "checksum" });
	}
	return problems;
}

/** Ids of the committed snapshots of a copy (plain or encrypted manifest present), oldest first. */
export async function listCopiedSnapshots(target: SnapshotStore): Promise<string[]> {
	const out: string[] = [];
	for (const id of await listSnapshotFolders(target)) {
		if ((await isCopied(target, id, true)) || (await isCopied(target, id, false))) out.push(id);
	}
	return out;
}
