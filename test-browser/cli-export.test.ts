// `npm run admin -- export-csv` as a child process against the running local Worker: it starts
// the export job, prints its progress, and writes the file, equal to the direct export.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { queryLocalD1 } from "../bench/local-worker.mjs";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";

const ROOT = path.resolve(import.meta.dirname, "..");
const work = mkdtempSync(path.join(tmpdir(), "admin-cli-export-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function admin(args: string[], env: Record<string, string> = {}) {
	const run = spawnSync(process.execPath, [path.join(ROOT, "scripts/admin.mjs"), ...args], {
		cwd: work,
		env: { ...process.env, ADMIN_URL: inject("baseUrl"), ADMIN_TOKEN: BROWSER_TEST_ADMIN_TOKEN, LOCALE: "fr", ...env },
		encoding: "utf8",
		timeout: 120_000,
	});
	return { code: run.status, out: run.stdout, err: run.stderr };
}

async function direct(query = ""): Promise<Buffer> {
	const res = await fetch(`${inject("baseUrl")}/api/admin/submissions.csv${query}`, { headers: { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}` } });
	expect(res.status).toBe(200);
	return Buffer.from(await res.arrayBuffer());
}

describe("npm run admin -- export-csv", () => {
	it("prepares the file on the server, shows progress, and writes it (spreadsheet and raw)", async () => {
		queryLocalD1({
			configPath: inject("wranglerConfig"),
			persistDir: inject("persistDir"),
			sql: `INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation)
			      VALUES ('cli-export-1', '2026-10-25T00:30:00Z', '1', '', '{"cafe":"Chez \\"Zoë\\"; l''Étoile","ville":"=Lyon"}', '{}')`,
		});
		const file = path.join(work, "reponses.csv");
		const run = admin(["export-csv", "--out", file]);
		expect(run.err).toBe("");
		expect(run.code).toBe(0);
		expect(run.out).toMatch(/^Préparation du fichier : \d[\d\s\u202f]* \/ \d[\d\s\u202f]* réponses$/m);
		expect(run.out).toMatch(new RegExp(`^Fichier enregistré : ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(`, "m"));
		const saved = readFileSync(file);
		expect(saved.equals(await direct())).toBe(true);
		expect(saved.toString("utf8")).toContain("'=Lyon");
		// No partial file left beside it.
		expect(readdirSync(work).filter((f) => f.endsWith(".part"))).toEqual([]);

		const raw = admin(["export-csv", "--raw"]);
		expect(raw.code).toBe(0);
		const name = /^Fichier enregistré : (submissions-\d{4}-\d{2}-\d{2}\.csv) /m.exec(raw.out)?.[1];
		expect(name).toBeDefined();
		expect(readFileSync(path.join(work, name!)).equals(await direct("?format=raw&lang=fr"))).toBe(true);
	});

	it("fails with a clear message and no file when the server refuses", () => {
		const file = path.join(work, "refused.csv");
		const run = admin(["export-csv", "--out", file], { ADMIN_TOKEN: "wrong-token-000000000000000000" });
		expect(run.code).toBe(1);
		expect(run.err).toMatch(/^Erreur : Jeton administrateur refusé.*\(401 unauthorized\)/);
		expect(existsSync(file)).toBe(false);
	});
});
