// `npm run admin -- restore <id>`: the preview's conclusion first (one sentence, computed by the
// server, the same as the dashboard's), then the per-table table, then the exact next command;
// the confirmation of a merge or a replace repeats the preview's numbers.
import { LANG, num, plural, say, table } from "./text.mjs";

const TABLE_NAMES = {
	fr: { submissions: "Réponses", roles: "Rôles", counters: "Compteurs", erasures: "Demandes d'effacement", erased_submissions: "Réponses effacées" },
	en: { submissions: "Answers", roles: "Roles", counters: "Counters", erasures: "Erasure requests", erased_submissions: "Erased answers" },
};

/**
 * The preview: sentence, table (answers first), refused rows, other notes (e.g. the plan's daily
 * write limit), and what to run next.
 */
export function previewText(run, snapshotId, mode = "dry-run", notes = []) {
	const report = run.report ?? {};
	const lines = [];
	if (run.summary) lines.push(run.summary[LANG] ?? run.summary.fr, "");
	const names = TABLE_NAMES[LANG];
	const entries = Object.entries(report.tables ?? {}).sort(([a], [b]) => (a === "submissions" ? -1 : b === "submissions" ? 1 : 0));
	lines.push(
		table(
			[
				{ title: say("Table", "Table") },
				{ title: say("À ajouter", "To add"), align: "right" },
				{ title: say("Différentes", "Different"), align: "right" },
				{ title: say("Disparaîtraient", "Would disappear"), align: "right" },
				{ title: say("Effacées (jamais restaurées)", "Erased (never restored)"), align: "right" },
			],
			entries.map(([t, d]) => [names[t] ?? t, num(d.added), num(d.differ), num(d.disappear), num(d.skippedErased)]),
		),
	);
	const rejected = report.rejected;
	if (rejected) {
		const refused = plural(rejected.total, say("ligne ne passe", "row fails"), say("lignes ne passent", "rows fail"));
		lines.push("", say(`LIGNES REFUSÉES : ${refused} pas le contrôle ; fusion et remplacement sont refusés.`, `REFUSED ROWS: ${refused} the row checks; merge and replace refuse this snapshot.`));
		for (const r of rejected.rows ?? []) lines.push(`  ${names[r.table] ?? r.table} ${r.key} (${say("morceau", "chunk")} ${r.chunk}, ${say("ligne", "line")} ${r.line}) : ${r.reason}`);
		if (rejected.total > (rejected.rows ?? []).length) lines.push(`  … ${say("et", "and")} ${plural(rejected.total - rejected.rows.length, say("autre", "more"), say("autres", "more"))}`);
		lines.push("", say("Choisissez une autre sauvegarde : npm run admin -- snapshots", "Choose another backup: npm run admin -- snapshots"));
	}
	lines.push(...notes);
	if (!rejected && mode === "dry-run") {
		lines.push(
			"",
			say("Pour appliquer (une confirmation vous sera demandée) :", "To apply it (you will be asked to confirm):"),
			`  npm run admin -- restore ${snapshotId} --mode merge     ${say("# ajoute seulement ce qui manque", "# only adds what is missing")}`,
			`  npm run admin -- restore ${snapshotId} --mode replace   ${say("# remplace tout (annulable jusqu'à la prochaine sauvegarde)", "# replaces everything (can be undone until the next backup)")}`,
		);
	}
	return lines.join("\n");
}

/** The confirmation question: the preview's numbers again, then what to type. */
export function confirmQuestion(run, mode) {
	const words = run.summary?.confirm?.[mode];
	const text = words ? (words[LANG] ?? words.fr) : say(`Appliquer cette restauration en mode ${mode} ?`, `Apply this restore in ${mode} mode?`);
	return `${text}\n${say(`Tapez « ${mode} » pour confirmer : `, `Type "${mode}" to confirm: `)}`;
}

/** The end of a merge or replace, in one sentence (and how to undo a replace). */
export function restoreDoneText(run, mode) {
	if (run.status !== "complete") {
		return say(`La restauration n'a pas abouti (${run.status}) : ${run.error ?? ""}`, `Restore ${run.status}: ${run.error ?? ""}`);
	}
	const p = run.progress ?? {};
	const written = plural(p.rowsWritten ?? 0, say("ligne écrite", "row written"), say("lignes écrites", "rows written"));
	const erased = plural(p.rowsSkippedErased ?? 0, say("ligne effacée ignorée", "erased row skipped"), say("lignes effacées ignorées", "erased rows skipped"));
	const what = mode === "replace" ? say("Remplacement terminé", "Replace finished") : say("Fusion terminée", "Merge finished");
	const undo = run.undoAvailable
		? say(
				" `npm run admin -- undo` peut remettre les données d'avant jusqu'à la prochaine sauvegarde réussie.",
				" `npm run admin -- undo` can bring the previous data back until the next successful backup.",
			)
		: "";
	return `${what} : ${written}, ${erased}.${undo}`.replace(" : ", say(" : ", ": "));
}
