// Reading snapshots from R2 — the source of truth for what backups exist, so that they stay
// usable when D1 is lost. Writing lives with the export; this file only lists and reads.
import {
	FormatError,
	inspectChunk,
	type ChunkEntry,
	type ChunkInspection,
	SNAPSHOT_PREFIX,
	isSnapshotId,
	manifestKey,
	parseManifest,
	sha256Hex,
	type Manifest,
} from "./format";

/** Custom metadata key holding the manifest's own SHA-256. */
export const MANIFEST_SHA_META = "manifest-sha256";

/**
 * Ids of every snapshot *folder* in the bucket (complete or not), oldest first.
 * Uses delimiter listing, so the cost is one request per 1000 snapshots, not per chunk.
 */
export async function listSnapshotFolders(bucket: R2Bucket): Promise<string[]> {
	const ids: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await bucket.list({ prefix: SNAPSHOT_PREFIX, delimiter: "/", cursor });
		for (const p of page.delimitedPrefixes) {
			const id = p.slice(SNAPSHOT_PREFIX.length, -1);
			if (isSnapshotId(id)) ids.push(id);
		}
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return ids.sort();
}

export type ManifestRead =
	| { ok: true; manifest: Manifest; text: string }
	| { ok: false; reason: "missing" | "checksum" | "format"; message: string };

/**
 * Read and check a snapshot's manifest: present, its SHA-256 equal to the one stored in its
 * custom metadata, and parseable by this reader. Never throws for a bad manifest.
 */
export async function readManifest(bucket: R2Bucket, snapshotId: string): Promise<ManifestRead> {
	const obj = await bucket.get(manifestKey(snapshotId));
	if (!obj) return { ok: false, reason: "missing", message: `snapshot ${snapshotId} has no manifest` };
	const text = await obj.text();
	const expected = obj.customMetadata?.[MANIFEST_SHA_META];
	if (expected && sha256Hex(text) !== expected) {
		return { ok: false, reason: "checksum", message: `manifest of ${snapshotId} does not match its SHA-256` };
	}
	try {
		const manifest = parseManifest(text);
		if (manifest.snapshotId !== snapshotId) {
			return { ok: false, reason: "format", message: `manifest of ${snapshotId} names another snapshot` };
		}
		return { ok: true, manifest, text };
	} catch (err) {
		if (err instanceof FormatError) return { ok: false, reason: "format", message: err.message };
		throw err;
	}
}

/** Every complete snapshot (one with a readable manifest), newest first. */
export async function listManifests(bucket: R2Bucket): Promise<Manifest[]> {
	const ids = await listSnapshotFolders(bucket);
	const manifests: Manifest[] = [];
	// Newest first; manifests are small, read a few at a time.
	const newestFirst = ids.reverse();
	for (let i = 0; i < newestFirst.length; i += 8) {
		const reads = await Promise.all(newestFirst.slice(i, i + 8).map((id) => readManifest(bucket, id)));
		for (const r of reads) if (r.ok) manifests.push(r.manifest);
	}
	return manifests;
}

/** The stored bytes of one object, or undefined when it does not exist. */
export async function readObjectBytes(bucket: R2Bucket, key: string): Promise<Uint8Array | undefined> {
	const obj = await bucket.get(key);
	if (!obj) return undefined;
	return new Uint8Array(await obj.arrayBuffer());
}

/** Read one chunk back from R2 and inspect it (size, SHA-256, gzip, every record, counts). */
export async function inspectStoredChunk(bucket: R2Bucket, entry: ChunkEntry): Promise<ChunkInspection> {
	return inspectChunk(entry, await readObjectBytes(bucket, entry.key));
}

/** Every object key under a prefix (paged listing, 1000 keys per request). */
export async function listKeys(bucket: R2Bucket, prefix: string): Promise<string[]> {
	const keys: string[] = [];
	let cursor: string | undefined;
	do {
		const page = await bucket.list({ prefix, cursor });
		for (const o of page.objects) keys.push(o.key);
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return keys;
}

/** Size of every object under a prefix, by key (paged listing: one request per 1000 objects). */
export async function fetchObjectSizes(bucket: R2Bucket, prefix: string): Promise<Map<string, number>> {
	const sizes = new Map<string, number>();
	let cursor: string | undefined;
	do {
		const page = await bucket.list({ prefix, cursor });
		for (const o of page.objects) sizes.set(o.key, o.size);
		cursor = page.truncated ? page.cursor : undefined;
	} while (cursor);
	return sizes;
}
