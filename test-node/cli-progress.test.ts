// The CLI's backup progress and result sentences (scripts/cli/backup.mjs), and the restore
// preview's layout (scripts/cli/restore.mjs): pure text from status answers, and the progress
// line rewritten in place on a terminal but printed as plain lines otherwise.
import { describe, expect, it } from "vitest";
import { followBackup, progressLine, resultText } from "../scripts/cli/backup.mjs";
import { confirmQuestion, previewText } from "../scripts/cli/restore.mjs";

const failed = {
	id: "manual-20261203T020000Z-abcdef",
	status: "failed",
	stage: "export",
	error: "Error: put: Unspecified error (0)",
	explanation: { fr: "La sauvegarde du 3 déc. à 03 h 00 n'a pas pu écrire dans le stockage R2. Votre sauvegarde précédente, du 2 déc. à 03 h 00, est intacte.", en: "…" },
};

/** A status URL answering these runs in turn (the last one again and again). */
function answers(...runs: unknown[]) {
	let i = 0;
	return async () => runs[Math.min(i++, runs.length - 1)];
}

function sink() {
	const chunks: string[] = [];
	return { out: { write: (s: string) => chunks.push(s) }, text: () => chunks.join("") };
}

const running = (rows: number, chunks: number, stage = "export") => ({
	status: "running",
	progress: { stage, stageText: { fr: stage === "export" ? "copie des données" : "préparation", en: "x" }, rows, rowsTotal: 300, chunks, elapsedSeconds: 65 },
});

describe("backup in the CLI", () => {
	it("a failure reads as the server's explanation first, the technical detail after", () => {
		const text = resultText(failed);
		expect(text.startsWith("La sauvegarde du 3 déc. à 03 h 00 n'a pas pu écrire dans le stockage R2. Votre sauvegarde précédente")).toBe(true);
		expect(text.indexOf("Unspecified")).toBeGreaterThan(text.indexOf("intacte"));
	});

	it("a success says rows, chunks and time; the progress line says stage, rows of total, chunks, time", () => {
		expect(resultText({ status: "complete", snapshotId: "2026-12-03T020000Z-x", progress: { rows: 1234, chunks: 1, elapsedSeconds: 14 } })).toBe(
			"Sauvegarde réussie et vérifiée : 1\u202f234 lignes en 1 morceau, en 14\u00a0s (référence 2026-12-03T020000Z-x).",
		);
		expect(progressLine(running(120, 2))).toBe("copie des données — 120 lignes sur 300, 2 morceaux écrits — depuis 1\u00a0min\u00a005\u00a0s");
		expect(progressLine({ status: "queued" })).toBe("Sauvegarde lancée, démarrage…");
	});

	it("on a terminal the line is rewritten in place, then cleared before the result", async () => {
		const s = sink();
		const end = await followBackup(answers(running(0, 0, "begin"), running(120, 2), { status: "complete" }), "/x", { out: s.out, isTTY: true, every: 0 });
		expect(end).toEqual({ status: "complete" });
		expect(s.text()).toBe("\r\x1b[2Kpréparation — 0 lignes sur 300, 0 morceau écrit — depuis 1\u00a0min\u00a005\u00a0s\r\x1b[2Kcopie des données — 120 lignes sur 300, 2 morceaux écrits — depuis 1\u00a0min\u00a005\u00a0s\r\x1b[2K");
	});

	it("elsewhere (a script, a log) plain lines, one per change of stage, rows or chunks", async () => {
		const s = sink();
		await followBackup(answers(running(120, 2), running(120, 2), running(300, 3), failed), "/x", { out: s.out, isTTY: false, every: 0 });
		expect(s.text().split("\n").filter(Boolean)).toHaveLength(2);
		expect(s.text()).not.toContain("\r");
	});
});

describe("restore preview in the CLI", () => {
	const run = {
		report: {
			tables: {
				roles: { added: 0, differ: 0, disappear: 0, skippedErased: 0 },
				submissions: { added: 0, differ: 0, disappear: 3, skippedErased: 0 },
			},
		},
		summary: {
			fr: "Sauvegarde du 2 déc. à 03 h 00 (120 réponses). Remplacer supprimerait 3 réponses reçues depuis le 2 déc. à 23 h 46 et n'ajouterait rien.",
			en: "…",
			confirm: { replace: { fr: "Remplacer toutes les données par la sauvegarde du 2 déc. à 03 h 00 ?\n\nRemplacer supprimera 3 réponses…", en: "…" } },
		},
	};

	it("the sentence first, then the table (answers first), then the exact next commands", () => {
		const text = previewText(run, "2026-12-02T020000Z-abc", "dry-run");
		const lines = text.split("\n");
		expect(lines[0]).toBe(run.summary.fr);
		expect(text.indexOf("Réponses")).toBeLessThan(text.indexOf("Rôles"));
		expect(text.indexOf("Table")).toBeGreaterThan(text.indexOf("n'ajouterait rien"));
		expect(lines.at(-1)).toMatch(/^ {2}npm run admin -- restore 2026-12-02T020000Z-abc --mode replace /);
		// No next command after a merge or a replace was asked for: the confirmation follows.
		expect(previewText(run, "2026-12-02T020000Z-abc", "replace")).not.toContain("--mode");
		expect(confirmQuestion(run, "replace")).toContain("Remplacer supprimera 3 réponses");
		expect(confirmQuestion(run, "replace")).toMatch(/Tapez « replace » pour confirmer : $/);
	});

	it("a refused snapshot points to another backup instead of a restore command", () => {
		const text = previewText({ ...run, report: { ...run.report, rejected: { total: 1, rows: [{ table: "submissions", key: "s-1", chunk: 1, line: 2, reason: "bad" }] } } }, "id", "dry-run");
		expect(text).toContain("npm run admin -- snapshots");
		expect(text).not.toContain("--mode");
	});
});
