#!/usr/bin/env node
// Command-line tool for administrators: look at backups, trigger, verify, download and restore,
// against the local server or a deployed Worker. `npm run admin -- help` lists the commands.
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { checkChunk } from "../src/snapshots/codec.ts";
import { OffsiteError, pull, push, verifyLocal } from "./offsite.mjs";
import { exportCsv } from "./cli/export.mjs";

const HELP = `Usage: npm run admin -- <command> [options]

Commands:
  status                       State of the backups: last run, newest snapshot, alerts.
  snapshots                    List the snapshots (newest first).
  backup [--no-wait]           Start a backup now and wait for its result.
  verify <snapshotId>          Download every chunk and check it here (SHA-256, gzip, records).
  download <snapshotId> [--out DIR]
                               Save manifest and chunks in DIR (default ./snapshots/<id>),
                               checked against the manifest as they arrive.
  restore <snapshotId> [--mode dry-run|merge|replace] [--yes]
                               Restore from a snapshot. Always previews first (dry run);
                               merge/replace then ask for confirmation (or --yes).
  restore-status <restoreId>   Progress of a restore.
  undo                         Bring back the data replaced by the last "replace" restore.
  retention                    What the retention policy would keep and remove now (dry run).
  pins [--all]                 Sauvegardes épinglées après une disparition de données, et pourquoi
                               (--all : aussi les épinglages libérés).
  release-pin <pinId> [--yes]  Libérer un épinglage : la conservation normale s'applique de nouveau
                               à ses sauvegardes (demande une confirmation, sauf --yes).
  export-csv [--out FILE] [--raw]
                               Download all answers as a spreadsheet (CSV), prepared by the
                               server first (progress shown); --raw: for tools (ids, stored values).

Copies outside Cloudflare (docs/offsite.md):
  pull <dir> [--recipient AGE_KEY]... [--keep-daily N] [--keep-weekly N] [--keep-monthly N]
                               Incremental, verified mirror of every complete snapshot in DIR
                               (one folder per snapshot), encrypted with age when recipients are
                               given (--recipient, or $BACKUP_AGE_RECIPIENTS).
  verify-local <dir> [--identity KEYFILE]
                               Re-check a mirror offline (with the age key file if encrypted).
  push <dir>/<snapshotId> [--identity KEYFILE]
                               Recovery: upload a local copy into this deployment (checked by
                               the server), then restore from it.
  Exit codes: 0 done, 1 error, 3 network, 4 authentication, 5 verification failed.

Options:
  --url URL      Server address (default: $ADMIN_URL or http://127.0.0.1:8787)
  --token TOKEN  Administrator token (default: $ADMIN_TOKEN, or ADMIN_TOKEN in .dev.vars)
  --json         Print raw JSON answers
`;

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
	throw new CliError("No administrator token: pass --token, set ADMIN_TOKEN, or run `npm start` once.");
}

async function call(path, init = {}) {
	let res;
	try {
		res = await fetch(`${baseUrl}${path}`, {
			...init,
			headers: { Authorization: `Bearer ${readToken()}`, ...(init.headers ?? {}) },
		});
	} catch {
		throw new CliError(`Cannot reach ${baseUrl}. Is the server running (npm start)?`);
	}
	if (!res.ok) {
		let detail = `${res.status} ${res.statusText}`;
		try {
			const body = await res.json();
			if (body?.error) {
				detail = `${res.status} ${body.error.code}: ${body.error.message}`;
				for (const [field, why] of Object.entries(body.error.fields ?? {})) detail += `\n  - ${field}: ${why}`;
			}
		} catch {}
		throw new CliError(detail);
	}
	return res;
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
		if (problem) problems.push(`chunk ${entry.n}: ${problem}`);
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
			const run = s.lastRun;
			console.log(`Last backup:      ${run ? `${run.status} (${run.trigger}) at ${run.finishedAt ?? run.startedAt}${run.error ? ` — ${run.stage}: ${run.error}` : ""}` : "none yet"}`);
			console.log(`Newest snapshot:  ${s.newestSnapshot ? `${s.newestSnapshot.snapshotId}, ${s.newestSnapshot.ageHours.toFixed(1)} h old` : "none"}${s.stale ? `  — STALE (older than ${s.thresholdHours} h)` : ""}`);
			console.log(`Next backup:      ${s.nextScheduledRun ?? "?"} (cron ${s.schedule}, UTC)`);
			console.log(`Snapshots:        ${s.snapshots.count}, ${mib(s.snapshots.totalBytes)}`);
			const v = s.verification;
			console.log(`Weekly check:     ${v ? `${v.status} at ${v.finishedAt}, ${v.snapshotsChecked} checked, ${v.snapshotsCorrupt} corrupt, drill ${v.drillStatus}` : "not run yet"}`);
			const o = s.offsite;
			console.log(`Off-site copy:    ${!o ? "none configured (docs/offsite.md)" : o.error ? `UNREADABLE — ${o.error}` : o.newest ? `${o.newest.snapshotId}, ${o.newest.ageHours.toFixed(1)} h old${o.encrypted ? ", encrypted" : ""}${o.stale ? "  — OUT OF DATE" : ""}` : "empty — OUT OF DATE"}`);
			if (s.signing && !s.signing.configured) console.log("Signing:          BACKUP_SIGNING_KEY is not set: planted snapshots cannot be told apart");
			for (const c of s.channels) console.log(`Channel ${c.channel.padEnd(10)} ${c.health}${c.lastError ? ` — ${c.lastError}` : ""}`);
			if (s.channels.length === 0) console.log("Channels:         none configured — nobody will be alerted (see docs/notifications.md)");
		});
	},

	async snapshots() {
		const body = await getJson("/api/admin/snapshots");
		const list = body.snapshots ?? body;
		print(list, (items) => {
			if (items.length === 0) return console.log("No snapshot yet.");
			for (const s of items) {
				const rows = Object.entries(s.rows ?? s.tables ?? {})
					.map(([t, n]) => `${t}=${typeof n === "object" ? n.rows : n}`)
					.join(" ");
				console.log(`${s.id}  ${s.trigger ?? ""}  ${mib(s.bytes ?? 0)}  ${s.chunks ?? s.chunkCount ?? "?"} chunks  ${s.verified ? "verified" : "NOT verified"}  ${rows}`);
			}
		});
	},

	async backup() {
		const started = await postJson("/api/admin/backups", {});
		console.error(`Backup started: ${started.id}`);
		if (opts["no-wait"]) return print(started, () => console.log(started.statusUrl));
		const result = await waitFor(new URL(started.statusUrl, baseUrl).pathname, "backup");
		print(result, (r) =>
			console.log(
				r.status === "complete"
					? `Backup complete: snapshot ${r.snapshotId}, ${r.rows} rows in ${r.chunks} chunks.`
					: `Backup FAILED at stage ${r.stage}: ${r.error}`,
			),
		);
		if (result.status !== "complete") process.exitCode = 1;
	},

	async verify(id) {
		if (!id) throw new CliError("Which snapshot? `npm run admin -- verify <snapshotId>`");
		const { manifest, problems } = await fetchAndCheck(id);
		if (problems.length === 0) {
			console.log(`OK: ${manifest.chunks.length} chunks, ${manifest.rows} records, every SHA-256 matches.`);
		} else {
			console.log(`CORRUPT snapshot ${id}:\n  ${problems.join("\n  ")}`);
			process.exitCode = 1;
		}
	},

	async download(id) {
		if (!id) throw new CliError("Which snapshot? `npm run admin -- download <snapshotId>`");
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
		console.log(`Saved ${manifest.chunks.length} chunks and manifest.json in ${dir}`);
		console.log(`Check: (cd ${dir} && jq -r '.chunks[] | "\\(.sha256)  \\(.key | split("/") | last)"' manifest.json | sha256sum -c)`);
		console.log(`Read:  zcat ${dir}/chunk-*.ndjson.gz | jq -c 'select(.table == "submissions")'`);
		if (problems.length) {
			console.log(`WARNING, corrupt chunks:\n  ${problems.join("\n  ")}`);
			process.exitCode = 1;
		}
	},

	async restore(id) {
		if (!id) throw new CliError("Which snapshot? `npm run admin -- restore <snapshotId>`");
		const mode = opts.mode;
		if (!["dry-run", "merge", "replace"].includes(mode)) throw new CliError('--mode must be dry-run, merge or replace');
		const preview = await runRestore(id, "dry-run");
		if (preview.status !== "complete") {
			print(preview, (p) => console.log(`Preview ${p.status}: ${p.error ?? "see restore-status"}`));
			process.exitCode = 1;
			return;
		}
		print(preview.report, printDiff);
		if (preview.report?.rejected) {
			// A write restore would be refused (docs/restore-runbook.md, "Contrôle des lignes").
			if (mode !== "dry-run") console.log(`Not starting the ${mode}: it would be refused, nothing would be written.`);
			process.exitCode = 1;
			return;
		}
		if (mode === "dry-run") return;
		if (!opts.yes) {
			const { createInterface } = await import("node:readline/promises");
			const rl = createInterface({ input: process.stdin, output: process.stdout });
			const answer = await rl.question(`Apply this restore in ${mode} mode? Type "${mode}" to confirm: `);
			rl.close();
			if (answer.trim() !== mode) throw new CliError("Not confirmed; nothing was changed.");
		}
		const done = await runRestore(id, mode);
		print(done, (d) =>
			console.log(
				d.status === "complete"
					? `Restore (${mode}) complete: ${d.progress.rowsWritten} rows written, ${d.progress.rowsSkippedErased} erased rows skipped.${d.undoAvailable ? " `npm run admin -- undo` can bring the previous data back until the next successful backup." : ""}`
					: `Restore ${d.status}: ${d.error ?? ""}`,
			),
		);
		if (done.status && done.status !== "complete") process.exitCode = 1;
	},

	async "restore-status"(id) {
		if (!id) throw new CliError("Which restore? `npm run admin -- restore-status <restoreId>`");
		print(await getJson(`/api/admin/restores/${encodeURIComponent(id)}`));
	},

	async undo() {
		print(await postJson("/api/admin/restore/undo", {}));
	},

	async retention() {
		print(await getJson("/api/admin/retention"));
	},

	async pins() {
		const { pins } = await getJson(`/api/admin/pins${opts.all ? "" : "?status=active"}`);
		print(pins, (list) => {
			if (list.length === 0) {
				console.log(opts.all ? "Aucun épinglage." : "Aucune sauvegarde épinglée : aucune disparition de données constatée.");
				return;
			}
			for (const p of list) printPin(p);
		});
	},

	async "release-pin"(id) {
		if (!id) throw new CliError("Quel épinglage ? `npm run admin -- release-pin <pinId>` (voir `npm run admin -- pins`)");
		const pin = await getJson(`/api/admin/pins/${encodeURIComponent(id)}`);
		if (!pin.active) throw new CliError(`L'épinglage ${id} est déjà libéré (${frenchTime(pin.releasedAt)}).`);
		if (!opts.json) printPin(pin);
		if (!opts.yes) {
			const { createInterface } = await import("node:readline/promises");
			const rl = createInterface({ input: process.stdin, output: process.stdout });
			const answer = await rl.question(
				`Les ${pin.snapshotIds.length} sauvegarde(s) d'avant la baisse pourront de nouveau être supprimées par la conservation normale.\nTapez « libérer » pour confirmer : `,
			);
			rl.close();
			if (answer.trim() !== "libérer") throw new CliError("Non confirmé : l'épinglage est maintenu.");
		}
		const released = await postJson(`/api/admin/pins/${encodeURIComponent(id)}/release`, {});
		print(released, (p) => console.log(`Épinglage ${p.id} libéré.\n  ${p.message.fr}`));
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

/** `25/11/2026 à 03:00 UTC` from an ISO time. */
function frenchTime(iso) {
	if (!iso) return "?";
	return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)} à ${iso.slice(11, 16)} UTC`;
}

/** One pin, in French: state, reason, the snapshots it keeps, and how to release it. */
function printPin(p) {
	console.log(`Épinglage ${p.id} — ${p.active ? `ACTIF depuis le ${frenchTime(p.createdAt)}` : `libéré le ${frenchTime(p.releasedAt)}`}`);
	console.log(`  ${p.message.fr}`);
	console.log(`  Sauvegardes gardées (${p.snapshotIds.length}) : ${p.snapshotIds.join(", ")}`);
	if (p.active) console.log(`  Pour le libérer : npm run admin -- release-pin ${p.id}`);
	console.log("");
}

/** The dry run's per-table changes, as a small table. */
function printDiff(report) {
	const rows = Object.entries(report.tables ?? {});
	console.log("table                 add  differ  disappear  erased(skipped)");
	for (const [table, d] of rows) {
		console.log(`${table.padEnd(20)} ${String(d.added).padStart(4)} ${String(d.differ).padStart(7)} ${String(d.disappear).padStart(10)} ${String(d.skippedErased).padStart(16)}`);
		for (const [kind, ids] of Object.entries(d.samples ?? {})) if (ids.length) console.log(`    e.g. ${kind}: ${ids.join(", ")}`);
	}
	const rejected = report.rejected;
	if (rejected) {
		console.log(`\nREFUSED ROWS: ${rejected.total} row(s) fail the row checks; merge and replace refuse this snapshot.`);
		for (const r of rejected.rows) console.log(`  ${r.table} ${r.key} (chunk ${r.chunk}, line ${r.line}): ${r.reason}`);
		if (rejected.total > rejected.rows.length) console.log(`  … and ${rejected.total - rejected.rows.length} more`);
	}
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
		throw new CliError(`Unknown command "${command}".\n\n${HELP}`);
	} else {
		await commands[command](arg);
	}
} catch (err) {
	if (err instanceof OffsiteError) {
		console.error(`Erreur : ${err.message}`);
		process.exitCode = err.exitCode;
	} else if (err instanceof CliError) {
		console.error(`Error: ${err.message}`);
		process.exitCode = 1;
	} else throw err;
}
