// Interoperability of the off-site copies with standard tools: a chunk encrypted by the codec (the
// Worker's own code) is decrypted by Debian's `age` with the administrator's key file, and reads with
// `zcat | jq`; its SHA-256 is what `sha256sum` prints.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildAgeEncryptor } from "../src/snapshots/age.ts";
import { sealChunk } from "../src/snapshots/codec.ts";
import { TEST_AGE_IDENTITY, TEST_AGE_RECIPIENT } from "../test/keys.ts";

const dir = mkdtempSync(path.join(tmpdir(), "age-interop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const records = [
	{ table: "roles", row: { seq: 1, role_key: "gerant", label: "Gérant·e" } },
	{ table: "submissions", row: { seq: 7, id: "s7", answers: '{"commentaire":"très bien\\n"}' } },
];

describe("an encrypted chunk and standard tools", () => {
	it("decrypts with `age -d -i key.txt`, then reads with `zcat | jq`; sha256sum agrees with the codec", async () => {
		const lines = records.map((r) => `${JSON.stringify(r)}\n`).join("");
		const sealed = await sealChunk(lines, { encrypt: buildAgeEncryptor([TEST_AGE_RECIPIENT]) });
		const chunk = path.join(dir, "chunk-000001.ndjson.gz.age");
		writeFileSync(chunk, sealed.bytes);
		writeFileSync(path.join(dir, "key.txt"), `# public key: ${TEST_AGE_RECIPIENT}\n${TEST_AGE_IDENTITY}\n`, { mode: 0o600 });

		expect(execFileSync("sha256sum", [chunk], { encoding: "utf8" }).split(" ")[0]).toBe(sealed.sha256);
		const out = execFileSync("sh", ["-c", `age -d -i key.txt chunk-000001.ndjson.gz.age | zcat | jq -c .`], { cwd: dir, encoding: "utf8" });
		expect(out.trim().split("\n").map((l) => JSON.parse(l))).toEqual(records);
	});

	it("refuses to decrypt with another key (the copy is unreadable without the administrator's key)", () => {
		const other = execFileSync("age-keygen", { encoding: "utf8" });
		writeFileSync(path.join(dir, "other.txt"), other, { mode: 0o600 });
		expect(() => execFileSync("age", ["-d", "-i", "other.txt", "chunk-000001.ndjson.gz.age"], { cwd: dir, stdio: "pipe" })).toThrow();
	});
});
