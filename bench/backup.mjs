#!/usr/bin/env node
// Backup benchmark: fills a throw-away local D1 with N submissions (~550 bytes of answers),
// runs a backup through `wrangler dev`, and reports its wall time and the isolate's peak JS heap
// (inspector protocol: Runtime.getHeapUsage sampled every 20 ms), next to
// `sqlite3 <same file> .dump | gzip -6` on the same rows, in the same run.
// The Worker is bundled ONCE at the start and run from that frozen copy (others' edits of src/
// cannot reload it mid-run). Also reports the CPU seconds used by workerd and by sqlite3|gzip.
// Usage: npm run bench:backup [-- 10000 100000 1000000]   (env BENCH_TIMEOUT_S per size, default 1800;
// BENCH_PROFILE=1 writes a V8 CPU profile of the isolate per size to $TMPDIR/bench-backup-<rows>.cpuprofile)
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { freezeWorkerConfig, stopDev } from "./local-worker.mjs";
import { cpuSeconds, fillTo, findSqlite, timeDumpGzip } from "./seed.mjs";

const SIZES = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (SIZES.length === 0) SIZES.push(10_000, 100_000, 1_000_000);
const PORT = Number(process.env.BENCH_PORT ?? 8801);
const INSPECTOR = Number(process.env.BENCH_INSPECTOR_PORT ?? 9331);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 1800) * 1000;
const TOKEN = "bench-admin-token-0123456789abcdef";
const wrangler = "node_modules/.bin/wrangler";
const PROFILE = process.env.BENCH_PROFILE === "1";
const ROOT = path.resolve(import.meta.dirname, "..");
const WRANGLER_ENV = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
const work = mkdtempSync(path.join(os.tmpdir(), "bench-backup-"));
const dir = path.join(work, "state");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const CONFIG = freezeWorkerConfig(work);

async function startDev() {
	const dev = spawn(
		wrangler,
		["dev", "-c", CONFIG, "--no-bundle", "--port", String(PORT), "--ip", "127.0.0.1", "--persist-to", dir, "--inspector-port", String(INSPECTOR),
			"--var", `ADMIN_TOKEN:${TOKEN}`, "--log-level", "error", "--show-interactive-dev-session=false"],
		{ stdio: ["ignore", "ignore", "inherit"], env: WRANGLER_ENV },
	);
	for (let i = 0; i < 120; i++) {
		try {
			const res = await fetch(`http://127.0.0.1:${PORT}/api/health`);
			if (res.ok) return dev;
		} catch {}
		await sleep(500);
	}
	dev.kill("SIGTERM");
	throw new Error("wrangler dev did not start");
}

/** Sample the worker isolate's used JS heap through the inspector until stopped. */
async function sampleHeap() {
	const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR}/json`)).json();
	const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
	// The `ws` package: Node's built-in WebSocket is refused by the workerd inspector proxy.
	const ws = new WebSocket(target.webSocketDebuggerUrl);
	await new Promise((resolve, reject) => {
		ws.once("open", resolve);
		ws.once("error", reject);
	});
	let id = 0;
	const pending = new Map();
	ws.on("message", (data) => {
		const msg = JSON.parse(String(data));
		if (msg.id && pending.has(msg.id)) {
			pending.get(msg.id)(msg.result);
			pending.delete(msg.id);
		}
	});
	const call = (method, params) =>
		new Promise((resolve) => {
			const n = ++id;
			pending.set(n, resolve);
			ws.send(JSON.stringify({ id: n, method, ...(params ? { params } : {}) }));
		});
	if (PROFILE) {
		await call("Profiler.enable");
		await call("Profiler.setSamplingInterval", { interval: 500 });
		await call("Profiler.start");
	}
	let peak = 0;
	let first = 0;
	let running = true;
	const loop = (async () => {
		while (running) {
			const r = await Promise.race([call("Runtime.getHeapUsage"), sleep(2000).then(() => null)]);
			if (r?.usedSize) {
				first ||= r.usedSize;
				peak = Math.max(peak, r.usedSize);
			}
			await sleep(20);
		}
	})();
	return {
		async stop(rows) {
			running = false;
			await loop;
			if (PROFILE) {
				const { profile } = await call("Profiler.stop");
				const file = path.join(os.tmpdir(), `bench-backup-${rows}.cpuprofile`);
				writeFileSync(file, JSON.stringify(profile));
				console.log(`profile: ${file}`);
			}
			ws.close();
			return { baseline: first, peak };
		},
	};
}

async function runBackup() {
	const headers = { Authorization: `Bearer ${TOKEN}` };
	const t0 = process.hrtime.bigint();
	let start;
	for (let i = 0; i < 5; i++) {
		// 503 = wrangler dev reloaded the worker (someone edited src/): try again.
		start = await fetch(`http://127.0.0.1:${PORT}/api/admin/backups`, { method: "POST", headers });
		if (start.status !== 503) break;
		await sleep(2000);
	}
	// 409: our earlier attempt was recorded before the reload; follow it.
	if (start.status !== 202 && start.status !== 409) throw new Error(`backup did not start: HTTP ${start.status} ${await start.text()}`);
	const { id } = await start.json();
	const deadline = Date.now() + TIMEOUT_MS;
	while (Date.now() < deadline) {
		const run = await (await fetch(`http://127.0.0.1:${PORT}/api/admin/backups/${id}`, { headers })).json();
		if (run.status === "complete" || run.status === "failed") {
			return { ms: Number(process.hrtime.bigint() - t0) / 1e6, run };
		}
		await sleep(100);
	}
	throw new Error(`backup ${id} did not finish within ${TIMEOUT_MS / 1000} s`);
}

const results = [];
try {
	const mig = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "-c", CONFIG, "--persist-to", dir], {
		stdio: "ignore",
		env: WRANGLER_ENV,
	});
	if (mig.status !== 0) throw new Error("migrations failed");
	const db = findSqlite(dir);
	for (const n of SIZES) {
		const tf = Date.now();
		fillTo(db, n);
		const fillS = (Date.now() - tf) / 1000;
		const dump = timeDumpGzip(db);
		const dev = await startDev();
		try {
			const heap = await sampleHeap();
			await sleep(300);
			const cpu0 = cpuSeconds(dev.pid);
			const backup = await runBackup();
			const cpuS = cpuSeconds(dev.pid) - cpu0;
			const h = await heap.stop(n);
			const row = {
				rows: n,
				fillS,
				backupS: backup.ms / 1000,
				status: backup.run.status,
				chunks: backup.run.chunks,
				snapshotMiB: backup.run.bytes / 2 ** 20,
				dumpGzipS: dump.ms / 1000,
				dumpGzipMiB: dump.bytes / 2 ** 20,
				ratio: backup.ms / dump.ms,
				backupCpuS: cpuS,
				dumpGzipCpuS: dump.cpuS,
				heapBaselineMB: h.baseline / 1e6,
				heapPeakMB: h.peak / 1e6,
			};
			results.push(row);
			console.log(JSON.stringify(row));
		} finally {
			await stopDev(dev);
		}
	}
} finally {
	rmSync(work, { recursive: true, force: true });
}

console.log("\n| rows | backup (s, verify incl.) | sqlite3 .dump \\| gzip -6 (s) | ratio | snapshot (MiB) | dump.gz (MiB) | chunks | heap idle / peak (MB) |");
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of results) {
	console.log(
		`| ${r.rows.toLocaleString("en")} | ${r.backupS.toFixed(1)} | ${r.dumpGzipS.toFixed(1)} | ${r.ratio.toFixed(2)}× | ${r.snapshotMiB.toFixed(1)} | ${r.dumpGzipMiB.toFixed(1)} | ${r.chunks} | ${r.heapBaselineMB.toFixed(1)} / ${r.heapPeakMB.toFixed(1)} |`,
	);
}
console.log(`\nmachine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const r of results) console.log(`${r.rows}: CPU s backup (workerd, all threads) ${r.backupCpuS.toFixed(1)} / sqlite3|gzip ${r.dumpGzipCpuS.toFixed(1)}`);
writeFileSync(path.join(os.tmpdir(), "bench-backup-last.json"), JSON.stringify({ results, cpus: os.cpus()[0]?.model, ncpu: os.cpus().length, node: process.version }, null, 2));
