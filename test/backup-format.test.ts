import { describe, expect, it } from "vitest";
import { addDigests, buildSnapshotId, canonicalRow, DigestSum, chunkKey, digestRows, EMPTY_DIGEST, findPartsProblem, isChunkKeyOf, parseManifest, parseSnapshotTime, partsOf, recordDigest, serializeManifest, sha256Hex, type ChunkEntry, type ChunkPart, type Manifest, type SnapshotRecord } from "../src/snapshots/format";
import { checkChunk, decodeChunk, encodeChunk, gunzip, inspectPart, sealMembers } from "../src/snapshots/codec";

const records: SnapshotRecord[] = [
	{ table: "roles", row: { seq: 1, role_key: "formateur", label: "Formateur" } },
	{ table: "submissions", row: { seq: 1, id: "a", answers: '{"cafe":"Café ☕ Élan"}' } },
];

describe("snapshot ids and keys", () => {
	it("sort by time and round-trip the time", () => {
		const id = buildSnapshotId(new Date("2026-11-25T02:00:07.123Z"), "k3x9");
		expect(id).toBe("2026-11-25T020007Z-k3x9");
		expect(parseSnapshotTime(id)?.toISOString()).toBe("2026-11-25T02:00:07.000Z");
		expect(parseSnapshotTime("../etc")).toBeUndefined();
		expect(chunkKey(id, 12)).toBe("snapshots/2026-11-25T020007Z-k3x9/chunk-000012.ndjson.gz");
	});

	it.each<[string, boolean]>([
		["snapshots/2026-11-25T020007Z-k3x9/chunk-000001.ndjson.gz", true],
		["snapshots/2026-11-25T020007Z-k3x9/chunk-000001.ndjson.gz.age", true],
		["snapshots/2026-11-25T020007Z-k3x9/chunk-1234567.ndjson.gz", true],
		// Another snapshot's chunk, the manifest itself, anything else in the bucket.
		["snapshots/2026-11-24T020000Z-other/chunk-000001.ndjson.gz", false],
		["snapshots/2026-11-25T020007Z-k3x9/manifest.json", false],
		["snapshots/2026-11-25T020007Z-k3x9/../2026-11-24T020000Z-other/chunk-000001.ndjson.gz", false],
		["snapshots/2026-11-25T020007Z-k3x9/sub/chunk-000001.ndjson.gz", false],
		["snapshots/2026-11-25T020007Z-k3x9/chunk-1.ndjson.gz", false],
		["snapshots/2026-11-25T020007Z-k3x9-evil/chunk-000001.ndjson.gz", false],
		["replica/snapshots/2026-11-25T020007Z-k3x9/chunk-000001.ndjson.gz", false],
		["", false],
	])("isChunkKeyOf(2026-11-25T020007Z-k3x9, %j) is %s", (key, expected) => {
		expect(isChunkKeyOf("2026-11-25T020007Z-k3x9", key)).toBe(expected);
	});
});

describe("chunk codec", () => {
	it("round-trips records and concatenated members stay one valid stream", async () => {
		const a = await encodeChunk(records.slice(0, 1));
		const b = await encodeChunk(records.slice(1));
		expect(await decodeChunk(a)).toEqual(records.slice(0, 1));
		const both = new Uint8Array([...a, ...b]);
		expect(await decodeChunk(both)).toEqual(records);
		expect(new TextDecoder().decode(await gunzip(both)).split("\n")).toHaveLength(3);
	});

	it("checkChunk detects a flipped byte, truncation and wrong counts", async () => {
		const bytes = await encodeChunk(records);
		const entry: ChunkEntry = {
			n: 1,
			key: "k",
			bytes: bytes.byteLength,
			sha256: sha256Hex(bytes),
			rows: 2,
			tables: { roles: 1, submissions: 1 },
		};
		expect((await checkChunk(entry, bytes)).ok).toBe(true);
		const flipped = bytes.slice();
		flipped[20] = flipped[20]! ^ 0xff;
		expect(await checkChunk(entry, flipped)).toMatchObject({ ok: false, reason: "checksum" });
		expect(await checkChunk(entry, bytes.slice(0, -4))).toMatchObject({ ok: false, reason: "size" });
		expect(await checkChunk({ ...entry, rows: 3 }, bytes)).toMatchObject({ ok: false, reason: "rows" });
		expect(await checkChunk(entry, undefined)).toMatchObject({ ok: false, reason: "missing" });
		const truncated = bytes.slice(0, -4);
		const lying = { ...entry, bytes: truncated.byteLength, sha256: sha256Hex(truncated) };
		expect(await checkChunk(lying, truncated)).toMatchObject({ ok: false, reason: "decode" });
	});
});

describe("content digest", () => {
	it("ignores order and chunking, sees any change", () => {
		const rows = [{ id: "a", v: 1 }, { id: "b", v: 2 }];
		const whole = digestRows("t", rows);
		expect(digestRows("t", [...rows].reverse())).toBe(whole);
		expect(addDigests(digestRows("t", rows.slice(0, 1)), digestRows("t", rows.slice(1)))).toBe(whole);
		expect(addDigests(EMPTY_DIGEST, recordDigest("t", { v: 1, id: "a" }))).toBe(digestRows("t", rows.slice(0, 1)));
		expect(digestRows("t", [{ id: "a", v: 1 }, { id: "b", v: 3 }])).not.toBe(whole);
		expect(digestRows("t", rows.slice(1))).not.toBe(whole);
		expect(digestRows("u", rows)).not.toBe(whole);
	});

	it("DigestSum (8 uint32 words + carries) equals the BigInt definition, wrap-around included", () => {
		// Reference: the format's definition, spelled out with BigInt and hex.
		const MOD = 1n << 256n;
		const refHex = (hashes: Uint8Array[]) =>
			(hashes.reduce((s, h) => s + BigInt(`0x${Buffer.from(h).toString("hex")}`), 0n) % MOD).toString(16).padStart(64, "0");
		const random = Array.from({ length: 3000 }, () => crypto.getRandomValues(new Uint8Array(32)));
		const ones = Array.from({ length: 5 }, () => new Uint8Array(32).fill(0xff)); // forces carries out of 2^256
		const edges = [new Uint8Array(32), Uint8Array.from({ length: 32 }, (_, i) => (i % 4 === 3 ? 0xff : 0))];
		for (const set of [random, ones, edges, [...ones, ...random, ...edges], []]) {
			const sum = new DigestSum();
			for (const h of set) sum.addBytes(h);
			expect(sum.toHex()).toBe(refHex(set));
			const viaHex = new DigestSum();
			viaHex.addHex(sum.toHex());
			viaHex.addHex(refHex(ones));
			expect(viaHex.toHex()).toBe(addDigests(sum.toHex(), refHex(ones)));
		}
	});

	it("digestRows keeps the v1 definition: sum mod 2^256 of SHA-256(table + LF + canonical row)", () => {
		const rows = [{ seq: 1, id: "é☕", answers: '{"a":"\u2028"}', n: null }, { seq: 2.5, id: "\ud83d", answers: "x", n: -0 }];
		const ref = rows.reduce((s, r) => s + BigInt(`0x${sha256Hex(`submissions\n${canonicalRow(r)}`)}`), 0n) % (1n << 256n);
		expect(digestRows("submissions", rows)).toBe(ref.toString(16).padStart(64, "0"));
		expect(recordDigest("submissions", rows[0]!)).toBe(BigInt(`0x${sha256Hex(`submissions\n${canonicalRow(rows[0]!)}`)}`));
	});
});

describe("chunk parts (chunks[].parts)", () => {
	const members = [encodeChunk(records.slice(0, 1)), encodeChunk(records.slice(1))];
	const sealed = sealMembers(members);
	const entry: ChunkEntry = {
		n: 1,
		key: chunkKey("2026-11-25T020000Z-abc", 1),
		bytes: sealed.bytes.byteLength,
		sha256: sealed.sha256,
		rows: 2,
		tables: { roles: 1, submissions: 1 },
		parts: sealed.ranges.map((r) => ({ ...r, rows: 1 })),
	};
	const manifest = (chunks: ChunkEntry[]) =>
		({ format: "cafes-partenaires-snapshot", version: 1, snapshotId: "2026-11-25T020000Z-abc", tables: {}, chunks }) as unknown as Manifest;

	it("each part is a gzip member of its own: a byte range checks and decodes alone", () => {
		for (const [i, p] of entry.parts!.entries()) {
			const range = sealed.bytes.subarray(p.offset, p.offset + p.bytes);
			expect(sha256Hex(range)).toBe(p.sha256);
			expect(inspectPart(entry, i, range)).toMatchObject({ ok: true, rows: 1 });
		}
		// The whole chunk still decodes to every record (zcat).
		expect(decodeChunk(sealed.bytes)).toEqual(records);
		const bad = sealed.bytes.slice(entry.parts![1]!.offset, entry.parts![1]!.offset + entry.parts![1]!.bytes);
		bad[5]! ^= 1;
		expect(inspectPart(entry, 1, bad)).toMatchObject({ ok: false, reason: "checksum", message: expect.stringContaining("part 2/2") });
		expect(inspectPart(entry, 0, undefined)).toMatchObject({ ok: false, reason: "missing" });
		// Without parts, a chunk is one part: its whole bytes.
		const { parts: _, ...v1 } = entry;
		expect(partsOf(v1)).toEqual([{ offset: 0, bytes: entry.bytes, sha256: entry.sha256, rows: 2 }]);
		expect(inspectPart(v1, 0, sealed.bytes)).toMatchObject({ ok: true, rows: 2 });
	});

	it.each([
		{ name: "a gap", parts: (p: ChunkPart[]) => [p[0]!, { ...p[1]!, offset: p[1]!.offset + 1, bytes: p[1]!.bytes - 1 }], want: /does not start where part 1 ends/ },
		{ name: "not covering the chunk", parts: (p: ChunkPart[]) => [p[0]!], want: /parts cover \d+ bytes, the chunk has/ },
		{ name: "rows not adding up", parts: (p: ChunkPart[]) => [p[0]!, { ...p[1]!, rows: 5 }], want: /parts hold 6 records, the chunk 2/ },
		{ name: "a bad checksum", parts: (p: ChunkPart[]) => [p[0]!, { ...p[1]!, sha256: "XYZ" }], want: /part 2 is invalid/ },
		{ name: "an empty list", parts: () => [], want: /parts list is empty/ },
	])("a manifest whose parts have $name is refused", ({ parts, want }) => {
		const bad = { ...entry, parts: parts(entry.parts!) };
		expect(findPartsProblem(bad)).toMatch(want);
		expect(() => parseManifest(serializeManifest(manifest([bad])))).toThrow(want);
	});

	it("is written one compact line per part, read back the same; manifests without parts are written as before", () => {
		const m = manifest([entry]);
		const text = serializeManifest(m);
		expect(text).toContain(`\n        ${JSON.stringify(entry.parts![0])},\n        ${JSON.stringify(entry.parts![1])}\n      ]`);
		expect(parseManifest(text)).toEqual(m);
		const { parts: _, ...v1 } = entry;
		expect(serializeManifest(manifest([v1]))).toBe(`${JSON.stringify(manifest([v1]), null, 2)}\n`);
	});
});
