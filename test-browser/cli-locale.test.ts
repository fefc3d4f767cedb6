// The admin CLI in the administrator's language (LOCALE fr by default, or en) and time zone
// (TIMEZONE, Europe/Paris by default), as a child process against the running local Worker:
// aligned tables with headers, readable sizes and times, retention in words, an unknown snapshot
// answered in a sentence, refusals in plain words, exit codes; `--json` stays raw.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";

const ROOT = path.resolve(import.meta.dirname, "..");
const work = mkdtempSync(path.join(tmpdir(), "admin-cli-locale-"));
const UNKNOWN = "2020-01-01T000000Z-nope0000";

afterAll(() => rmSync(work, { recursive: true, force: true }));

function admin(args: string[], env: Record<string, string> = {}) {
	const run = spawnSync(process.execPath, [path.join(ROOT, "scripts/admin.mjs"), ...args], {
		cwd: work,
		env: { ...process.env, ADMIN_URL: inject("baseUrl"), ADMIN_TOKEN: BROWSER_TEST_ADMIN_TOKEN, LOCALE: "fr", TIMEZONE: "", ...env },
		encoding: "utf8",
		timeout: 120_000,
	});
	return { code: run.status, out: run.stdout, err: run.stderr };
}
const en = { LOCALE: "en" };

/**
 * fetch, once more if the server closed an idle kept-alive connection while a synchronous CLI run
 * held this process (undici then reuses a socket the other side has just closed).
 */
async function fetchRetry(url: string, init?: RequestInit): Promise<Response> {
	try {
		return await fetch(url, init);
	} catch (err) {
		if ((err as { cause?: { code?: string } }).cause?.code !== "UND_ERR_SOCKET") throw err;
		return fetch(url, init);
	}
}

let snapshotId = "";

beforeAll(async () => {
	const headers = { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}`, "Content-Type": "application/json" };
	const started = (await (await fetchRetry(`${inject("baseUrl")}/api/admin/backups`, { method: "POST", headers, body: "{}" })).json()) as { statusUrl: string };
	for (let i = 0; i < 120; i++) {
		const run = (await (await fetchRetry(`${inject("baseUrl")}${started.statusUrl}`, { headers })).json()) as { status: string; snapshotId: string };
		if (run.status === "complete") {
			snapshotId = run.snapshotId;
			return;
		}
		if (run.status === "failed") throw new Error("the test backup failed");
		await new Promise((r) => setTimeout(r, 500));
	}
	throw new Error("the test backup did not finish");
});

/** Column start of each header title, and every data line starts its cells there too. */
function expectAligned(out: string, titles: string[]): string[] {
	const lines = out.split("\n");
	const headerAt = lines.findIndex((l) => titles.every((t) => l.includes(t)) && l.startsWith(titles[0]!));
	expect(headerAt).toBeGreaterThanOrEqual(0);
	const header = lines[headerAt]!;
	expect(header.split(/\s{2,}/)).toEqual(titles);
	expect(lines[headerAt + 1]).toMatch(/^─+(  ─+)+$/);
	const end = lines.indexOf("", headerAt);
	const bodyRows = lines.slice(headerAt + 2, end < 0 ? undefined : end);
	const lastStart = header.lastIndexOf(titles.at(-1)!);
	expect(bodyRows.length).toBeGreaterThan(0);
	// The last column (the id) starts at its title's column on every row.
	for (const row of bodyRows) expect(row.slice(lastStart)).toMatch(/^\S+$/);
	return bodyRows;
}

const parisTime = (id: string, zone = "Europe/Paris", locale = "fr-FR") =>
	new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone: zone }).format(
		new Date(id.replace(/^(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})Z.*$/, "$1T$2:$3:$4Z")),
	);

describe("npm run admin follows LOCALE and TIMEZONE", () => {
	it("snapshots: an aligned table with headers, local dates, sizes in Ko/Mo, the id last; --json stays raw", () => {
		const fr = admin(["snapshots"]);
		expect(fr.code).toBe(0);
		expect(fr.err).toBe("");
		const rows = expectAligned(fr.out, ["Date", "Origine", "Réponses", "Lignes", "Taille", "Morceaux", "Vérifiée", "id"]);
		const mine = rows.find((r) => r.endsWith(snapshotId))!;
		expect(mine).toBeDefined();
		expect(mine.startsWith(parisTime(snapshotId).replace(/\u202f/g, " "))).toBe(true);
		expect(mine).toMatch(/ manuelle /);
		expect(mine).toMatch(/\d+(,\d)?\u00a0(o|Ko|Mo) /);
		expect(mine).toMatch(/ oui /);
		expect(fr.out).not.toMatch(/MiB|KiB|verified|chunks/);
		expect(fr.out).toMatch(/^\d+ sauvegardes? \(heures : Europe\/Paris\)$/m);

		const english = admin(["snapshots"], en);
		expect(english.code).toBe(0);
		const enRows = expectAligned(english.out, ["Date", "Trigger", "Answers", "Rows", "Size", "Chunks", "Verified", "id"]);
		expect(enRows.find((r) => r.endsWith(snapshotId))).toMatch(/ manual .*\d+(\.\d)?\u00a0(B|KB|MB) .* yes /);

		// TIMEZONE moves the times, not the ids.
		const utc = admin(["snapshots"], { TIMEZONE: "UTC" });
		const utcRow = utc.out.split("\n").find((l) => l.endsWith(snapshotId))!;
		expect(utcRow.startsWith(parisTime(snapshotId, "UTC"))).toBe(true);
		expect(parisTime(snapshotId, "UTC")).not.toBe(parisTime(snapshotId));

		const json = admin(["snapshots", "--json"]);
		expect(json.code).toBe(0);
		const list = JSON.parse(json.out) as Array<{ id: string; bytes: number }>;
		expect(list.find((s) => s.id === snapshotId)?.bytes).toBeGreaterThan(0);
	});

	it("retention: a table of backups, decisions and reasons in words, never the policy's English", () => {
		const fr = admin(["retention"]);
		expect(fr.code).toBe(0);
		const rows = expectAligned(fr.out, ["Sauvegarde", "Décision", "Raison", "id"]);
		const newest = rows.find((r) => r.endsWith(snapshotId))!;
		expect(newest).toMatch(/ gardée .*jour du \d{1,2} \S+.*la plus récente vérifiée/);
		expect(fr.out).not.toMatch(/daily|weekly|monthly|deferred|newest|outside|"reasons"/);
		expect(fr.out).toMatch(/^Politique : 30 jours, 8 semaines, 12 mois\.$/m);
		expect(fr.out).toMatch(/Rien n'a été supprimé : c'est un aperçu\.$/m);

		const english = admin(["retention"], en);
		expect(english.code).toBe(0);
		const enRows = expectAligned(english.out, ["Backup", "Decision", "Reason", "id"]);
		expect(enRows.find((r) => r.endsWith(snapshotId))).toMatch(/ kept .*day of \d{1,2} \S+.*the newest verified/);

		const json = admin(["retention", "--json"]);
		expect(JSON.parse(json.out).snapshots.find((s: { id: string }) => s.id === snapshotId).why[0].code).toBe("daily");
	});

	it("an unknown snapshot is answered in a sentence, exit code 1, nothing written", () => {
		for (const command of ["verify", "download", "restore"]) {
			const fr = admin([command, UNKNOWN]);
			expect(fr.code).toBe(1);
			expect(fr.err.trim()).toBe(`Erreur : Aucune sauvegarde « ${UNKNOWN} » : \`npm run admin -- snapshots\` liste celles qui existent.`);
			expect(fr.out).toBe("");
		}
		expect(existsSync(path.join(work, "snapshots", UNKNOWN))).toBe(false);
		const english = admin(["verify", UNKNOWN], en);
		expect(english.code).toBe(1);
		expect(english.err.trim()).toBe(`Error: No backup "${UNKNOWN}": \`npm run admin -- snapshots\` lists the ones that exist.`);
	});

	it("verify, undo and restore-status in plain sentences; refusals and mistakes in the chosen language", async () => {
		const verify = admin(["verify", snapshotId]);
		expect(verify.code).toBe(0);
		expect(verify.out).toMatch(new RegExp(`^La sauvegarde du ${parisTime(snapshotId).replace(/\u202f/g, " ")} est intacte : 1 morceau relu \\(\\d+(,\\d)?\\u00a0(o|Ko)\\), \\d+ enregistrements?, toutes les empreintes SHA-256 correspondent\\.$`, "m"));
		expect(admin(["verify", snapshotId], en).out).toMatch(/^The backup of .+ is intact: 1 chunk re-read \(/m);

		// Nothing to undo on this deployment (no replace, or one already undone by the dashboard's
		// test): the reason the API gives, in a sentence, exit code 1.
		const headers = { Authorization: `Bearer ${BROWSER_TEST_ADMIN_TOKEN}`, "Content-Type": "application/json" };
		const state = (await (await fetchRetry(`${inject("baseUrl")}/api/admin/restore/undo`, { headers })).json()) as { available: boolean; reason: string };
		expect(state.available).toBe(false);
		const undo = admin(["undo"]);
		expect(undo.code).toBe(1);
		const undoEn = admin(["undo"], en);
		expect(undoEn.code).toBe(1);
		if (state.reason === "no_replace") {
			expect(undo.err.trim()).toBe("Erreur : Rien à annuler : aucun remplacement n'a été fait.");
			expect(undoEn.err.trim()).toBe("Error: Nothing to undo: no replace has been done.");
		} else {
			expect(state.reason).toBe("undone");
			expect(undo.err.trim()).toMatch(/^Erreur : Rien à annuler : le dernier remplacement \(le .+\) a déjà été annulé le .+\.$/);
			expect(undoEn.err.trim()).toMatch(/^Error: Nothing to undo: the last replace \(.+\) was already undone on .+\.$/);
		}

		const started = (await (await fetchRetry(`${inject("baseUrl")}/api/admin/restore`, { method: "POST", headers, body: JSON.stringify({ snapshotId, mode: "dry-run" }) })).json()) as { id: string };
		let status = admin(["restore-status", started.id]);
		for (let i = 0; i < 120 && !/terminée|ÉCHOUÉE/.test(status.out); i++) {
			await new Promise((r) => setTimeout(r, 500));
			status = admin(["restore-status", started.id]);
		}
		expect(status.code).toBe(0);
		expect(status.out).toMatch(new RegExp(`^Aperçu depuis la sauvegarde du ${parisTime(snapshotId).replace(/\u202f/g, " ")} : terminée\\.$`, "m"));
		expect(status.out).toMatch(/^ {2}1 morceau vérifié sur 1, 0 ligne écrite, 0 ligne effacée ignorée\.$/m);
		expect(admin(["restore-status", started.id], en).out).toMatch(/^Preview from the backup of .+: finished\.$/m);
		expect(JSON.parse(admin(["restore-status", started.id, "--json"]).out).id).toBe(started.id);

		const csv = admin(["export-csv", "--out", "answers.csv"]);
		expect(csv.code).toBe(0);
		expect(csv.out).toMatch(/^Fichier enregistré : answers\.csv \([\d\u202f]+ réponses?, \d+(,\d)?\u00a0(o|Ko|Mo)\) : ouvrez-le avec un tableur\.$/m);
	});

	it("errors, unknown commands and help in the chosen language, with their exit codes", () => {
		const unknown = admin(["explode"]);
		expect(unknown.code).toBe(1);
		expect(unknown.err).toMatch(/^Erreur : Commande inconnue « explode »\.\n\nUtilisation : npm run admin/);
		const unknownEn = admin(["explode"], en);
		expect(unknownEn.code).toBe(1);
		expect(unknownEn.err).toMatch(/^Error: Unknown command "explode"\.\n\nUsage: npm run admin/);

		const down = admin(["snapshots"], { ADMIN_URL: "http://127.0.0.1:9" });
		expect(down.code).toBe(1);
		expect(down.err.trim()).toBe("Erreur : Impossible de joindre http://127.0.0.1:9. Le serveur est-il lancé (npm start) ?");
		expect(admin(["snapshots"], { ADMIN_URL: "http://127.0.0.1:9", ...en }).err.trim()).toBe("Error: Cannot reach http://127.0.0.1:9. Is the server running (npm start)?");

		const noToken = admin(["snapshots"], { ADMIN_TOKEN: "" });
		expect(noToken.code).toBe(1);
		expect(noToken.err).toMatch(/^Erreur : Aucun jeton administrateur : passez --token/);

		const wrong = admin(["retention"], { ADMIN_TOKEN: "wrong-token-000000000000000000" });
		expect(wrong.code).toBe(1);
		expect(wrong.err.trim()).toBe("Erreur : Jeton administrateur refusé : vérifiez --token, ADMIN_TOKEN ou .dev.vars. (401 unauthorized)");

		const which = admin(["verify"]);
		expect(which.code).toBe(1);
		expect(which.err).toMatch(/^Erreur : Quelle sauvegarde \?/);

		const help = admin(["help"]);
		expect(help.code).toBe(0);
		expect(help.out).toMatch(/^Utilisation : npm run admin -- <commande>/);
		expect(help.out).toContain("LOCALE=fr (par défaut) ou LOCALE=en");
		expect(admin(["help"], en).out).toMatch(/^Usage: npm run admin -- <command>/);
	});
});
