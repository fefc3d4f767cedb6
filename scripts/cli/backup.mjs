// `npm run admin -- backup`: start a backup, show its progress (one line updated in place on a
// terminal, plain lines otherwise), then its result in one sentence: success, or the failure
// explained in words by the server (what failed, which previous backup is intact, what to do).
import { LANG, num, plural, say } from "./text.mjs";

/** Seconds as words: `12 s`, `3 min 05 s`, `1 h 02 min`. */
export function elapsed(seconds) {
	const s = Math.max(0, Math.round(seconds ?? 0));
	if (s < 60) return `${s}\u00a0s`;
	if (s < 3600) return `${Math.floor(s / 60)}\u00a0min\u00a0${String(s % 60).padStart(2, "0")}\u00a0s`;
	return `${Math.floor(s / 3600)}\u00a0h\u00a0${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}\u00a0min`;
}

/** One progress line from the run status: stage in words, rows and chunks done, time elapsed. */
export function progressLine(run) {
	const p = run.progress;
	if (!p) return say("Sauvegarde lancée, démarrage…", "Backup started, starting…");
	const stage = p.stageText?.[LANG] ?? p.stage;
	const rows = p.rowsTotal
		? say(`${num(p.rows)} lignes sur ${num(p.rowsTotal)}`, `${num(p.rows)} of ${num(p.rowsTotal)} rows`)
		: plural(p.rows, say("ligne", "row"), say("lignes", "rows"));
	const chunks = plural(p.chunks, say("morceau écrit", "chunk written"), say("morceaux écrits", "chunks written"));
	return `${stage} — ${rows}, ${chunks} — ${say("depuis", "for")} ${elapsed(p.elapsedSeconds)}`;
}

/** The result in one sentence (plus the technical detail, secondary, after a failure). */
export function resultText(run) {
	if (run.status === "complete") {
		const p = run.progress ?? { rows: run.rows, chunks: run.chunks, elapsedSeconds: 0 };
		const rows = plural(p.rows, say("ligne", "row"), say("lignes", "rows"));
		const chunks = plural(p.chunks, say("morceau", "chunk"), say("morceaux", "chunks"));
		return say(
			`Sauvegarde réussie et vérifiée : ${rows} en ${chunks}, en ${elapsed(p.elapsedSeconds)} (référence ${run.snapshotId}).`,
			`Backup succeeded and verified: ${rows} in ${chunks}, in ${elapsed(p.elapsedSeconds)} (reference ${run.snapshotId}).`,
		);
	}
	const words = run.explanation?.[LANG] ?? say(`La sauvegarde a échoué (${run.stage ?? "?"}).`, `The backup failed (${run.stage ?? "?"}).`);
	const detail = run.error ? `\n${say("Détail technique (pour le développeur)", "Technical detail (for the developer)")} : ${run.stage ?? ""} — ${run.error} [${run.id}]` : "";
	return `${words}${detail}`;
}

const ACTIVE = ["queued", "running", "waiting", "paused", "unknown"];

/**
 * Follow a run to its end (bounded: 2 hours), writing progress to `out` (stderr): on a terminal
 * one line rewritten in place, otherwise a plain line each time the stage, rows or chunks change.
 * @param {(path: string) => Promise<any>} getJson
 * @param {string} statusPath
 * @param {{ out?: { write(text: string): unknown }, isTTY?: boolean, every?: number }} [options]
 */
export async function followBackup(getJson, statusPath, { out = process.stderr, isTTY = Boolean(process.stderr.isTTY), every = 1000 } = {}) {
	const deadline = Date.now() + 2 * 3600 * 1000;
	let lastKey = "";
	let shown = false;
	try {
		while (Date.now() < deadline) {
			const run = await getJson(statusPath);
			if (!ACTIVE.includes(run.status)) return run;
			const line = progressLine(run);
			if (isTTY) {
				out.write(`\r\x1b[2K${line}`);
				shown = true;
			} else {
				const p = run.progress ?? {};
				const key = `${p.stage}|${p.rows}|${p.chunks}`;
				if (key !== lastKey) out.write(`${line}\n`);
				lastKey = key;
			}
			await new Promise((r) => setTimeout(r, every));
		}
	} finally {
		if (isTTY && shown) out.write("\r\x1b[2K");
	}
	throw new Error(say("La sauvegarde tourne encore après 2 heures : suivez-la avec `npm run admin -- status`.", "The backup is still running after 2 hours; follow it with `npm run admin -- status`."));
}
