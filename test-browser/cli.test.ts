// The administrators' command-line tool (scripts/admin.mjs) against the running local Worker:
// backup, list, verify and download (checked here with SHA-256 and gunzip), dry-run restore.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, inject, it } from "vitest";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";
import { frenchShortDate, postAnswer } from "./answers";
import { sql } from "./local-d1";

const ROOT = path.resolve(import.meta.dirname, "..");
const work = mkdtempSync(path.join(tmpdir(), "admin-cli-"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

function admin(args: string[], token = BROWSER_TEST_ADMIN_TOKEN, input = "") {
	const run = spawnSync(process.execPath, [path.join(ROOT, "scripts/admin.mjs"), ...args], {
		cwd: work,
		env: { ...process.env, LOCALE: "fr", TIMEZONE: "Europe/Paris", ADMIN_URL: inject("baseUrl"), ADMIN_TOKEN: token },
		encoding: "utf8",
		input,
		timeout: 120_000,
	});
	return { code: run.status, out: run.stdout, err: run.stderr };
}

describe("npm run admin", () => {
	it("backs up, lists, verifies, downloads and previews a restore", () => {
		const backup = admin(["backup"]);
		expect(backup.err).not.toMatch(/Error/);
		expect(backup.code).toBe(0);
		// The result in one sentence on stdout; the progress (not a terminal: plain lines) on stderr.
		expect(backup.out).toMatch(/^Sauvegarde réussie et vérifiée : [\d\s]+ lignes? en \d+ morceaux?, en .+ \(référence \S+\)\.$/m);
		expect(backup.err).not.toContain("\r");
		const snapshotId = /\(référence (\S+)\)/.exec(backup.out)?.[1];
		expect(snapshotId).toMatch(/^\d{4}-\d{2}-\d{2}T\d{6}Z-/);

		const status = admin(["status"]);
		expect(status.code).toBe(0);
		// The facts in French, times in Europe/Paris (02:00 UTC is 03:00 or 04:00 there), no id.
		expect(status.out).toMatch(/^Plus récente vérifiée +\d{1,2} \S+ \d{4}, \d{2}:\d{2} \(il y a [\d,]+ h\)$/m);
		expect(status.out).toMatch(/^Prochaine automatique +\d{1,2} \S+ \d{4}, 0[34]:00$/m);
		expect(status.out).not.toContain(snapshotId!);

		const list = admin(["snapshots"]);
		expect(list.code).toBe(0);
		expect(list.out).toMatch(new RegExp(`  manuelle  .*  ${snapshotId}$`, "m"));

		const verify = admin(["verify", snapshotId!]);
		expect(verify.code).toBe(0);
		expect(verify.out).toMatch(/^La sauvegarde du .+ est intacte : \d+ morceaux? relus? \(.+\), \d+ enregistrements?, toutes les empreintes SHA-256 correspondent\./);

		const dir = path.join(work, "dl");
		const download = admin(["download", snapshotId!, "--out", dir]);
		expect(download.code).toBe(0);
		// The saved files check out with the standard algorithms, independently of the tool.
		const manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
		expect(manifest.snapshotId).toBe(snapshotId);
		let records = 0;
		for (const chunk of manifest.chunks) {
			const bytes = readFileSync(path.join(dir, chunk.key.split("/").pop()));
			expect(createHash("sha256").update(bytes).digest("hex")).toBe(chunk.sha256);
			records += gunzipSync(bytes).toString("utf8").split("\n").filter(Boolean).length;
		}
		expect(records).toBe(manifest.rows);
		expect(readdirSync(dir).filter((f) => f.endsWith(".ndjson.gz"))).toHaveLength(manifest.chunks.length);

		const dryRun = admin(["restore", snapshotId!, "--mode", "dry-run"]);
		expect(dryRun.code).toBe(0);
		// The conclusion first, then the table, then the exact next command.
		const lines = dryRun.out.split("\n");
		expect(lines[0]).toMatch(/^Sauvegarde du .+\. Remplacer ne changerait rien : les données actuelles sont déjà celles de la sauvegarde\. Fusionner n'ajouterait rien/);
		expect(dryRun.out).toMatch(/^Réponses\s+0\s+0\s+0\s+0$/m);
		expect(dryRun.out.indexOf("Réponses")).toBeGreaterThan(dryRun.out.indexOf("Fusionner"));
		expect(dryRun.out.trimEnd().split("\n").at(-1)).toMatch(new RegExp(`^  npm run admin -- restore ${snapshotId} --mode replace `));
		const dryRunJson = admin(["restore", snapshotId!, "--json"]);
		expect(JSON.parse(dryRunJson.out).tables.submissions).toMatchObject({ added: 0, disappear: 0, differ: 0 });
	});

	it("says clearly what is wrong, and exits non-zero", () => {
		const wrongToken = admin(["status"], "wrong-token-000000000000000000");
		expect(wrongToken.code).toBe(1);
		expect(wrongToken.err).toMatch(/^Erreur : Jeton administrateur refusé : .*\(401 unauthorized\)$/m);

		const unknown = admin(["explode"]);
		expect(unknown.code).toBe(1);
		expect(unknown.err).toMatch(/^Erreur : Commande inconnue « explode »\./);

		const badId = admin(["verify", "../../etc"]);
		expect(badId.code).toBe(1);
		expect(badId.err).toMatch(/400 invalid_id/);
	});

	it("lists, in French, the backups pinned after a data loss, and releases them after confirmation", async () => {
		// One answer, a backup, the answer vanishes without an erasure request, another backup.
		sql(`INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation)
		     VALUES ('cli-pin-vanishes', '2026-01-01T00:00:00Z', '1', 'formateur', '{"cafe":"Pin"}', '{}')`);
		expect(admin(["backup"]).code).toBe(0);
		sql(`DELETE FROM submissions WHERE id = 'cli-pin-vanishes'`);
		const after = admin(["backup"]);
		expect(after.code).toBe(0);
		const detectedIn = /\(référence (\S+)\)/.exec(after.out)?.[1];
		const pinId = `pin-${detectedIn}`;

		// Retention runs after the backup is reported complete (an after-backup step): wait for the pin.
		let pins = admin(["pins"]);
		for (let i = 0; i < 60 && !pins.out.includes(pinId); i++) {
			await new Promise((r) => setTimeout(r, 500));
			pins = admin(["pins"]);
		}
		expect(pins.code).toBe(0);
		expect(pins.out).toMatch(new RegExp(`^Épinglage ${pinId} — ACTIF depuis le \\d{1,2} \\S+ \\d{4}, \\d{2}:\\d{2}$`, "m"));
		expect(pins.out).toContain("1 réponse a disparu sans demande d'effacement");
		expect(pins.out).toMatch(/Sauvegardes gardées \(\d+\) : /);
		expect(pins.out).toContain(`npm run admin -- release-pin ${pinId}`);

		// Not confirmed: the pin holds.
		const refused = admin(["release-pin", pinId], BROWSER_TEST_ADMIN_TOKEN, "non\n");
		expect(refused.code).toBe(1);
		expect(refused.err).toMatch(/Non confirmé : l'épinglage est maintenu\./);
		expect(admin(["pins"]).out).toContain(pinId);

		const released = admin(["release-pin", pinId], BROWSER_TEST_ADMIN_TOKEN, "libérer\n");
		expect(released.code).toBe(0);
		expect(released.out).toMatch(new RegExp(`Épinglage ${pinId} libéré\\.$`, "m"));
		expect(admin(["pins"]).out).not.toContain(pinId);
		expect(admin(["pins", "--all"]).out).toMatch(new RegExp(`^Épinglage ${pinId} — libéré le `, "m"));
		const audit = sql(`SELECT detail FROM audit_log WHERE action = 'retention_pin_released'`).map((r) => JSON.parse(String(r.detail)).pinId);
		expect(audit).toContain(pinId);

		const again = admin(["release-pin", pinId, "--yes"]);
		expect(again.code).toBe(1);
		expect(again.err).toMatch(/déjà libéré/);
		const unknown = admin(["release-pin", "pin-nope", "--yes"]);
		expect(unknown.code).toBe(1);
		expect(unknown.err).toMatch(/400 invalid_id/);
	});

	it("previews a restore in one sentence, and its confirmation repeats the numbers", async () => {
		const backup = admin(["backup"]);
		expect(backup.code).toBe(0);
		const snapshotId = /\(référence (\S+)\)/.exec(backup.out)![1]!;
		// One answer arrives after the backup (through the form's API: rows and counters stay
		// consistent): a replace would remove it.
		const since = `depuis le ${frenchShortDate(await postAnswer(inject("baseUrl"), "2001:db8:91::1", sql))}`;

		const dryRun = admin(["restore", snapshotId]);
		expect(dryRun.code).toBe(0);
		const first = dryRun.out.split("\n")[0]!;
		expect(first).toContain(`Remplacer supprimerait 1 réponse reçue ${since}`);
		expect(first).toContain("n'ajouterait rien");
		expect(dryRun.out).toMatch(/^Réponses\s+0\s+0\s+1\s+0$/m);
		expect(dryRun.out).toContain(`npm run admin -- restore ${snapshotId} --mode merge`);

		// Not confirmed: the question repeated the numbers, and nothing was replaced.
		const answers = Number(sql("SELECT COUNT(*) AS n FROM submissions")[0]!.n);
		const refused = admin(["restore", snapshotId, "--mode", "replace"], BROWSER_TEST_ADMIN_TOKEN, "non\n");
		expect(refused.code).toBe(1);
		expect(refused.out).toContain(`Remplacer supprimera 1 réponse reçue ${since}`);
		expect(refused.out).toContain("n'ajoutera rien");
		expect(refused.out).toContain("Tapez « replace » pour confirmer");
		expect(refused.out).not.toContain("--mode merge");
		expect(Number(sql("SELECT COUNT(*) AS n FROM submissions")[0]!.n)).toBe(answers);
		// Four runs of the tool, each waiting for a Workflow: more than the default minute on a busy machine.
	}, 240_000);
});
