#!/usr/bin/env node
// Restore benchmark: fills a throw-away local D1 with N submissions (~550 bytes of answers), takes
// a real backup through `wrangler dev`, empties the database, then times a `replace` restore
// (verification of every chunk included) next to `sqlite3 new.db < dump.sql` of the same rows,
// in the same run. Usage: npm run bench:restore [-- 10000 100000 1000000]
// (env BENCH_TIMEOUT_S per phase, default 1800; BENCH_PORT default 8810). Only 127.0.0.1 is used.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { openSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freezeWorkerConfig } from "./local-worker.mjs";

const SIZES = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (SIZES.length === 0) SIZES.push(10_000, 100_000, 1_000_000);
const PORT = Number(process.env.BENCH_PORT ?? 8810);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 1800) * 1000;
const TOKEN = "bench-admin-token-0123456789abcdef";
const LOG = process.env.BENCH_WORKER_LOG;
const wrangler = "node_modules/.bin/wrangler";
const headers = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sql = (db, q) => execFileSync("sqlite3", [db, q]).toString().trim();
const ROOT = path.resolve(import.meta.dirname, "..");
const WRANGLER_ENV = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

function findSqlite(dir) {
	const d = path.join(dir, "v3/d1/miniflare-D1DatabaseObject");
	return path.join(d, readdirSync(d).find((x) => x.endsWith(".sqlite")));
}

/** Grow submissions to `n` rows (same generator as bench/backup.mjs), then roles and counters. */
function fill(db, n) {
	const script = `
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${n})
INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation)
SELECT printf('sub-%08d', i),
       strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', printf('+%d seconds', i * 17)),
       '1',
       CASE i % 4 WHEN 0 THEN 'barista' WHEN 1 THEN 'formateur' WHEN 2 THEN 'gerant' ELSE 'serveur' END,
       json_object(
         'cafe', printf('Café n°%d — %s', i % 997, substr('Le Pêcheur d''Étoiles|Chez Zoë|Au Bon Accueil|La Tasse Bleue', 1 + (i % 4) * 5, 14)),
         'ville', CASE i % 3 WHEN 0 THEN 'Besançon' WHEN 1 THEN 'Dijon' ELSE 'Lyon' END,
         'note', i % 5 + 1,
         'email', printf('personne%d@example.org', i),
         'commentaire', substr('Très bon accueil, le service est rapide et les apprentis sont bien encadrés. Nous aimerions davantage de créneaux le samedi matin ; la communication avec le centre est fluide. Quelques retards de planning en décembre, sinon rien à signaler. ', 1 + (i * 7) % 60, 160),
         'suggestion', lower(hex(randomblob(48)))
       ),
       '{"ok":true}'
FROM c;
INSERT INTO roles (role_key, label, created_at, use_count, last_used_at)
  SELECT role_key, upper(role_key), '2026-01-01T00:00:00.000Z', COUNT(*), MAX(received_at) FROM submissions GROUP BY role_key;
INSERT INTO counters (name, value, updated_at) SELECT 'total', COUNT(*), '2026-01-01T00:00:00.000Z' FROM submissions;
INSERT INTO counters (name, value, updated_at) SELECT 'role:' || role_key, COUNT(*), '2026-01-01T00:00:00.000Z' FROM submissions GROUP BY role_key;
INSERT INTO counters (name, value, updated_at) SELECT 'day:' || substr(received_at, 1, 10), COUNT(*), '2026-01-01T00:00:00.000Z' FROM submissions GROUP BY substr(received_at, 1, 10);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
PRAGMA journal_mode=DELETE;`;
	const r = spawnSync("sqlite3", [db], { input: script, stdio: ["pipe", "ignore", "inherit"] });
	if (r.status !== 0) throw new Error("filling the database failed");
}

async function startDev(dir) {
	const dev = spawn(
		wrangler,
		["dev", "-c", CONFIG, "--no-bundle", "--port", String(PORT), "--ip", "127.0.0.1", "--persist-to", dir, "--var", `ADMIN_TOKEN:${TOKEN}`,
			"--log-level", LOG ? "log" : "error", "--show-interactive-dev-session=false"],
		// BENCH_WORKER_LOG=file keeps the Worker's logs (restore_step events: time per step).
		{ stdio: ["ignore", LOG ? openSync(LOG, "a") : "ignore", "inherit"], env: WRANGLER_ENV },
	);
	for (let i = 0; i < 120; i++) {
		try {
			if ((await fetch(`http://127.0.0.1:${PORT}/api/health`)).ok) return dev;
		} catch {}
		await sleep(500);
	}
	await stopDev(dev);
	throw new Error("wrangler dev did not start");
}

async function stopDev(dev) {
	dev.kill("SIGTERM");
	for (let i = 0; i < 40 && dev.exitCode === null && dev.signalCode === null; i++) await sleep(250);
	if (dev.exitCode === null && dev.signalCode === null) dev.kill("SIGKILL");
}

/** Poll a status URL until `done(body)`; bounded by TIMEOUT_MS. */
async function waitFor(url, done, onPoll = () => {}) {
	const deadline = Date.now() + TIMEOUT_MS;
	while (Date.now() < deadline) {
		const body = await (await fetch(`http://127.0.0.1:${PORT}${url}`, { headers })).json();
		onPoll(body);
		if (done(body)) return body;
		await sleep(100);
	}
	throw new Error(`${url} did not finish within ${TIMEOUT_MS / 1000} s`);
}

async function backup() {
	const res = await fetch(`http://127.0.0.1:${PORT}/api/admin/backups`, { method: "POST", headers });
	if (res.status !== 202) throw new Error(`backup did not start: HTTP ${res.status} ${await res.text()}`);
	const { statusUrl } = await res.json();
	const run = await waitFor(statusUrl, (b) => b.status === "complete" || b.status === "failed");
	if (run.status !== "complete") throw new Error(`backup failed: ${run.error ?? "?"}`);
	return run;
}

async function restore(snapshotId) {
	const t0 = process.hrtime.bigint();
	const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e6;
	const res = await fetch(`http://127.0.0.1:${PORT}/api/admin/restore`, { method: "POST", headers, body: JSON.stringify({ snapshotId, mode: "replace" }) });
	if (res.status !== 202) throw new Error(`restore did not start: HTTP ${res.status} ${await res.text()}`);
	const { statusUrl } = await res.json();
	const run = await waitFor(statusUrl, (b) => ["complete", "refused", "failed"].includes(b.status));
	if (run.status !== "complete") throw new Error(`restore ${run.status}: ${run.error}`);
	return { ms: elapsed(), run };
}

const work = mkdtempSync(path.join(os.tmpdir(), "bench-restore-build-"));
const CONFIG = freezeWorkerConfig(work);
const results = [];
for (const n of SIZES) {
	const dir = mkdtempSync(path.join(os.tmpdir(), "bench-restore-"));
	try {
		const mig = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "-c", CONFIG, "--persist-to", dir], {
			stdio: "ignore",
			env: WRANGLER_ENV,
		});
		if (mig.status !== 0) throw new Error("migrations failed");
		const db = findSqlite(dir);
		fill(db, n);

		// The baseline: the same rows as a SQL dump, loaded by sqlite3 into a new file.
		const dump = path.join(dir, "dump.sql");
		execFileSync("bash", ["-c", `sqlite3 '${db}' '.dump roles submissions counters' > '${dump}'`]);
		const newDb = path.join(dir, "new.db");
		const t0 = process.hrtime.bigint();
		const load = spawnSync("bash", ["-c", `sqlite3 '${newDb}' < '${dump}'`], { stdio: "inherit" });
		const sqliteMs = Number(process.hrtime.bigint() - t0) / 1e6;
		if (load.status !== 0 || Number(sql(newDb, "SELECT COUNT(*) FROM submissions")) !== n) throw new Error("sqlite3 load failed");

		let dev = await startDev(dir);
		let snapshot;
		try {
			snapshot = await backup();
		} finally {
			await stopDev(dev);
		}
		// "The database is gone": empty every restored table (the file stays, as after `d1 create`).
		sql(db, "DELETE FROM submissions; DELETE FROM roles; DELETE FROM counters; DELETE FROM sqlite_sequence; VACUUM;");
		dev = await startDev(dir);
		let r;
		try {
			r = await restore(snapshot.snapshotId);
		} finally {
			await stopDev(dev);
		}
		const restored = Number(sql(db, "SELECT COUNT(*) FROM submissions"));
		if (restored !== n) throw new Error(`restored ${restored} rows, expected ${n}`);
		const row = {
			rows: n,
			restoreS: r.ms / 1000,
			chunks: r.run.progress.chunksTotal,
			sqliteLoadS: sqliteMs / 1000,
			dumpMiB: statSync(dump).size / 2 ** 20,
			ratio: r.ms / sqliteMs,
		};
		results.push(row);
		console.log(JSON.stringify(row));
	} catch (err) {
		console.error(`size ${n}: ${err.message}`);
		results.push({ rows: n, error: err.message });
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}
rmSync(work, { recursive: true, force: true });

console.log("\n| rows | restore replace (s, verify incl.) | sqlite3 new.db < dump.sql (s) | ratio | dump.sql (MiB) | chunks |");
console.log("|---:|---:|---:|---:|---:|---:|");
for (const r of results) {
	if (r.error) console.log(`| ${r.rows.toLocaleString("en")} | failed: ${r.error} | | | | |`);
	else console.log(`| ${r.rows.toLocaleString("en")} | ${r.restoreS.toFixed(1)} | ${r.sqliteLoadS.toFixed(1)} | ${r.ratio.toFixed(2)}× | ${r.dumpMiB.toFixed(1)} | ${r.chunks} |`);
}
writeFileSync(path.join(os.tmpdir(), "bench-restore-last.json"), JSON.stringify({ results, cpus: os.cpus()[0]?.model, ncpu: os.cpus().length }, null, 2));
