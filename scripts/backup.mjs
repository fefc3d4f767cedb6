#!/usr/bin/env node
// `npm run backup`: start a manual backup on the running local server (`npm start`), follow it
// until it ends, and print the result. Token from .dev.vars (ADMIN_TOKEN); URL from BACKUP_URL.
import { readFileSync } from "node:fs";

const BASE = process.env.BACKUP_URL ?? "http://127.0.0.1:8787";
const MAX_WAIT_MS = Number(process.env.BACKUP_MAX_WAIT_MS ?? 30 * 60 * 1000);

function readToken() {
	if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
	const text = readFileSync(".dev.vars", "utf8");
	const m = /^ADMIN_TOKEN\s*=\s*"?([^"\s]+)"?/m.exec(text);
	if (!m) throw new Error("ADMIN_TOKEN not found in .dev.vars (run `npm start` once to create it)");
	return m[1];
}

const headers = { Authorization: `Bearer ${readToken()}` };

async function call(path, init = {}) {
	const res = await fetch(`${BASE}${path}`, { ...init, headers });
	const body = await res.json().catch(() => ({}));
	return { status: res.status, body };
}

let started;
try {
	started = await call("/api/admin/backups", { method: "POST" });
} catch (err) {
	console.error(`Cannot reach ${BASE} (${err.cause?.code ?? err.message}). Is \`npm start\` running?`);
	process.exit(2);
}
if (started.status === 409) {
	console.log(`A backup is already running: ${started.body.id}; following it.`);
} else if (started.status !== 202) {
	console.error(`Could not start a backup: HTTP ${started.status} ${JSON.stringify(started.body)}`);
	process.exit(1);
} else {
	console.log(`Backup ${started.body.id} started.`);
}
const id = started.body.id;
const t0 = Date.now();
let run = {};
while (Date.now() - t0 < MAX_WAIT_MS) {
	run = (await call(`/api/admin/backups/${id}`)).body;
	if (run.status === "complete" || run.status === "failed") break;
	process.stdout.write(`\r${run.status ?? "?"} (${run.stage ?? "-"}): ${run.rows ?? 0} rows, ${run.chunks ?? 0} chunks   `);
	await new Promise((r) => setTimeout(r, 1000));
}
process.stdout.write("\n");
const seconds = ((Date.now() - t0) / 1000).toFixed(1);
if (run.status === "complete") {
	console.log(`Backup complete in ${seconds} s: snapshot ${run.snapshotId}, ${run.rows} rows, ${run.chunks} chunk(s), ${run.bytes} bytes.`);
	console.log(`Manifest: ${BASE}/api/admin/snapshots/${run.snapshotId}/manifest`);
	process.exit(0);
}
if (run.status === "failed") {
	console.error(`Backup FAILED at stage ${run.stage}: ${run.error}`);
	process.exit(1);
}
console.error(`Backup still ${run.status} after ${seconds} s; check ${BASE}/api/admin/backups/${id}`);
process.exit(1);
