// Full check of one copied snapshot in any store (the administrator's mirror, the replica): the
// SHA256SUMS of the stored bytes, then — when the manifest can be read (plain, or encrypted with an
// identity given) — every chunk decrypted, gunzipped and parsed, its rows counted and digested, and
// the per-table and whole content digests compared with the manifest. Runs in Node (the CLI) and in
// workerd: hence the explicit ".ts" imports.
import type { Decryptor } from "../snapshots/codec.ts";
import { inspectChunk } from "../snapshots/codec.ts";
import { combineTableDigests, DigestSum, FormatError, isChunkKeyOf, manifestKey, parseManifest, snapshotPrefix, type Manifest } from "../snapshots/format.ts";
import type { SnapshotStore } from "../snapshots/store.ts";
import { ENCRYPTED_MANIFEST_NAME, SUMS_NAME, checkCopy } from "./replicate.ts";

export type CopyVerdict = {
	snapshotId: string;
	/** Everything checked and matching. */
	ok: boolean;
	/** The manifest is encrypted. */
	encrypted: boolean;
	/** The records were read (false: only the stored bytes' sums could be checked, no identity given). */
	recordsChecked: boolean;
	rows: number;
	chunks: number;
	/** One plain sentence per problem (ids and reasons, never a record's content). */
	problems: string[];
	manifest: Manifest | null;
};

/** Read the copy's manifest (plain or encrypted). */
async function readCopyManifest(
	store: SnapshotStore,
	snapshotId: string,
	decrypt: Decryptor | undefined,
): Promise<{ manifest: Manifest | null; encrypted: boolean; problem?: string }> {
	const plain = await store.get(manifestKey(snapshotId));
	const enc = plain ? undefined : await store.get(`${snapshotPrefix(snapshotId)}${ENCRYPTED_MANIFEST_NAME}`);
	if (!plain && !enc) return { manifest: null, encrypted: false, problem: "no manifest: incomplete copy" };
	let text: string;
	if (plain) text = new TextDecoder().decode(plain.bytes);
	else if (!decrypt) return { manifest: null, encrypted: true };
	else {
		try {
			text = new TextDecoder().decode(await decrypt.decrypt(enc!.bytes));
		} catch {
			return { manifest: null, encrypted: true, problem: "the manifest cannot be decrypted with the identity given" };
		}
	}
	try {
		const manifest = parseManifest(text);
		if (manifest.snapshotId !== snapshotId) return { manifest: null, encrypted: !plain, problem: "the manifest names another snapshot" };
		return { manifest, encrypted: !plain };
	} catch (err) {
		return { manifest: null, encrypted: !plain, problem: err instanceof FormatError ? err.message : "unreadable manifest" };
	}
}

/**
 * `options.manifest`: check the stored chunks against this manifest instead of the stored one (an
 * import checks what was pushed before committing it).
 */
export async function verifyCopy(
	store: SnapshotStore,
	snapshotId: string,
	options: { decrypt?: Decryptor; manifest?: Manifest } = {},
): Promise<CopyVerdict> {
	const problems: string[] = [];
	// Stored bytes first: needs no key, catches a flipped byte in any object (plain copies written
	// by an older version may have no SHA256SUMS: their manifest's checksums cover the chunks).
	const hasSums = (await store.head(`${snapshotPrefix(snapshotId)}${SUMS_NAME}`)) !== undefined;
	if (hasSums) for (const p of await checkCopy(store, snapshotId)) problems.push(`${p.object}: ${p.reason === "checksum" ? "SHA-256 differs from SHA256SUMS" : p.reason === "missing" ? "missing" : "malformed SHA256SUMS"}`);
	const read = options.manifest
		? { manifest: options.manifest, encrypted: options.manifest.encryption !== null, problem: undefined }
		: await readCopyManifest(store, snapshotId, options.decrypt);
	if (read.problem) problems.push(read.problem);
	if (read.encrypted && !hasSums) problems.push(`${SUMS_NAME} is missing`);
	const verdict: CopyVerdict = {
		snapshotId,
		ok: false,
		encrypted: read.encrypted,
		recordsChecked: false,
		rows: 0,
		chunks: 0,
		problems,
		manifest: read.manifest,
	};
	const manifest = read.manifest;
	if (!manifest) {
		verdict.ok = problems.length === 0 && read.encrypted;
		return verdict;
	}
	const sums: Record<string, DigestSum> = {};
	const counts: Record<string, number> = {};
	for (const entry of manifest.chunks) {
		if (!isChunkKeyOf(snapshotId, entry.key)) {
			problems.push(`chunk ${entry.n}: its key is outside the snapshot's folder`);
			continue;
		}
		const check = await inspectChunk(entry, (await store.get(entry.key))?.bytes, { decrypt: manifest.encryption ? options.decrypt : undefined });
		if (!check.ok) {
			problems.push(check.message);
			continue;
		}
		for (const [t, s] of Object.entries(check.tables)) {
			(sums[t] ??= new DigestSum()).addHex(s.digest);
			counts[t] = (counts[t] ?? 0) + s.rows;
		}
		verdict.chunks++;
	}
	if (problems.length === 0) {
		for (const [t, summary] of Object.entries(manifest.tables)) {
			const digest = sums[t]?.toHex() ?? "0".repeat(64);
			if ((counts[t] ?? 0) !== summary.rows) problems.push(`table ${t}: ${counts[t] ?? 0} rows, manifest says ${summary.rows}`);
			else if (digest !== summary.digest) problems.push(`table ${t}: content digest differs from the manifest`);
		}
		for (const t of Object.keys(counts)) if (!manifest.tables[t]) problems.push(`table ${t}: not in the manifest`);
		if (problems.length === 0 && combineTableDigests(manifest.tables) !== manifest.contentDigest) {
			problems.push("the manifest's content digest does not match its tables");
		}
	}
	verdict.recordsChecked = true;
	verdict.rows = Object.values(counts).reduce((a, b) => a + b, 0);
	verdict.ok = problems.length === 0;
	return verdict;
}
