// The admin CLI names downloaded files after the chunk keys of a manifest that the server sends:
// a hostile manifest (served here by a tiny node:http server on 127.0.0.1) must not make it write
// outside the download folder, or under a name that Windows reads differently, on any system.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const TOKEN = "hostile-server-test-token-0123456789";
const SNAPSHOT = "2026-11-25T020000Z-abc123";
const work = mkdtempSync(path.join(tmpdir(), "admin-cli-files-"));
const chunk = gzipSync(`${JSON.stringify({ table: "submissions", row: { id: "x" } })}\n`);

/** The chunk keys the server's manifest lists next (one entry per key, same valid bytes). */
let keys: unknown[] = [];
let server: Server;
let baseUrl = "";

beforeAll(async () => {
	server = createServer((req, res) => {
		if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end();
		const url = req.url ?? "";
		if (url === `/api/admin/snapshots/${SNAPSHOT}/manifest`) {
			const chunks = keys.map((key, i) => ({
				n: i + 1,
				key,
				bytes: chunk.byteLength,
				sha256: createHash("sha256").update(chunk).digest("hex"),
				rows: 1,
				tables: { submissions: 1 },
			}));
			res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ snapshotId: SNAPSHOT, rows: keys.length, chunks }));
		} else if (url.startsWith(`/api/admin/snapshots/${SNAPSHOT}/chunks/`)) {
			res.writeHead(200, { "Content-Type": "application/gzip" }).end(chunk);
		} else res.writeHead(404).end();
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	if (address === null || typeof address === "string") throw new Error("no port");
	baseUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
	await new Promise((resolve) => server.close(resolve));
	rmSync(work, { recursive: true, force: true });
});

/** Run the CLI without blocking this process's event loop (the server answers from it). */
function admin(args: string[], cwd: string): Promise<{ code: number | null; out: string; err: string }> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [path.join(ROOT, "scripts/admin.mjs"), ...args], {
			cwd,
			env: { ...process.env, ADMIN_URL: baseUrl, ADMIN_TOKEN: TOKEN },
		});
		let out = "";
		let err = "";
		child.stdout.on("data", (d) => (out += d));
		child.stderr.on("data", (d) => (err += d));
		child.on("error", reject);
		child.on("close", (code) => resolve({ code, out, err }));
	});
}

/** Every path under `dir`, recursively. */
function tree(dir: string): string[] {
	return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("npm run admin -- download, against a hostile manifest", () => {
	it("saves a well-named snapshot (the harness works)", async () => {
		const cwd = mkdtempSync(path.join(work, "ok-"));
		keys = [`snapshots/${SNAPSHOT}/chunk-000001.ndjson.gz`, `snapshots/${SNAPSHOT}/chunk-000002.ndjson.gz.age`];
		const run = await admin(["download", SNAPSHOT, "--out", "dl"], cwd);
		expect(run.err).toBe("");
		expect(run.code).toBe(0);
		expect(tree(cwd)).toEqual(["dl", "dl/chunk-000001.ndjson.gz", "dl/chunk-000002.ndjson.gz.age", "dl/manifest.json"].map(path.normalize).sort());
		expect(readFileSync(path.join(cwd, "dl/chunk-000001.ndjson.gz"))).toEqual(chunk);
	});

	const hostile: [string, unknown[], RegExp][] = [
		["a parent folder", [`snapshots/${SNAPSHOT}/..`], /« \.\. »/],
		["backslashes", [`snapshots/${SNAPSHOT}/..\\..\\evil.ndjson.gz`], /séparateur de dossier/],
		["a Windows absolute path", ["C:\\Windows\\evil.ndjson.gz"], /séparateur de dossier/],
		["a drive letter", [`snapshots/${SNAPSHOT}/C:evil.ndjson.gz`], /lettre de lecteur/],
		["a NUL byte", [`snapshots/${SNAPSHOT}/chunk\u0000.ndjson.gz`], /caractère de contrôle/],
		["a line break", [`snapshots/${SNAPSHOT}/chunk\n.ndjson.gz`], /caractère de contrôle/],
		["a colon (NTFS stream)", [`snapshots/${SNAPSHOT}/chunk.gz:stream`], /interdit sous Windows/],
		...["<", ">", '"', "|", "?", "*"].map((c): [string, unknown[], RegExp] => [`a ${c}`, [`snapshots/${SNAPSHOT}/chunk${c}1.gz`], /interdit sous Windows/]),
		["a trailing dot", [`snapshots/${SNAPSHOT}/chunk.gz.`], /à la fin du nom/],
		["a trailing space", [`snapshots/${SNAPSHOT}/chunk.gz `], /à la fin du nom/],
		["a reserved device name", [`snapshots/${SNAPSHOT}/CON`], /réservé par Windows/],
		["a reserved device name with an extension", [`snapshots/${SNAPSHOT}/nul.ndjson.gz`], /réservé par Windows/],
		["COM1", [`snapshots/${SNAPSHOT}/com1.gz`], /réservé par Windows/],
		["an empty name", [`snapshots/${SNAPSHOT}/`], /nom vide/],
		["a key that is not text", [42], /nom vide/],
		["the manifest's own name", [`snapshots/${SNAPSHOT}/manifest.json`], /même nom que le manifeste/],
		["two chunks with one name", [`snapshots/${SNAPSHOT}/chunk-1.gz`, `snapshots/other/CHUNK-1.gz`], /deux morceaux portent ce nom/],
		// The first chunk is fine: nothing may be written before the bad one is seen.
		["a bad name after a good one", [`snapshots/${SNAPSHOT}/chunk-000001.ndjson.gz`, `snapshots/${SNAPSHOT}/..`], /« \.\. »/],
	];

	it.each(hostile)("refuses %s, says why, and writes nothing at all", async (_, list, reason) => {
		const cwd = mkdtempSync(path.join(work, "bad-"));
		keys = list;
		const run = await admin(["download", SNAPSHOT, "--out", "dl"], cwd);
		expect(run.code).toBe(1);
		expect(run.err).toMatch(/^Erreur : Téléchargement refusé : le manifeste nomme le morceau \d+ /);
		expect(run.err).toMatch(reason);
		expect(run.err).toContain("Rien n'a été enregistré.");
		expect(run.out).toBe("");
		// Not even the download folder; and nothing beside or above it.
		expect(tree(cwd)).toEqual([]);
		expect(tree(work).filter((p) => !/^(ok|bad)-/.test(p))).toEqual([]);
	});
});
