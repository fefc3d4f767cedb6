#!/usr/bin/env node
// Command-line tool for administrators: look at backups, trigger, verify, download and restore,
// against the local server or a deployed Worker. `npm run admin -- help` lists the commands.
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { checkChunk } from "../src/snapshots/codec.ts";

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
  export-csv [--out FILE]      Download all answers as a spreadsheet (CSV).

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
		json: { type: "boolean", default: false },
		"no-wait": { type: "boolean", default: false },
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

async function fetchAndCheck(id, onChunk) {
	const manifestRes = await call(`/api/admin/snapshots/${encodeURIComponent(id)}/manifest`);
	const manifestText = await manifestRes.text();
	const manifest = JSON.parse(manifestText);
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
	async status() {
		print(await getJson("/api/admin/status"), (s) => {
			const run = s.lastRun;
			console.log(`Last backup:      ${run ? `${run.status} (${run.trigger}) at ${run.finishedAt ?? run.startedAt}${run.error ? ` — ${run.stage}: ${run.error}` : ""}` : "none yet"}`);
			console.log(`Newest snapshot:  ${s.newestSnapshot ? `${s.newestSnapshot.snapshotId}, ${s.newestSnapshot.ageHours.toFixed(1)} h old` : "none"}${s.stale ? `  — STALE (older than ${s.thresholdHours} h)` : ""}`);
			console.log(`Next backup:      ${s.nextScheduledRun ?? "?"} (cron ${s.schedule}, UTC)`);
			console.log(`Snapshots:        ${s.snapshots.count}, ${mib(s.snapshots.totalBytes)}`);
			const v = s.verification;
			console.log(`Weekly check:     ${v ? `${v.status} at ${v.finishedAt}, ${v.snapshotsChecked} checked, ${v.snapshotsCorrupt} corrupt, drill ${v.drillStatus}` : "not run yet"}`);
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
		await mkdir(dir, { recursive: true });
		const { manifest, manifestText, problems } = await fetchAndCheck(id, async (entry, bytes) => {
			await writeFile(join(dir, entry.key.split("/").pop()), bytes);
		});
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

	async "export-csv"() {
		const file = opts.out ?? `reponses-${new Date().toISOString().slice(0, 10)}.csv`;
		const res = await call("/api/admin/submissions.csv");
		await writeFile(file, new Uint8Array(await res.arrayBuffer()));
		console.log(`Saved ${file}`);
	},
};

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
	if (err instanceof CliError) {
		console.error(`Error: ${err.message}`);
		process.exitCode = 1;
	} else throw err;
}
