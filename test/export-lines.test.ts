// The export's record lines and record hashes, which the read-back check no longer re-parses:
// each line must be exactly JSON.stringify of {table, row} with the row's keys sorted, parse back
// to the D1 values, and give the content digest's record hash from its own bytes.
import { NonRetryableError } from "cloudflare:workflows";
import { describe, expect, it } from "vitest";
import { buildLineShape, buildRecordLine } from "../src/backup/export";
import { canonicalRow, recordHashBytes, recordHasher, type Row } from "../src/snapshots/format";

const columns = ["seq", "id", "answers", "note", "Zeta", "empty"];
const shape = buildLineShape("submissions", columns);

/** JSON.stringify of the record with the row's keys in sorted order: the specification. */
function expectedLine(table: string, row: Row): string {
	const sorted: Row = {};
	for (const k of Object.keys(row).sort()) sorted[k] = row[k]!;
	return `${JSON.stringify({ table, row: sorted })}\n`;
}

const tricky: unknown[][] = [
	[1, "s-1", '{"a":"b"}', 3.5, "Z", null],
	[2, "é ☕🥐 « Zoë »", "\u0000\u001f\u2028\u2029\"\\\n\r\t", -0, "", null],
	[3, "\ud800 lone \udfff surrogates", "x".repeat(70_000), 1e21, "1e-7", 0],
	[Number.MAX_SAFE_INTEGER, "big", "-", 5e-324, "-1.5", -123456789.125],
];

describe("buildRecordLine", () => {
	for (const [i, values] of tricky.entries()) {
		it(`writes JSON.stringify's exact bytes, keys sorted, and parses back to the values (case ${i + 1})`, () => {
			const row: Row = Object.fromEntries(columns.map((c, j) => [c, values[j] as Row[string]]));
			const line = buildRecordLine(shape, values);
			expect(line).toBe(expectedLine("submissions", row));
			const parsed = JSON.parse(line) as { table: string; row: Row };
			expect(parsed.table).toBe("submissions");
			for (const [j, c] of columns.entries()) expect(parsed.row[c], c).toBe(values[j] === -0 ? 0 : values[j]);
			// The row object of the line is the canonical row of the content digest, byte for byte.
			expect(line).toBe(`{"table":"submissions","row":${canonicalRow(row)}}\n`);
		});
	}

	it("sorts columns by JavaScript string order (uppercase before lowercase)", () => {
		const s = buildLineShape("t", ["b", "a", "B", "_", "aa"]);
		expect(buildRecordLine(s, [1, 2, 3, 4, 5])).toBe('{"table":"t","row":{"B":3,"_":4,"a":2,"aa":5,"b":1}}\n');
	});

	it("writes a table without columns as an empty row", () => {
		expect(buildRecordLine(buildLineShape("t", []), [])).toBe('{"table":"t","row":{}}\n');
	});

	for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, new Uint8Array([1]), new ArrayBuffer(2), true, undefined, 10n]) {
		it(`refuses ${String(bad)} (${typeof bad}) rather than write it lossily`, () => {
			const values = [1, "s", "a", bad, "z", null];
			expect(() => buildRecordLine(shape, values)).toThrow(NonRetryableError);
			expect(() => buildRecordLine(shape, values)).toThrow(/unsupported value in column "note"/);
		});
	}
});

describe("recordHasher", () => {
	it("gives recordHashBytes' value from the canonical row's UTF-8 bytes", () => {
		for (const values of tricky) {
			const row: Row = Object.fromEntries(columns.map((c, j) => [c, values[j] as Row[string]]));
			const canonical = canonicalRow(row);
			const fromBytes = recordHasher("submissions")(new TextEncoder().encode(canonical));
			expect([...fromBytes]).toEqual([...recordHashBytes("submissions", canonical)]);
		}
	});

	it("keeps tables apart and is not changed by earlier calls", () => {
		const bytes = new TextEncoder().encode('{"seq":1}');
		const a1 = [...recordHasher("roles")(bytes)];
		const b = [...recordHasher("audit_log")(bytes)];
		const a2 = [...recordHasher("roles")(bytes)];
		expect(a1).toEqual(a2);
		expect(a1).not.toEqual(b);
		expect(a1).toEqual([...recordHashBytes("roles", '{"seq":1}')]);
	});
});
