// `npm run admin -- export-csv [--out FILE] [--raw]`: every answer as a CSV file, made by the
// server as a job (POST /api/admin/exports), followed until it is ready, then written to disk as
// it downloads (never the whole file in memory). A cut download leaves no file under the final name.
import { open, rename, rm, stat } from "node:fs/promises";
import { LANG, num, plural, say, size } from "./text.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `Préparation du fichier : 12 000 / 40 000 réponses`. */
export function progressLine(p) {
	const total = p?.rowsTotal == null ? "…" : num(p.rowsTotal);
	return say(`Préparation du fichier : ${num(p?.rows ?? 0)} / ${total} réponses`, `Preparing the file: ${num(p?.rows ?? 0)} / ${total} answers`);
}

/**
 * Run the export. `api` is the CLI's HTTP helpers: `postJson(path, body)`, `getJson(path)`,
 * `call(path)` (a Response; throws on an HTTP error). `fail(message)` throws the CLI's error.
 */
export async function exportCsv({ api, out, raw, fail, pollMs = 500 }) {
	const started = await api.postJson("/api/admin/exports", { kind: "csv", format: raw ? "raw" : "excel", lang: LANG });
	const tty = process.stdout.isTTY;
	let last = "";
	let job = started;
	for (;;) {
		const line = progressLine(job.progress);
		if (line !== last) {
			if (tty) process.stdout.write(`\r${line}`);
			else console.log(line);
			last = line;
		}
		if (job.status === "complete" || job.status === "failed") break;
		await sleep(pollMs);
		job = await api.getJson(`/api/admin/exports/${encodeURIComponent(started.id)}`);
	}
	if (tty) process.stdout.write("\n");
	if (job.status === "failed") {
		fail(say(`La préparation du fichier a échoué (${job.error ?? "raison inconnue"}). Relancez la commande.`, `Preparing the file failed (${job.error ?? "unknown reason"}). Run the command again.`));
	}
	const file = out ?? job.fileName;
	const partial = `${file}.part`;
	// Piece by piece (each request stays within the server's CPU budget), each written as it arrives.
	const fh = await open(partial, "w");
	try {
		for (let k = 0; k < job.pieces; k++) {
			const res = await api.call(`${job.downloadUrl}?piece=${k}`);
			for await (const chunk of res.body) await fh.write(chunk);
		}
		await fh.close();
		const written = (await stat(partial)).size;
		if (job.bytes != null && written !== job.bytes) fail(say(`Fichier incomplet (${size(written)} sur ${size(job.bytes)}).`, `Incomplete file (${size(written)} of ${size(job.bytes)}).`));
		await rename(partial, file);
	} catch (err) {
		await fh.close().catch(() => undefined);
		await rm(partial, { force: true });
		throw err;
	}
	console.log(
		say(
			`Fichier enregistré : ${file} (${plural(job.progress.rows, "réponse", "réponses")}, ${size(job.bytes)}) : ouvrez-le avec un tableur.`,
			`File saved: ${file} (${plural(job.progress.rows, "answer", "answers")}, ${size(job.bytes)}): open it with a spreadsheet.`,
		),
	);
	return file;
}
