// The chunk codec, one table: what sealChunk writes, openChunk/checkChunk/inspectChunk read back
// exactly, with and without age encryption, and every way stored bytes can be wrong is named.
import { describe, expect, it } from "vitest";
import { buildAgeDecryptor, buildAgeEncryptor, parseIdentityFile, parseRecipients } from "../src/snapshots/age";
import { checkChunk, gzip, inspectChunk, openChunk, sealChunk, type Decryptor, type Encryptor } from "../src/snapshots/codec";
import { digestRows, type ChunkEntry, type SnapshotRecord } from "../src/snapshots/format";
import { TEST_AGE_IDENTITY, TEST_AGE_RECIPIENT } from "./keys";

const records: SnapshotRecord[] = [
	{ table: "roles", row: { seq: 1, role_key: "gerant", label: "Gérant·e" } },
	{ table: "submissions", row: { seq: 1, id: "s1", answers: '{"q":"é\\n"}' } },
	{ table: "submissions", row: { seq: 2, id: "s2", answers: null } },
];
const lines = records.map((r) => `${JSON.stringify(r)}\n`).join("");

const encryptor: Encryptor = buildAgeEncryptor([TEST_AGE_RECIPIENT]);
const decryptor: Decryptor = buildAgeDecryptor([TEST_AGE_IDENTITY]);
const otherKey: Decryptor = buildAgeDecryptor(["AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"]);

async function sealed(encrypt?: Encryptor): Promise<{ entry: ChunkEntry; bytes: Uint8Array }> {
	const s = await sealChunk(lines, { encrypt });
	expect(s.rawBytes).toBe(new TextEncoder().encode(lines).byteLength);
	const entry = { n: 1, key: "k", bytes: s.bytes.byteLength, sha256: s.sha256, rows: 3, tables: { roles: 1, submissions: 2 } };
	return { entry, bytes: s.bytes };
}

describe("codec round trip", () => {
	for (const [name, encrypt, decrypt] of [
		["plain", undefined, undefined],
		["age", encryptor, decryptor],
	] as const) {
		it(`${name}: seal -> open gives back the exact lines; check and inspect agree with the records`, async () => {
			const { entry, bytes } = await sealed(encrypt);
			const opened = await openChunk(entry, bytes, { decrypt });
			expect(opened.ok && new TextDecoder().decode(opened.raw)).toBe(lines);
			const checked = await checkChunk(entry, bytes, { decrypt });
			expect(checked.ok && checked.records).toEqual(records);
			const inspected = await inspectChunk(entry, bytes, { decrypt });
			expect(inspected.ok && inspected.tables).toEqual({
				roles: { rows: 1, digest: digestRows("roles", [records[0]!.row]) },
				submissions: { rows: 2, digest: digestRows("submissions", [records[1]!.row, records[2]!.row]) },
			});
		});
	}

	it("sealing a list of parts is the same as sealing their concatenation", async () => {
		const enc = new TextEncoder();
		const parts = [enc.encode(lines.slice(0, 10)), enc.encode(lines.slice(10))];
		expect((await sealChunk(parts)).sha256).toBe((await sealChunk(lines)).sha256);
	});

	it("an encrypted chunk is not readable without the identity, and is a standard age file", async () => {
		const { bytes } = await sealed(encryptor);
		expect(new TextDecoder().decode(bytes.subarray(0, 21))).toBe("age-encryption.org/v1");
	});
});

describe("codec failures, each named", () => {
	const cases: Array<{ name: string; reason: string; damage: (e: ChunkEntry, b: Uint8Array) => [ChunkEntry, Uint8Array | undefined]; decrypt?: Decryptor; encrypted?: boolean }> = [
		{ name: "missing object", reason: "missing", damage: (e) => [e, undefined] },
		{ name: "wrong size", reason: "size", damage: (e, b) => [e, b.subarray(0, b.byteLength - 1)] },
		{ name: "flipped byte", reason: "checksum", damage: (e, b) => { const c = b.slice(); c[c.length >> 1]! ^= 1; return [e, c]; } },
		{ name: "rows differ from the manifest", reason: "rows", damage: (e, b) => [{ ...e, rows: 4 }, b] },
		{ name: "tables differ from the manifest", reason: "rows", damage: (e, b) => [{ ...e, tables: { roles: 2, submissions: 1 } }, b] },
		{ name: "wrong identity", reason: "decrypt", damage: (e, b) => [e, b], decrypt: otherKey, encrypted: true },
		{ name: "encrypted chunk read as plain", reason: "decode", damage: (e, b) => [e, b], encrypted: true },
	];
	for (const c of cases) {
		it(`${c.name} -> ${c.reason}`, async () => {
			const { entry, bytes } = await sealed(c.encrypted ? encryptor : undefined);
			const [e, b] = c.damage(entry, bytes);
			const r = await checkChunk(e, b, { decrypt: c.decrypt });
			expect(r.ok).toBe(false);
			expect(!r.ok && r.reason).toBe(c.reason);
			expect(!r.ok && r.message).toMatch(/^chunk 1 \(k\): /);
		});
	}

	it("not gzip, truncated NDJSON and a non-record line are decode errors", async () => {
		for (const raw of [new TextEncoder().encode("plain text"), gzip('{"table":"t","row":{}}'), gzip('{"table":"t"}\n'), gzip("[1]\n")]) {
			const { sha256Hex } = await import("../src/snapshots/format");
			const entry = { n: 1, key: "k", bytes: raw.byteLength, sha256: sha256Hex(raw), rows: 1, tables: { t: 1 } };
			const r = await checkChunk(entry, raw);
			expect(!r.ok && r.reason).toBe("decode");
		}
	});
});

describe("age keys", () => {
	it("parses recipients and identity files, and names what is wrong", () => {
		expect(parseRecipients(`${TEST_AGE_RECIPIENT}, ${TEST_AGE_RECIPIENT}\n`)).toEqual([TEST_AGE_RECIPIENT]);
		expect(() => parseRecipients("age1short")).toThrow(/not an age public key/);
		expect(() => parseRecipients(TEST_AGE_IDENTITY)).toThrow(/not an age public key/);
		expect(parseIdentityFile(`# created: today\n# public key: ${TEST_AGE_RECIPIENT}\n${TEST_AGE_IDENTITY}\n`)).toEqual([TEST_AGE_IDENTITY]);
		expect(() => parseIdentityFile(TEST_AGE_RECIPIENT)).toThrow(/not an age identity file/);
	});
});
