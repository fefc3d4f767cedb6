// `npm run admin -- status` prints the verdict first (the level in words, then one line per
// reason and what to do), in LOCALE; `--json` carries it as a field. The CLI runs as a child
// process against the local test deployment, which has no alert channel configured.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, inject, it } from "vitest";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";
import { sql } from "./local-d1";

const ROOT = path.resolve(import.meta.dirname, "..");

function status(args: string[] = [], extraEnv: Record<string, string> = {}) {
	const run = spawnSync(process.execPath, [path.join(ROOT, "scripts/admin.mjs"), "status", ...args], {
		cwd: ROOT,
		env: { ...process.env, ADMIN_URL: inject("baseUrl"), ADMIN_TOKEN: BROWSER_TEST_ADMIN_TOKEN, LOCALE: "fr", TIMEZONE: "Europe/Paris", ...extraEnv },
		encoding: "utf8",
		timeout: 120_000,
	});
	return { code: run.status, out: run.stdout, err: run.stderr };
}

describe("npm run admin -- status: the verdict first", () => {
	it("French by default: the level word on the first line, each reason with « À faire »", () => {
		const r = status();
		expect(r.err).toBe("");
		expect(r.code).toBe(0);
		const lines = r.out.split("\n");
		// No alert channel in the test deployment: never « Tout va bien ».
		expect(lines[0]).toMatch(/^(! Attention|✖ Problème)$/);
		const i = lines.indexOf("- Aucune alerte par e-mail ni webhook n’est configurée : personne ne sera prévenu en cas d’échec.");
		expect(i).toBeGreaterThan(0);
		expect(lines[i + 1]).toBe("  À faire\u00a0: Demandez au développeur de configurer l’envoi des alertes par e-mail (docs/notifications.md).");
		// Every reason line is followed by its action, and the facts come after the verdict.
		for (let k = 1; lines[k]!.startsWith("- "); k += 2) expect(lines[k + 1]).toMatch(/^ {2}À faire\u00a0: \S/);
		expect(r.out.indexOf("personne ne sera prévenu")).toBeLessThan(r.out.indexOf("Dernière sauvegarde"));
	});

	it("a failed last run is named by its local date, never its id", () => {
		const id = `verdict-cli-failed-${Date.now()}`;
		const at = new Date().toISOString();
		sql(
			`INSERT INTO backup_runs (id, trigger, status, stage, started_at, finished_at, snapshot_id, rows, bytes, chunks, error)
			 VALUES ('${id}', 'scheduled', 'failed', 'export', '${at}', '${at}', NULL, 0, 0, 0, 'test failure')`,
		);
		try {
			const r = status();
			expect(r.code).toBe(0);
			const line = r.out.split("\n").find((l) => l.includes("a échoué"));
			expect(line).toMatch(/^- La sauvegarde du \S+ \d+ \S+ \d{4} à \d+\sh\s\d\d a échoué/);
			expect(line).not.toContain(id);
		} finally {
			sql(`DELETE FROM backup_runs WHERE id = '${id}'`);
		}
	});

	it("LOCALE=en: in English", () => {
		const r = status([], { LOCALE: "en" });
		expect(r.code).toBe(0);
		expect(r.out.split("\n")[0]).toMatch(/^(! Attention|✖ Problem)$/);
		expect(r.out).toContain("- No e-mail or webhook alert is configured: nobody will be told when a backup fails.\n  What to do: Ask the developer to set up e-mail alerts");
	});

	it("--json: the same answer as before, plus the verdict field", () => {
		const r = status(["--json"]);
		expect(r.code).toBe(0);
		const body = JSON.parse(r.out);
		for (const key of ["now", "lastRun", "newestSnapshot", "stale", "channels", "verification", "offsite"]) expect(body).toHaveProperty(key);
		expect(["warning", "problem"]).toContain(body.verdict.level);
		expect(body.verdict.reasons.map((x: { code: string }) => x.code)).toContain("no_channel");
	});

	it("a wrong token: no verdict, an error and a non-zero exit", () => {
		const run = spawnSync(process.execPath, [path.join(ROOT, "scripts/admin.mjs"), "status"], {
			cwd: ROOT,
			env: { ...process.env, ADMIN_URL: inject("baseUrl"), ADMIN_TOKEN: "wrong-token-000000000000000000" },
			encoding: "utf8",
		});
		expect(run.status).toBe(1);
		expect(run.stdout).toBe("");
		expect(run.stderr).toMatch(/401/);
	});
});
