// Recovery into a new (or emptied) deployment: a snapshot pushed from an administrator's copy
// through the admin API lands in the primary store exactly as a backup would have written it.
// Each chunk is checked on arrival (gzip, every record); the manifest comes last and is checked
// against every stored chunk (size, SHA-256, rows, per-table and whole content digests) before it
// is written — signed by THIS deployment, so the snapshot is then listed, verified and restorable
// like any other. A committed snapshot is never overwritten.
import { decodeChunk } from "../snapshots/codec";
import { chunkKey, FormatError, isChunkKeyOf, manifestKey, parseManifest, sha256Hex, snapshotPrefix, type Manifest } from "../snapshots/format";
import { listKeys, writeManifest, type ManifestKeyring, type SnapshotStore } from "../snapshots/store";
import { verifyCopy } from "./verify-copy";

export class ImportError extends Error {
	readonly code: "snapshot_exists" | "invalid_chunk" | "invalid_manifest";
	constructor(code: ImportError["code"], message: string) {
		super(message);
		this.name = "ImportError";
		this.code = code;
	}
}

async function refuseCommitted(store: SnapshotStore, snapshotId: string): Promise<void> {
	if (await store.head(manifestKey(snapshotId))) {
		throw new ImportError("snapshot_exists", `snapshot ${snapshotId} already exists here; it is never overwritten`);
	}
}

/** Store chunk `n` of a snapshot being imported, after checking that it is gzip NDJSON records. */
export async function importChunk(
	store: SnapshotStore,
	snapshotId: string,
	n: number,
	bytes: Uint8Array,
): Promise<{ key: string; bytes: number; sha256: string; rows: number }> {
	await refuseCommitted(store, snapshotId);
	let rows: number;
	try {
		rows = decodeChunk(bytes, `chunk ${n}`).length;
	} catch (err) {
		throw new ImportError("invalid_chunk", err instanceof FormatError ? err.message : `chunk ${n}: unreadable`);
	}
	const key = chunkKey(snapshotId, n);
	const sha256 = sha256Hex(bytes);
	await store.put(key, bytes, { sha256, contentType: "application/gzip", metadata: { rows: String(rows) } });
	return { key, bytes: bytes.byteLength, sha256, rows };
}

/** Check the pushed manifest against the stored chunks, remove strays, then commit it (signed). */
export async function commitImport(
	store: SnapshotStore,
	snapshotId: string,
	manifestText: string,
	keyring: ManifestKeyring,
): Promise<Manifest> {
	await refuseCommitted(store, snapshotId);
	let manifest: Manifest;
	try {
		manifest = parseManifest(manifestText);
	} catch (err) {
		throw new ImportError("invalid_manifest", err instanceof FormatError ? err.message : "unreadable manifest");
	}
	if (manifest.snapshotId !== snapshotId) throw new ImportError("invalid_manifest", "the manifest names another snapshot");
	if (manifest.encryption !== null) throw new ImportError("invalid_manifest", "push the decrypted snapshot (`--identity`): the primary copy is not encrypted");
	for (const entry of manifest.chunks) {
		if (!isChunkKeyOf(snapshotId, entry.key) || entry.key.endsWith(".age")) {
			throw new ImportError("invalid_manifest", `chunk ${entry.n}: its key is not a plain chunk of this snapshot`);
		}
	}
	// The same full check as the administrator's verify-local, on what is stored here now.
	const verdict = await verifyCopy(store, snapshotId, { manifest });
	if (!verdict.ok || !verdict.recordsChecked) {
		throw new ImportError("invalid_manifest", verdict.problems[0] ?? "the chunks could not be checked");
	}
	// Only what the manifest lists stays in the folder (`zcat chunk-*` must be the snapshot).
	const listed = new Set(manifest.chunks.map((c) => c.key));
	const strays = (await listKeys(store, snapshotPrefix(snapshotId))).filter((k) => !listed.has(k));
	if (strays.length > 0) await store.delete(strays);
	await writeManifest(store, manifest, keyring);
	return manifest;
}
