// The SnapshotStore contract, written once and run against every adapter (R2 in workerd, the local
// directory and the S3-compatible replica in Node), the way restic's backend/test suite is run by
// every restic backend. What it asserts is the contract written on the port in src/snapshots/store.ts.
import { describe, expect, it } from "vitest";
import { StoreError, type SnapshotStore } from "../../src/snapshots/store";

const encoder = new TextEncoder();

async function sha256(bytes: Uint8Array): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
	return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * `makeStore` returns a store and a key prefix under which the test may write freely (fresh for
 * each call, so that tests do not see each other's objects).
 */
export function describeSnapshotStoreContract(
	name: string,
	makeStore: () => Promise<{ store: SnapshotStore; prefix: string }>,
	options: { manyObjects?: number } = {},
): void {
	describe(`SnapshotStore contract: ${name}`, () => {
		it("answers undefined for a missing object (get, getStream, head) and lists nothing under an empty prefix", async () => {
			const { store, prefix } = await makeStore();
			expect(await store.get(`${prefix}missing`)).toBeUndefined();
			expect(await store.getStream(`${prefix}missing`)).toBeUndefined();
			expect(await store.head(`${prefix}missing`)).toBeUndefined();
			expect(await store.list(prefix)).toEqual([]);
			expect(await store.listFolders(prefix)).toEqual([]);
		});

		it("gives back exactly the bytes and metadata that were put, also as a stream", async () => {
			const { store, prefix } = await makeStore();
			const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919) % 256);
			const key = `${prefix}a/chunk-000001.ndjson.gz`;
			expect(await store.put(key, bytes, { sha256: await sha256(bytes), metadata: { rows: "12" }, contentType: "application/gzip" })).toEqual({ written: true });
			const got = await store.get(key);
			expect(got?.key).toBe(key);
			expect(got?.size).toBe(bytes.byteLength);
			expect(got?.metadata).toEqual({ rows: "12" });
			expect(await sha256(got!.bytes)).toBe(await sha256(bytes));
			const head = await store.head(key);
			expect(head).toEqual({ key, size: bytes.byteLength, metadata: { rows: "12" } });
			const streamed = await store.getStream(key);
			expect(streamed?.size).toBe(bytes.byteLength);
			expect(await sha256(await readAll(streamed!.body))).toBe(await sha256(bytes));
		});

		it("reads a byte range without the rest: exact bytes, clamped at the end, empty past it, undefined when missing", async () => {
			const { store, prefix } = await makeStore();
			const bytes = new Uint8Array(50_000).map((_, i) => (i * 31 + (i >> 8)) % 256);
			const key = `${prefix}r/chunk-000001.ndjson.gz`;
			await store.put(key, bytes, { metadata: { rows: "3" } });
			const mid = await store.getRange(key, 12_345, 6_789);
			expect(mid?.key).toBe(key);
			expect(mid?.size).toBe(bytes.byteLength);
			expect(mid?.metadata).toEqual({ rows: "3" });
			expect(mid?.bytes.byteLength).toBe(6_789);
			expect(await sha256(mid!.bytes)).toBe(await sha256(bytes.subarray(12_345, 12_345 + 6_789)));
			const first = await store.getRange(key, 0, 1);
			expect([...first!.bytes]).toEqual([bytes[0]]);
			const tail = await store.getRange(key, 49_990, 100);
			expect(await sha256(tail!.bytes)).toBe(await sha256(bytes.subarray(49_990)));
			expect(tail!.bytes.byteLength).toBe(10);
			const past = await store.getRange(key, 50_000, 10);
			expect(past?.bytes.byteLength).toBe(0);
			expect(past?.size).toBe(bytes.byteLength);
			expect(await store.getRange(`${prefix}r/missing`, 0, 10)).toBeUndefined();
		});

		it("replaces an object on a second put, text bodies included", async () => {
			const { store, prefix } = await makeStore();
			const key = `${prefix}manifest.json`;
			await store.put(key, "first", { metadata: { v: "1" } });
			await store.put(key, "second, longer", { metadata: { v: "2" } });
			const got = await store.get(key);
			expect(new TextDecoder().decode(got!.bytes)).toBe("second, longer");
			expect(got!.metadata).toEqual({ v: "2" });
		});

		it("refuses a body whose SHA-256 is not the one given, and stores nothing", async () => {
			const { store, prefix } = await makeStore();
			const key = `${prefix}bad`;
			const body = encoder.encode("what was sent");
			const wrong = await sha256(encoder.encode("what was meant"));
			const err = await store.put(key, body, { sha256: wrong }).catch((e: unknown) => e);
			expect(err).toBeInstanceOf(StoreError);
			expect((err as StoreError).code).toBe("checksum");
			expect(await store.head(key)).toBeUndefined();
		});

		it("creates only when asked (ifAbsent) and leaves an existing object untouched", async () => {
			const { store, prefix } = await makeStore();
			const key = `${prefix}once`;
			expect(await store.put(key, "original", { ifAbsent: true })).toEqual({ written: true });
			expect(await store.put(key, "intruder", { ifAbsent: true })).toEqual({ written: false });
			expect(new TextDecoder().decode((await store.get(key))!.bytes)).toBe("original");
		});

		it("lists every object under a prefix, sorted by key, and only those", async () => {
			const { store, prefix } = await makeStore();
			const keys = [`${prefix}s/b/2`, `${prefix}s/a/1`, `${prefix}s/a/sub/3`, `${prefix}s/c`, `${prefix}t/x`];
			for (const k of keys) await store.put(k, k);
			const listed = await store.list(`${prefix}s/`);
			expect(listed.map((o) => o.key)).toEqual([`${prefix}s/a/1`, `${prefix}s/a/sub/3`, `${prefix}s/b/2`, `${prefix}s/c`]);
			expect(listed.find((o) => o.key === `${prefix}s/c`)?.size).toBe(`${prefix}s/c`.length);
			// A prefix need not end at a folder boundary.
			expect((await store.list(`${prefix}s/a/s`)).map((o) => o.key)).toEqual([`${prefix}s/a/sub/3`]);
		});

		it("lists folders one level down, as full prefixes, sorted", async () => {
			const { store, prefix } = await makeStore();
			for (const k of ["snapshots/b/manifest.json", "snapshots/a/chunk-1", "snapshots/a/x/deep", "snapshots/top", "other/z"]) {
				await store.put(`${prefix}${k}`, "x");
			}
			expect(await store.listFolders(`${prefix}snapshots/`)).toEqual([`${prefix}snapshots/a/`, `${prefix}snapshots/b/`]);
		});

		it("deletes idempotently: missing keys are not an error", async () => {
			const { store, prefix } = await makeStore();
			await store.put(`${prefix}1`, "1");
			await store.put(`${prefix}2`, "2");
			await store.delete([`${prefix}1`, `${prefix}2`, `${prefix}never-written`]);
			await store.delete([`${prefix}1`]);
			await store.delete([]);
			expect(await store.list(prefix)).toEqual([]);
			expect(await store.get(`${prefix}1`)).toBeUndefined();
		});

		const many = options.manyObjects ?? 1_050;
		it(`lists and deletes more objects than one page holds (${many})`, async () => {
			const { store, prefix } = await makeStore();
			const keys = Array.from({ length: many }, (_, i) => `${prefix}f/${String(i).padStart(5, "0")}`);
			for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, "x")));
			const listed = await store.list(`${prefix}f/`);
			expect(listed.map((o) => o.key)).toEqual(keys);
			await store.delete(keys);
			expect(await store.list(`${prefix}f/`)).toEqual([]);
		});
	});
}
