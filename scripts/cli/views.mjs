// What the admin CLI says about snapshots, retention, restores, the undo and API refusals: plain
// sentences and aligned tables in the administrator's language (text.mjs: LOCALE, TIMEZONE).
// Backups are named by their local date; ids stay in UTC and appear only in the `id` column.
import { LANG, TIMEZONE, num, plural, say, size, table, when } from "./text.mjs";

/** The instant a snapshot id names (`2026-12-02T020000Z-…`, UTC), as ISO; null if not an id. */
export function snapshotTime(id) {
	const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id ?? "");
	return m ? `${m[1]}T${m[2]}:${m[3]}:${m[4]}Z` : null;
}

/** A snapshot as a sentence names it: `la sauvegarde du 2 déc. 2026, 03:00`. */
export function snapshotName(id) {
	const time = snapshotTime(id);
	return time ? say(`la sauvegarde du ${when(time)}`, `the backup of ${when(time)}`) : say(`la sauvegarde « ${id} »`, `the backup "${id}"`);
}

const capitalise = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/** The sentence for a snapshot the server does not have. */
export const unknownSnapshot = (id) =>
	say(
		`Aucune sauvegarde « ${id} » : \`npm run admin -- snapshots\` liste celles qui existent.`,
		`No backup "${id}": \`npm run admin -- snapshots\` lists the ones that exist.`,
	);

/** API refusals said plainly; the server's code stays in brackets for whoever helps. */
const REFUSALS = {
	unauthorized: () => say("Jeton administrateur refusé : vérifiez --token, ADMIN_TOKEN ou .dev.vars.", "Administrator token refused: check --token, ADMIN_TOKEN or .dev.vars."),
	nothing_to_undo: () =>
		say(
			"Rien à annuler : aucun remplacement n'a été fait, ou une sauvegarde réussie depuis le dernier a libéré les données gardées.",
			"Nothing to undo: no replace was done, or a successful backup since the last one released the kept data.",
		),
	restore_in_progress: () => say("Une restauration est en cours : réessayez quand elle sera terminée.", "A restore is running: try again once it has finished."),
	backup_in_progress: () => say("Une sauvegarde est en cours : réessayez quand elle sera terminée.", "A backup is running: try again once it has finished."),
	erasure_in_progress: () => say("Un effacement est en cours : réessayez dans un instant.", "An erasure is running: try again in a moment."),
	undo_in_progress: () => say("Une annulation est déjà en cours.", "An undo is already running."),
	undo_pending: () =>
		say(
			"Le dernier remplacement peut encore être annulé : annulez-le (`npm run admin -- undo`), ou lancez d'abord une sauvegarde.",
			"The last replace can still be undone: undo it (`npm run admin -- undo`), or run a backup first.",
		),
};

/**
 * The message of an API error answer. `snapshotId` is the snapshot the request was about (from
 * its path or body): a 404 about it becomes the unknown-snapshot sentence.
 */
export function describeApiError(status, body, snapshotId) {
	const code = body?.error?.code;
	if (status === 404 && snapshotId && (code === "not_found" || code === "snapshot_not_found")) return unknownSnapshot(snapshotId);
	const plain = code && REFUSALS[code]?.();
	let text = plain ? `${plain} (${status} ${code})` : code ? `${body.error.message} (${status} ${code})` : `${status} ${say("réponse inattendue du serveur", "unexpected answer from the server")}`;
	for (const [field, why] of Object.entries(body?.error?.fields ?? {})) text += `\n  - ${field} : ${why}`;
	return text;
}

// ---------------------------------------------------------------------------------------------
// snapshots

const TRIGGER = { scheduled: () => say("automatique", "scheduled"), manual: () => say("manuelle", "manual") };

export function printSnapshots(items) {
	if (items.length === 0) return console.log(say("Aucune sauvegarde pour l'instant.", "No backup yet."));
	const columns = [
		{ title: say("Date", "Date") },
		{ title: say("Origine", "Trigger") },
		{ title: say("Réponses", "Answers"), align: "right" },
		{ title: say("Lignes", "Rows"), align: "right" },
		{ title: say("Taille", "Size"), align: "right" },
		{ title: say("Morceaux", "Chunks"), align: "right" },
		{ title: say("Vérifiée", "Verified") },
		{ title: "id" },
	];
	const rows = items.map((s) => [
		when(s.time ?? snapshotTime(s.id)),
		TRIGGER[s.trigger]?.() ?? s.trigger ?? "",
		num(s.rows?.submissions ?? 0),
		num(s.totalRows ?? 0),
		size(s.bytes ?? 0),
		num(s.chunks ?? 0),
		s.verified ? say("oui", "yes") : say("NON", "NO"),
		s.id,
	]);
	console.log(table(columns, rows));
	const count = plural(items.length, say("sauvegarde", "backup"), say("sauvegardes", "backups"));
	console.log(`\n${count} (${say("heures", "times")}: ${TIMEZONE})`.replace("heures:", "heures :"));
}

// ---------------------------------------------------------------------------------------------
// retention

const dayFmt = new Intl.DateTimeFormat(LANG === "en" ? "en-GB" : "fr-FR", { day: "numeric", month: "short", timeZone: "UTC" });
const monthFmt = new Intl.DateTimeFormat(LANG === "en" ? "en-GB" : "fr-FR", { month: "long", year: "numeric", timeZone: "UTC" });

/** The Monday of an ISO week key (`2026-W49`). */
function isoWeekMonday(key) {
	const [year, week] = key.split("-W").map(Number);
	const jan4 = new Date(Date.UTC(year, 0, 4));
	const monday = jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86_400_000;
	return new Date(monday + (week - 1) * 7 * 86_400_000);
}

/** One retention reason (`why` entry of GET /api/admin/retention) in words. */
export function reasonWords(why) {
	switch (why.code) {
		case "daily": return say(`jour du ${dayFmt.format(new Date(`${why.period}T12:00:00Z`))}`, `day of ${dayFmt.format(new Date(`${why.period}T12:00:00Z`))}`);
		case "weekly": return say(`semaine du ${dayFmt.format(isoWeekMonday(why.period))}`, `week of ${dayFmt.format(isoWeekMonday(why.period))}`);
		case "monthly": return say(`mois de ${monthFmt.format(new Date(`${why.period}-15T12:00:00Z`))}`, `month of ${monthFmt.format(new Date(`${why.period}-15T12:00:00Z`))}`);
		case "newest": return say("la plus récente vérifiée", "the newest verified");
		case "future": return say("datée dans le futur", "dated in the future");
		case "pinned": return say(`épinglée : données disparues (constaté dans ${snapshotName(why.detectedIn)})`, `pinned: data disappeared (seen in ${snapshotName(why.detectedIn)})`);
		case "in_use": return why.reader === "restore" ? say("lue par une restauration en cours", "read by a running restore") : say("lue par une vérification en cours", "read by a running verification");
		case "held": return say("retenue : la dernière sauvegarde a échoué", "held: the last backup failed");
		case "deferred": return say(`au plus ${num(why.maxRemovePct)} % des sauvegardes supprimées par passage`, `at most ${num(why.maxRemovePct)} % of the backups removed per run`);
		case "outside": return say("hors des créneaux jour, semaine et mois", "outside the day, week and month slots");
		default: return why.text ?? why.code;
	}
}

const FATE = {
	keep: () => say("gardée", "kept"),
	remove: () => say("SUPPRIMÉE", "REMOVED"),
	remove_later: () => say("supprimée plus tard", "removed later"),
};

export function printRetention(r) {
	const decisions = r.snapshots ?? [];
	if (decisions.length === 0) return console.log(say("Aucune sauvegarde : rien à garder ni à supprimer.", "No backup: nothing to keep or remove."));
	const columns = [{ title: say("Sauvegarde", "Backup") }, { title: say("Décision", "Decision") }, { title: say("Raison", "Reason") }, { title: "id" }];
	const rows = decisions.map((d) => {
		const fate = d.fate ?? (d.keep ? "keep" : "remove");
		const sep = say(" ; ", "; ");
		return [when(d.time), FATE[fate](), (d.why ?? []).map(reasonWords).join(sep) || (d.reasons ?? []).join(sep), d.id];
	});
	console.log(table(columns, rows));
	const later = decisions.filter((d) => d.fate === "remove_later").length;
	const removed = decisions.filter((d) => (d.fate ?? (d.keep ? "keep" : "remove")) === "remove").length;
	const p = r.policy ?? {};
	console.log(
		`\n${say("Politique :", "Policy:")} ${plural(p.keepDaily ?? 0, say("jour", "day"), say("jours", "days"))}, ${plural(p.keepWeekly ?? 0, say("semaine", "week"), say("semaines", "weeks"))}, ${plural(p.keepMonthly ?? 0, "mois", say("mois", "months"))}.`,
	);
	console.log(
		say(
			`${plural(decisions.length - removed - later, "gardée", "gardées")}, ${plural(removed, "supprimée", "supprimées")} au prochain passage, ${plural(later, "supprimée", "supprimées")} plus tard (au plus ${num(r.limits?.maxRemovePct ?? 0)} % par passage). Rien n'a été supprimé : c'est un aperçu.`,
			`${num(decisions.length - removed - later)} kept, ${num(removed)} removed by the next run, ${num(later)} removed later (at most ${num(r.limits?.maxRemovePct ?? 0)} % per run). Nothing was removed: this is a preview.`,
		),
	);
	if (r.newPin) console.log(`\n${say("ATTENTION", "WARNING")} : ${r.newPin.message?.[LANG] ?? r.newPin.message?.fr ?? r.newPin.reason}`);
	for (const u of r.unreadable ?? []) console.log(`${say("Illisible", "Unreadable")} : ${snapshotName(u.id)} — ${u.reason}`);
}

// ---------------------------------------------------------------------------------------------
// restores and the undo

const RUN_STATUS = {
	queued: () => say("en attente", "queued"),
	running: () => say("en cours", "running"),
	complete: () => say("terminée", "finished"),
	failed: () => say("ÉCHOUÉE", "FAILED"),
};
const MODE = { "dry-run": () => say("aperçu", "preview"), merge: () => say("fusion", "merge"), replace: () => say("remplacement", "replace") };

export function printRestoreRun(run) {
	const p = run.progress ?? {};
	console.log(
		say(
			`${capitalise(MODE[run.mode]?.() ?? run.mode)} depuis ${snapshotName(run.snapshotId)} : ${RUN_STATUS[run.status]?.() ?? run.status}${run.stage && run.status === "running" ? ` (étape « ${run.stage} »)` : ""}.`,
			`${capitalise(MODE[run.mode]?.() ?? run.mode)} from ${snapshotName(run.snapshotId)}: ${RUN_STATUS[run.status]?.() ?? run.status}${run.stage && run.status === "running" ? ` (step "${run.stage}")` : ""}.`,
		),
	);
	console.log(say(`  Demandée le ${when(run.requestedAt)}${run.finishedAt ? `, finie le ${when(run.finishedAt)}` : ""}.`, `  Requested on ${when(run.requestedAt)}${run.finishedAt ? `, finished on ${when(run.finishedAt)}` : ""}.`));
	console.log(
		say(
			`  ${plural(p.chunksVerified ?? 0, "morceau vérifié", "morceaux vérifiés")} sur ${num(p.chunksTotal ?? 0)}, ${plural(p.rowsWritten ?? 0, "ligne écrite", "lignes écrites")}, ${plural(p.rowsSkippedErased ?? 0, "ligne effacée ignorée", "lignes effacées ignorées")}.`,
			`  ${num(p.chunksVerified ?? 0)} of ${num(p.chunksTotal ?? 0)} chunks verified, ${plural(p.rowsWritten ?? 0, "row", "rows")} written, ${plural(p.rowsSkippedErased ?? 0, "erased row", "erased rows")} skipped.`,
		),
	);
	if (run.error) console.log(`  ${say("Erreur", "Error")} : ${run.error}`);
	if (run.undoAvailable) console.log(say("  Ce remplacement peut être annulé jusqu'à la prochaine sauvegarde réussie : npm run admin -- undo", "  This replace can be undone until the next successful backup: npm run admin -- undo"));
	if (run.undoneAt) console.log(say(`  Annulé le ${when(run.undoneAt)}.`, `  Undone on ${when(run.undoneAt)}.`));
}

/** Why nothing can be undone (`reason` of GET /api/admin/restore/undo), in a sentence. */
export function nothingToUndo(state) {
	const done = when(state.replace?.finishedAt);
	switch (state.reason) {
		case "undone":
			return say(`Rien à annuler : le dernier remplacement (le ${done}) a déjà été annulé le ${when(state.replace?.undoneAt)}.`, `Nothing to undo: the last replace (${done}) was already undone on ${when(state.replace?.undoneAt)}.`);
		case "released":
			return say(
				`Rien à annuler : une sauvegarde réussie depuis le dernier remplacement (le ${done}) a libéré les données gardées.`,
				`Nothing to undo: a successful backup since the last replace (${done}) released the kept data.`,
			);
		default:
			return say("Rien à annuler : aucun remplacement n'a été fait.", "Nothing to undo: no replace has been done.");
	}
}

/** The undo's outcome, naming the replace by its dates. */
export function printUndone(state) {
	const r = state?.replace;
	console.log(
		r
			? say(
					`Remplacement annulé : les données d'avant le remplacement du ${when(r.finishedAt)} (depuis ${snapshotName(r.snapshotId)}) sont revenues.`,
					`Replace undone: the data from before the replace of ${when(r.finishedAt)} (from ${snapshotName(r.snapshotId)}) is back.`,
				)
			: say("Remplacement annulé : les données d'avant sont revenues.", "Replace undone: the data from before is back."),
	);
}

// ---------------------------------------------------------------------------------------------
// verify, download, export

export const verifiedSentence = (id, manifest) =>
	say(
		`${capitalise(snapshotName(id))} est intacte : ${plural(manifest.chunks.length, "morceau relu", "morceaux relus")} (${size(manifest.bytes ?? 0)}), ${plural(manifest.rows ?? 0, "enregistrement", "enregistrements")}, toutes les empreintes SHA-256 correspondent.`,
		`${capitalise(snapshotName(id))} is intact: ${plural(manifest.chunks.length, "chunk", "chunks")} re-read (${size(manifest.bytes ?? 0)}), ${plural(manifest.rows ?? 0, "record", "records")}, every SHA-256 matches.`,
	);

export const damagedSentence = (id, problems) =>
	say(`${capitalise(snapshotName(id))} est ENDOMMAGÉE :\n  ${problems.join("\n  ")}`, `${capitalise(snapshotName(id))} is DAMAGED:\n  ${problems.join("\n  ")}`);

export const chunkProblem = (n, problem) => `${say("morceau", "chunk")} ${n} : ${problem}`;

export const savedSentence = (id, manifest, dir) =>
	say(
		`${capitalise(snapshotName(id))} est enregistrée dans ${dir} : manifest.json et ${plural(manifest.chunks.length, "morceau", "morceaux")} (${size(manifest.bytes ?? 0)}).`,
		`${capitalise(snapshotName(id))} is saved in ${dir}: manifest.json and ${plural(manifest.chunks.length, "chunk", "chunks")} (${size(manifest.bytes ?? 0)}).`,
	);
