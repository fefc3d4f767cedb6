// The R2 adapter of the SnapshotStore port: the primary copy, in this Worker's own bucket. The only
// module that touches the R2 API; everything else receives a SnapshotStore.
import { usageMeterOf, type UsageMeter } from "../platform/usage-meter";
import { StoreError, type ObjectInfo, type SnapshotStore } from "./store";

/**
 * Pure: is this error R2 refusing a deletion because of a bucket lock rule? The Workers API puts
 * R2's code at the end of the message ("delete: … (10003)"); a lock refusal is an access-denied
 * (the binding itself has full rights, so a 403 on delete can only come from a lock rule).
 */
export function isLockedError(err: unknown): boolean {
	const message = err instanceof Error ? err.message : String(err);
	return /\block(ed)?\b|retention|object ?lock|access ?denied|\(10003\)/i.test(message);
}

/** R2 answers a put whose body does not match the given SHA-256 with a "(10037)"-style error. */
function isChecksumError(err: unknown): boolean {
	const message = err instanceof Error ? err.message : String(err);
	return /sha-?256|checksum|digest|\(10037\)/i.test(message);
}

function infoOf(obj: R2Object): ObjectInfo {
	return { key: obj.key, size: obj.size, metadata: { ...(obj.customMetadata ?? {}) } };
}

/** One R2 delete call takes at most 1,000 keys. */
const DELETE_BATCH = 1000;

/**
 * `meter` (optional) counts the operations R2 bills: Class A for each put and each listing page,
 * Class B for each get and head; deletions are free (R2 pricing), so they are not counted.
 */
export function r2SnapshotStore(bucket: R2Bucket, meter?: UsageMeter): SnapshotStore {
	const count = (kind: "A" | "B") => meter?.addR2(kind);
	return {
		kind: "r2",
		async put(key, body, options = {}) {
			let written: R2Object | null;
			count("A");
			try {
				written = await bucket.put(key, body, {
					...(options.sha256 ? { sha256: options.sha256 } : {}),
					...(options.contentType ? { httpMetadata: { contentType: options.contentType } } : {}),
					...(options.metadata ? { customMetadata: options.metadata } : {}),
					...(options.ifAbsent ? { onlyIf: new Headers({ "If-None-Match": "*" }) } : {}),
				});
			} catch (err) {
				if (options.sha256 && isChecksumError(err)) throw new StoreError("checksum", `put ${key}: SHA-256 does not match the body`);
				throw err;
			}
			// R2 returns null when the condition failed (the object exists).
			return { written: written !== null };
		},
		async get(key) {
			count("B");
			const obj = await bucket.get(key);
			if (!obj) return undefined;
			return { ...infoOf(obj), bytes: new Uint8Array(await obj.arrayBuffer()) };
		},
		async getRange(key, offset, length) {
			// One request in the usual case (a range inside the object); a range past the end makes R2
			// throw: then a head says how much there is, and the range is clamped.
			try {
				const obj = length > 0 ? await bucket.get(key, { range: { offset, length } }) : null;
				if (obj) return { ...infoOf(obj), bytes: new Uint8Array(await obj.arrayBuffer()) };
				if (length > 0) return undefined;
			} catch (err) {
				const info = await bucket.head(key);
				if (!info) return undefined;
				if (offset < info.size && offset + length <= info.size) throw err;
			}
			const info = await bucket.head(key);
			if (!info) return undefined;
			const len = Math.max(0, Math.min(length, info.size - offset));
			if (len === 0) return { ...infoOf(info), bytes: new Uint8Array(0) };
			const obj = await bucket.get(key, { range: { offset, length: len } });
			return obj ? { ...infoOf(obj), bytes: new Uint8Array(await obj.arrayBuffer()) } : undefined;
		},
		async getStream(key) {
			count("B");
			const obj = await bucket.get(key);
			if (!obj) return undefined;
			return { ...infoOf(obj), body: obj.body };
		},
		async head(key) {
			count("B");
			const obj = await bucket.head(key);
			return obj ? infoOf(obj) : undefined;
		},
		async list(prefix) {
			const out: ObjectInfo[] = [];
			let cursor: string | undefined;
			do {
				count("A");
				const page = await bucket.list({ prefix, cursor, include: ["customMetadata"] });
				for (const o of page.objects) out.push(infoOf(o));
				cursor = page.truncated ? page.cursor : undefined;
			} while (cursor);
			return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
		},
		async listFolders(prefix) {
			const out: string[] = [];
			let cursor: string | undefined;
			do {
				count("A");
				const page = await bucket.list({ prefix, delimiter: "/", cursor });
				out.push(...page.delimitedPrefixes);
				cursor = page.truncated ? page.cursor : undefined;
			} while (cursor);
			return out.sort();
		},
		async delete(keys) {
			for (let i = 0; i < keys.length; i += DELETE_BATCH) {
				try {
					const batch = keys.slice(i, i + DELETE_BATCH);
					await bucket.delete(batch.length === 1 ? batch[0]! : batch);
				} catch (err) {
					if (isLockedError(err)) throw new StoreError("locked", `delete refused by a bucket lock rule`);
					throw err;
				}
			}
		},
	} satisfies SnapshotStore;
}

/**
 * The Worker's primary snapshot store: the R2 bucket bound as R2_BUCKET. In a metered env
 * (src/platform/usage-meter.ts) its operations are counted.
 */
export function primaryStore(env: Pick<Env, "R2_BUCKET">): SnapshotStore {
	return r2SnapshotStore(env.R2_BUCKET, usageMeterOf(env));
}
