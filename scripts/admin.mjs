#!/usr/bin/env node
// Command-line tool for administrators: look at backups, trigger, verify, download and restore,
// against the local server or a deployed Worker. `npm run admin -- help` lists the commands.
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { checkChunk } from "../src/snapshots/codec.ts";
import { OffsiteError, pull, push, verifyLocal } from "./offsite.mjs";
import { formatPlatform, formatRestoreBudget, isRefusedByBudget } from "./cli/platform.mjs";
import { HELP } from "./cli/help.mjs";
import { LANG, plural, say, when } from "./cli/text.mjs";
import {
	chunkProblem,
	damagedSentence,
	describeApiError,
	nothingToUndo,
	printRestoreRun,
	printRetention,
	printSnapshots,
	printUndone,
	savedSentence,
	verifiedSentence,
} from "./cli/views.mjs";
import { followBackup, resultText as backupResultText } from "./cli/backup.mjs";
import { confirmQuestion, previewText, restoreDoneText } from "./cli/restore.mjs";
import { formatVerdict } from "./cli/verdict.mjs";
import { formatStatusFacts } from "./cli/status.mjs";
import { exportCsv } from "./cli/export.mjs";

const { values: opts, positionals } = parseArgs({
	allowPositionals: true,
	options: {
		url: { type: "string" },
		token: { type: "string" },
		out: { type: "string" },
		mode: { type: "string", default: "dry-run" },
		yes: { type: "boolean", default: false },
		all: { type: "boolean", default: false },
		json: { type: "boolean", default: false },
		"no-wait": { type: "boolean", default: false },
		raw: { type: "boolean", default: false },
		recipient: { type: "string", multiple: true },
		identity: { type: "string" },
		"keep-daily": { type: "string" },
		"keep-weekly": { type: "string" },
		"keep-monthly": { type: "string" },
		help: { type: "boolean", short: "h", default: false },
	},
});

const [command, arg] = positionals;
const baseUrl = (opts.url ?? process.env.ADMIN_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");

class CliError extends Error {}

function readToken() {
	if (opts.token) return opts.token;
	if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
	if (existsSync(".dev.vars")) {
		const m = /^ADMIN_TOKEN\s*=\s*"?([^"\s]+)"?/m.exec(readFileSync(".dev.vars", "utf8"));
		if (m) return m[1];
	}
	throw new CliError(
		say(
			"Aucun jeton administrateur : passez --token, définissez ADMIN_TOKEN, ou lancez `npm start` une fois.",
			"No administrator token: pass --token, set ADMIN_TOKEN, or run `npm start` once.",
		),
	);
}

async function call(path, init = {}) {
	const token = readToken(); // outside the try: a missing token is not a network failure
	let res;
	try {
		res = await fetch(`${baseUrl}${path}`, {
			...init,
			headers: { Authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
		});
	} catch {
		throw new CliError(say(`Impossible de joindre ${baseUrl}. Le serveur est-il lancé (npm start) ?`, `Cannot reach ${baseUrl}. Is the server running (npm start)?`));
	}
	if (!res.ok) {
		const body = await res.json().catch(() => null);
		throw new CliError(describeApiError(res.status, body, snapshotOfRequest(path, init)));
	}
	return res;
}

/** The snapshot a request is about (its path, or a JSON body's snapshotId), for a 404's sentence. */
function snapshotOfRequest(path, init) {
	const inPath = /^\/api\/admin\/snapshots\/([^/?]+)/.exec(path)?.[1];
	if (inPath) return decodeURIComponent(inPath);
	try {
		return typeof init.body === "string" ? JSON.parse(init.body).snapshotId : undefined;
	} catch {
		return undefined;
	}
}

const getJson = async (path, init) => (await call(path, init)).json();
const postJson = (path, body) =>
	getJson(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

function print(value, human) {
	if (opts.json || !human) console.log(JSON.stringify(value, null, 2));
	else human(value);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mib = (n) => `${(n / 1024 / 1024).toFixed(2)} MiB`;

/** Poll a status URL until the job is no longer queued/running (bounded: 2 hours). */
async function waitFor(path, label) {
	const deadline = Date.now() + 2 * 3600 * 1000;
	let last = "";
	while (Date.now() < deadline) {
		const s = await getJson(path);
		const line = `${label}: ${s.status}${s.stage ? ` (${s.stage})` : ""}`;
		if (line !== last) console.error(line);
		last = line;
		if (!["queued", "running", "waiting", "paused", "unknown"].includes(s.status)) return s;
		await sleep(1000);
	}
	throw new CliError(`${label} still running after 2 hours; check again with the status command.`);
}

/**
 * Check one chunk's bytes against its manifest entry on this machine, independently of the server,
 * with the Worker's own codec (size, SHA-256, gzip, every record, counts per table).
 */
async function checkChunkLocally(entry, bytes) {
	const check = await checkChunk(entry, bytes);
	return check.ok ? undefined : check.message;
}

/** Device names Windows reserves whatever the extension (`nul.txt` is the NUL device too). */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/**
 * Why `name` (the last part of a chunk's key in the manifest, which the server sends) cannot be
 * a file name in the download folder, on any system; undefined when it can. A hostile or broken
 * manifest must not write outside that folder nor make a name Windows reads differently.
 */
function findFileNameProblem(name) {
	if (typeof name !== "string" || name === "") return "nom vide";
	if (name.length > 200) return "nom trop long";
	if (/[/\\]/.test(name)) return "séparateur de dossier (/ ou \\)";
	if (name.includes("..")) return "« .. »";
	if (/^[a-z]:/i.test(name)) return "lettre de lecteur (C:)";
	if (/[\u0000-\u001f\u007f]/.test(name)) return "caractère de contrôle (NUL…)";
	if (/[<>:"|?*]/.test(name)) return "caractère interdit sous Windows (< > : \" | ? *)";
	if (/[. ]$/.test(name) || name.startsWith(" ")) return "espace au début, ou espace ou point à la fin du nom";
	if (WINDOWS_RESERVED.test(name)) return "nom réservé par Windows (CON, NUL, COM1…)";
	if (name.toLowerCase() === "manifest.json") return "même nom que le manifeste";
	return undefined;
}

/** The file name of each chunk of a manifest, or a CliError naming the first unsafe one. */
function planChunkFiles(manifest) {
	const names = new Map();
	for (const entry of manifest.chunks ?? []) {
		const name = typeof entry?.key === "string" ? entry.key.split("/").pop() : undefined;
		const problem = findFileNameProblem(name) ?? (names.has(name.toLowerCase()) ? "deux morceaux portent ce nom" : undefined);
		if (problem) {
			throw new CliError(
				`Téléchargement refusé : le manifeste nomme le morceau ${entry?.n ?? "?"} ${JSON.stringify(entry?.key ?? null)}, ` +
					`qui n'est pas un nom de fichier sûr (${problem}). Rien n'a été enregistré.`,
			);
		}
		names.set(name.toLowerCase(), name);
	}
	return names;
}

async function fetchAndCheck(id, onChunk, beforeChunks) {
	const manifestRes = await call(`/api/admin/snapshots/${encodeURIComponent(id)}/manifest`);
	const manifestText = await manifestRes.text();
	const manifest = JSON.parse(manifestText);
	await beforeChunks?.(manifest);
	const problems = [];
	for (const entry of manifest.chunks) {
		const bytes = new Uint8Array(
			await (await call(`/api/admin/snapshots/${encodeURIComponent(id)}/chunks/${entry.n}`)).arrayBuffer(),
		);
		const problem = await checkChunkLocally(entry, bytes);
		if (problem) problems.push(chunkProblem(entry.n, problem));
		await onChunk?.(entry, bytes);
	}
	return { manifest, manifestText, problems };
}

const commands = {
	async pull(dir) {
		await pull(dir, opts, { baseUrl, token: readToken() });
	},
	async "verify-local"(dir) {
		await verifyLocal(dir, opts);
	},
	async push(folder) {
		await push(folder, opts, { baseUrl, token: readToken() });
	},

	async status() {
		print(await getJson("/api/admin/status"), (s) => {
			// The verdict first, then the facts.
			for (const line of formatVerdict(s.verdict)) console.log(line);
			if (s.verdict) console.log("");
			for (const line of formatStatusFacts(s)) console.log(line);
			for (const line of formatPlatform(s.platform)) console.log(line);
		});
	},

	async snapshots() {
		const body = await getJson("/api/admin/snapshots");
		const list = body.snapshots ?? body;
		print(list, printSnapshots);
	},

	async backup() {
		const started = await postJson("/api/admin/backups", {});
		console.error(say(`Sauvegarde lancée (référence ${started.id}).`, `Backup started (reference ${started.id}).`));
		if (opts["no-wait"]) return print(started, () => console.log(started.statusUrl));
		const result = await followBackup(getJson, new URL(started.statusUrl, baseUrl).pathname);
		print(result, (r) => console.log(backupResultText(r)));
		if (result.status !== "complete") process.exitCode = 1;
	},

	async verify(id) {
		if (!id) throw new CliError(whichSnapshot("verify"));
		const { manifest, problems } = await fetchAndCheck(id);
		if (problems.length === 0) {
			console.log(verifiedSentence(id, manifest));
		} else {
			console.log(damagedSentence(id, problems));
			process.exitCode = 1;
		}
	},

	async download(id) {
		if (!id) throw new CliError(whichSnapshot("download"));
		const dir = opts.out ?? join("snapshots", id);
		const { manifest, manifestText, problems } = await fetchAndCheck(
			id,
			async (entry, bytes) => {
				await writeFile(join(dir, entry.key.split("/").pop()), bytes);
			},
			// Every name is checked before anything is written (the folder is not even created).
			async (m) => {
				planChunkFiles(m);
				await mkdir(dir, { recursive: true });
			},
		);
		await writeFile(join(dir, "manifest.json"), manifestText);
		console.log(savedSentence(id, manifest, dir));
		console.log(`${say("Vérifier", "Check")} : (cd ${dir} && jq -r '.chunks[] | "\\(.sha256)  \\(.key | split("/") | last)"' manifest.json | sha256sum -c)`);
		console.log(`${say("Lire", "Read")} :     zcat ${dir}/chunk-*.ndjson.gz | jq -c 'select(.table == "submissions")'`);
		if (problems.length) {
			console.log(`${say("ATTENTION, morceaux endommagés", "WARNING, corrupt chunks")} :\n  ${problems.join("\n  ")}`);
			process.exitCode = 1;
		}
	},

	async restore(id) {
		if (!id) throw new CliError(whichSnapshot("restore"));
		const mode = opts.mode;
		if (!["dry-run", "merge", "replace"].includes(mode)) throw new CliError(say("--mode vaut dry-run (aperçu), merge (fusion) ou replace (remplacement).", "--mode must be dry-run, merge or replace."));
		const preview = await runRestore(id, "dry-run");
		if (preview.status !== "complete") {
			print(preview, (p) => console.log(say(`L'aperçu n'a pas abouti (${p.status}) : ${p.error ?? "voir restore-status"}`, `The preview did not finish (${p.status}): ${p.error ?? "see restore-status"}`)));
			process.exitCode = 1;
			return;
		}
		if (opts.json) print(preview.report);
		else console.log(previewText(preview, id, mode, formatRestoreBudget(preview.report?.budget)));
		if (preview.report?.rejected) {
			// A write restore would be refused (docs/restore-runbook.md, "Contrôle des lignes").
			if (mode !== "dry-run") console.log(say("Restauration non lancée : elle serait refusée ; rien n'a été écrit.", `Not starting the ${mode}: it would be refused, nothing would be written.`));
			process.exitCode = 1;
			return;
		}
		if (isRefusedByBudget(preview.report?.budget, mode)) {
			// D1's daily write limit (docs/restore-runbook.md): the server would refuse it too.
			console.log(say("Restauration non lancée : rien n'a été écrit.", `Not starting the ${mode}: nothing was written.`));
			process.exitCode = 1;
			return;
		}
		if (mode === "dry-run") return;
		if (!opts.yes) {
			const { createInterface } = await import("node:readline/promises");
			const rl = createInterface({ input: process.stdin, output: process.stdout });
			const answer = await rl.question(`\n${confirmQuestion(preview, mode)}`);
			rl.close();
			if (answer.trim() !== mode) throw new CliError(say("Non confirmé : rien n'a été modifié.", "Not confirmed; nothing was changed."));
		}
		const done = await runRestore(id, mode);
		print(done, (d) => console.log(restoreDoneText(d, mode)));
		if (done.status && done.status !== "complete") process.exitCode = 1;
	},

	async "restore-status"(id) {
		if (!id) throw new CliError(say("Quelle restauration ? `npm run admin -- restore-status <restoreId>`", "Which restore? `npm run admin -- restore-status <restoreId>`"));
		print(await getJson(`/api/admin/restores/${encodeURIComponent(id)}`), printRestoreRun);
	},

	async undo() {
		// What is undone, named by its dates, is read first (GET): the POST only answers its id.
		const state = await getJson("/api/admin/restore/undo");
		if (!state.available) throw new CliError(nothingToUndo(state));
		const undone = await postJson("/api/admin/restore/undo", {});
		print(undone, () => printUndone(state));
	},

	async retention() {
		print(await getJson("/api/admin/retention"), printRetention);
	},

	async pins() {
		const { pins } = await getJson(`/api/admin/pins${opts.all ? "" : "?status=active"}`);
		print(pins, (list) => {
			if (list.length === 0) {
				console.log(
					opts.all
						? say("Aucun épinglage.", "No pin.")
						: say("Aucune sauvegarde épinglée : aucune disparition de données constatée.", "No pinned backup: no data loss seen."),
				);
				return;
			}
			for (const p of list) printPin(p);
		});
	},

	async "release-pin"(id) {
		if (!id) throw new CliError(say("Quel épinglage ? `npm run admin -- release-pin <pinId>` (voir `npm run admin -- pins`)", "Which pin? `npm run admin -- release-pin <pinId>` (see `npm run admin -- pins`)"));
		const pin = await getJson(`/api/admin/pins/${encodeURIComponent(id)}`);
		if (!pin.active) throw new CliError(say(`L'épinglage ${id} est déjà libéré (le ${frenchTime(pin.releasedAt)}).`, `Pin ${id} is already released (on ${frenchTime(pin.releasedAt)}).`));
		if (!opts.json) printPin(pin);
		if (!opts.yes) {
			const { createInterface } = await import("node:readline/promises");
			const rl = createInterface({ input: process.stdin, output: process.stdout });
			const answer = await rl.question(
				`${say(`Les sauvegardes d'avant la baisse (${plural(pin.snapshotIds.length, "sauvegarde", "sauvegardes")}) pourront de nouveau être supprimées par la conservation normale.\nTapez « libérer » pour confirmer : `, `The backups from before the drop (${plural(pin.snapshotIds.length, "backup", "backups")}) may be removed by normal retention again.\nType "libérer" to confirm: `)}`,
			);
			rl.close();
			if (answer.trim() !== "libérer") throw new CliError(say("Non confirmé : l'épinglage est maintenu.", "Not confirmed: the pin holds."));
		}
		const released = await postJson(`/api/admin/pins/${encodeURIComponent(id)}/release`, {});
		print(released, (p) => console.log(`${say(`Épinglage ${p.id} libéré.`, `Pin ${p.id} released.`)}\n  ${p.message[LANG] ?? p.message.fr}`));
	},

	async "export-csv"() {
		await exportCsv({
			api: { call, getJson, postJson },
			out: opts.out,
			raw: opts.raw,
			fail: (message) => {
				throw new CliError(message);
			},
		});
	},
};

/** "Which snapshot?" with the command's usage. */
const whichSnapshot = (command) =>
	say(`Quelle sauvegarde ? \`npm run admin -- ${command} <id>\` (les id sont listés par \`npm run admin -- snapshots\`)`, `Which snapshot? \`npm run admin -- ${command} <id>\` (\`npm run admin -- snapshots\` lists the ids)`);

/** Local date and time (TIMEZONE) of an ISO time. */
const frenchTime = (iso) => (iso ? when(iso) : "?");

/** One pin, in French: state, reason, the snapshots it keeps, and how to release it. */
function printPin(p) {
	console.log(
		say(
			`Épinglage ${p.id} — ${p.active ? `ACTIF depuis le ${frenchTime(p.createdAt)}` : `libéré le ${frenchTime(p.releasedAt)}`}`,
			`Pin ${p.id} — ${p.active ? `ACTIVE since ${frenchTime(p.createdAt)}` : `released on ${frenchTime(p.releasedAt)}`}`,
		),
	);
	console.log(`  ${p.message[LANG] ?? p.message.fr}`);
	console.log(`  ${say("Sauvegardes gardées", "Backups kept")} (${p.snapshotIds.length}) : ${p.snapshotIds.join(", ")}`);
	if (p.active) console.log(`  ${say("Pour le libérer", "To release it")} : npm run admin -- release-pin ${p.id}`);
	console.log("");
}

/** Start a restore; follow it to the end when the server runs it in the background. */
async function runRestore(snapshotId, mode) {
	const started = await postJson("/api/admin/restore", { snapshotId, mode });
	if (!started.statusUrl) return started;
	return waitFor(new URL(started.statusUrl, baseUrl).pathname, `restore (${mode})`);
}

try {
	if (opts.help || !command || command === "help") {
		console.log(HELP);
	} else if (!(command in commands)) {
		throw new CliError(say(`Commande inconnue « ${command} ».\n\n${HELP}`, `Unknown command "${command}".\n\n${HELP}`));
	} else {
		await commands[command](arg);
	}
} catch (err) {
	if (err instanceof OffsiteError) {
		console.error(`${say("Erreur :", "Error:")} ${err.message}`);
		process.exitCode = err.exitCode;
	} else if (err instanceof CliError) {
		console.error(`${say("Erreur :", "Error:")} ${err.message}`);
		process.exitCode = 1;
	} else throw err;
}
