// The copy outside Cloudflare: one committed snapshot of the primary store copied to another
// store (the S3-compatible replica, or a local mirror), chunk by chunk, each checked on the way
// out of the primary and after its upload, the manifest LAST. With age recipients, every object of
// the copy is encrypted (docs/backup-format.md, "Encrypted copies"); a plain `SHA256SUMS` lists the
// stored bytes, so that anyone can check the copy with `sha256sum -c` without the private key.
import { checkStoredBytes, openChunk, type Decryptor, type Encryptor } from "../snapshots/codec.ts";
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
 * Runs one unit of the copy: a Workflow step in the backup (`step.do`), or a plain call (the CLI,
 * tests). Each unit's result is small (a few numbers and a hash), whatever the snapshot's size.
 */
export type StepRunner = <T>(name: string, fn: () => Promise<T>) => Promise<T>;
const runDirectly: StepRunner = (_name, fn) => fn();

export type CopyOptions = {
	keyring: ManifestKeyring;
	encrypt?: Encryptor;
	decrypt?: Decryptor;
	trustSource?: boolean;
	/** The source manifest when the caller holds it (the backup's own); otherwise it is read. */
	manifest?: Manifest;
	/** Chunks copied per unit (default 1; more only when a Workflow instance lacks steps). */
	chunksPerUnit?: number;
};

/** What the first unit finds: already committed in the target, or the manifest to copy (its SHA-256). */
export type CopyPlan = { done: boolean; manifestSha256: string; signatureMeta: string | null };

/** One object copied: its number and what was stored (the bytes after encryption). */
export type CopiedChunk = { n: number; bytes: number; sha256: string };

/**
 * Unit 1: skip a snapshot already committed in the target; otherwise read and authenticate the
 * source manifest (and, when the caller passed one, check it is that very manifest).
 */
export async function planCopy(source: SnapshotStore, target: SnapshotStore, snapshotId: string, options: CopyOptions): Promise<CopyPlan> {
	if (await isCopied(target, snapshotId, options.encrypt !== undefined)) return { done: true, manifestSha256: "", signatureMeta: null };
	const read = await readManifest(source, snapshotId, options.keyring);
	if (!read.ok) throw new ReplicationError(read.message);
	if (!options.trustSource && !isTrusted(read.signature)) {
		throw new ReplicationError(`manifest of ${snapshotId} is not authenticated (${read.signature})`);
	}
	if (options.manifest && serializeManifest(options.manifest) !== read.text) {
		throw new ReplicationError(`manifest of ${snapshotId} in the primary differs from the one the backup committed`);
	}
	const signatureMeta = read.signature === "valid" ? ((await source.head(manifestKey(snapshotId)))?.metadata[MANIFEST_SIGNATURE_META] ?? null) : null;
	return { done: false, manifestSha256: sha256Hex(read.text), signatureMeta };
}

/**
 * Unit 2, once per chunk: read it from the source, check it against its manifest entry (size,
 * SHA-256, gzip, records), encrypt it when asked, store it in the target, read it back and compare.
 * Idempotent: a retry overwrites the object.
 */
export async function copyChunk(source: SnapshotStore, target: SnapshotStore, entry: ChunkEntry, snapshotId: string, options: CopyOptions): Promise<CopiedChunk> {
	const stored = (await source.get(entry.key))?.bytes;
	// The source chunk must be exactly what its manifest says before it is copied anywhere: its
	// size and SHA-256 (the same bytes the backup read back and matched); an encrypted source is
	// also opened (decrypted and gunzipped) to prove the identity fits.
	const opened = options.decrypt ? await openChunk(entry, stored, { decrypt: options.decrypt }) : checkStoredBytes(entry, stored);
	if (!opened.ok) throw new ReplicationError(opened.message);
	// The gzip member is encrypted as a whole: `age -d chunk.age | zcat` gives the NDJSON.
	const plainGzip = options.decrypt ? await options.decrypt.decrypt(stored!) : stored!;
	const out = options.encrypt ? await options.encrypt.encrypt(plainGzip) : plainGzip;
	const sha256 = await putChecked(target, chunkKey(snapshotId, entry.n, options.encrypt !== undefined), out);
	return { n: entry.n, bytes: out.byteLength, sha256 };
}

/**
 * Unit 3, last: the copy's manifest (encrypted when asked, re-signed when transformed) from the
 * source manifest and what each chunk unit stored; SHA256SUMS first, then the manifest, the commit
 * point, each read back and compared.
 */
export async function commitCopy(
	target: SnapshotStore,
	manifest: Manifest,
	plan: CopyPlan,
	copied: readonly CopiedChunk[],
	options: CopyOptions,
	sourceText?: string,
): Promise<{ objects: number; bytes: number }> {
	const snapshotId = manifest.snapshotId;
	const encrypted = options.encrypt !== undefined;
	const transformed = encrypted || options.decrypt !== undefined;
	const byN = new Map(copied.map((c) => [c.n, c]));
	let bytes = 0;
	const chunks: ChunkEntry[] = manifest.chunks.map((entry) => {
		const c = byN.get(entry.n);
		if (!c) throw new ReplicationError(`chunk ${entry.n} was not copied`);
		bytes += c.bytes;
		// A transformed copy is one age stream per chunk: the plain members' byte ranges mean nothing there.
		const { parts: _parts, ...rest } = entry;
		return { ...(transformed ? rest : entry), key: chunkKey(snapshotId, entry.n, encrypted), bytes: c.bytes, sha256: c.sha256 };
	});
	const copy: Manifest = transformed
		? { ...manifest, chunks, bytes, encryption: encrypted ? { scheme: "age", recipients: [...options.encrypt!.recipients] } : null }
		: manifest;
	// An untransformed copy keeps the manifest's exact bytes (and so its signature).
	const text = !transformed && sourceText !== undefined ? sourceText : serializeManifest(copy);
	if (!transformed && sha256Hex(text) !== plan.manifestSha256) throw new ReplicationError(`manifest of ${snapshotId} changed during the copy`);
	const plainBytes = new TextEncoder().encode(text);
	const manifestBytes = encrypted ? await options.encrypt!.encrypt(plainBytes) : plainBytes;
	const metadata: Record<string, string> = { [MANIFEST_SHA_META]: sha256Hex(text) };
	if (!transformed && plan.signatureMeta) {
		metadata[MANIFEST_SIGNATURE_META] = plan.signatureMeta;
	} else if (options.keyring.signingKey) {
		metadata[MANIFEST_SIGNATURE_META] = await signManifest(text, options.keyring.signingKey);
	}
	const mKey = copyManifestKey(snapshotId, encrypted);
	// The list of sums first, the manifest (the commit point) last.
	const sums = buildSums([...chunks, { key: mKey, sha256: sha256Hex(manifestBytes) }]);
	await putChecked(target, `${snapshotPrefix(snapshotId)}${SUMS_NAME}`, new TextEncoder().encode(sums));
	await putChecked(target, mKey, manifestBytes, metadata);
	return { objects: chunks.length + 2, bytes: bytes + manifestBytes.byteLength };
}

/**
 * Copy one committed snapshot from `source` to `target`, one unit per object through `run`: the
 * plan, each chunk, then the commit (SHA256SUMS, then the manifest). Idempotent: a snapshot
 * already committed in the target is skipped; an interrupted copy goes on from its last finished
 * unit (a Workflow replays finished steps from their results), its objects overwritten, and the
 * folder has no manifest until the end, so it never looks whole.
 * Refuses a source snapshot whose manifest is not authenticated by `keyring`.
 */
export async function copySnapshot(
	source: SnapshotStore,
	target: SnapshotStore,
	snapshotId: string,
	options: CopyOptions,
	run: StepRunner = runDirectly,
): Promise<CopyResult> {
	const encrypted = options.encrypt !== undefined;
	const plan = await run("plan", () => planCopy(source, target, snapshotId, options));
	if (plan.done) return { snapshotId, copied: false, objects: 0, bytes: 0, encrypted };
	let manifest = options.manifest;
	let sourceText: string | undefined;
	if (!manifest) {
		// Outside a Workflow only (the backup passes its own manifest, checked by the plan).
		const read = await readManifest(source, snapshotId, options.keyring);
		if (!read.ok) throw new ReplicationError(read.message);
		manifest = read.manifest;
		sourceText = read.text;
	}
	const copied: CopiedChunk[] = [];
	const per = Math.max(1, options.chunksPerUnit ?? 1);
	for (let i = 0; i < manifest.chunks.length; i += per) {
		const group = manifest.chunks.slice(i, i + per);
		const name = group.length === 1 ? `chunk ${group[0]!.n}` : `chunks ${group[0]!.n}-${group[group.length - 1]!.n}`;
		copied.push(
			...(await run(name, async () => {
				const out: CopiedChunk[] = [];
				for (const entry of group) out.push(await copyChunk(source, target, entry, snapshotId, options));
				return out;
			})),
		);
	}
	const m = manifest;
	const done = await run("commit", () => commitCopy(target, m, plan, copied, options, sourceText));
	return { snapshotId, copied: true, objects: done.objects, bytes: done.bytes, encrypted };
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
