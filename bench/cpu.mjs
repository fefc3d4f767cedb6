#!/usr/bin/env node
// `npm run bench:cpu [-- 1000 100000 1000000]`: isolate CPU of every Workflow step, cron invocation
// and request of each job, at each data size, on local workerd. Method in docs/BENCHMARKS.md
// ("Isolate CPU"); profile handling in bench/isolate-profile.mjs.
// Per size: submissions written into the local D1 file with sqlite3 (same generator as
// bench:backup), `sqlite3 .dump | gzip -6` timed on it, then the frozen Worker started with
// BENCH_CPU_MARKS=1 and, with the V8 profiler of its isolate running: a manual backup, the weekly
// verification (cron), the hourly check (cron), a restore dry run and a `replace` restore, then
// requests (health, status, submissions, snapshot download) one at a time.
// Prints one Markdown table per job and size; the LAST line is the backup of the largest size:
//   cpu: max step <X> ms, p50 step <Y> ms, per row <Z> us, steps <N>, rows <R>
// Env: BENCH_CPU_INTERVAL_US (sampling interval, default 100), BENCH_TIMEOUT_S (per job, 1800),
// CLOUDFLARE_PLAN (passed to the Worker: free|paid), BENCH_CPU_JOBS (comma list, default all:
// backup,verify,hourly,restore,export,requests), BENCH_CPU_TOP=1 (print where the backup's CPU goes).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, freezeWorkerConfig, stopDev } from "./local-worker.mjs";
import { fillTo, findSqlite, timeDumpGzip } from "./seed.mjs";
import { attribute, buildSamples, connectInspector, findWorkerdPid, inclusiveTimes, measureWallOffsetUs, monoNowUs, pollThreadCpu, topFunctions } from "./isolate-profile.mjs";

const SIZES = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (SIZES.length === 0) SIZES.push(1000, 100_000, 1_000_000);
const INTERVAL_US = Number(process.env.BENCH_CPU_INTERVAL_US ?? 100);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_S ?? 1800) * 1000;
const JOBS = new Set((process.env.BENCH_CPU_JOBS ?? "backup,verify,hourly,restore,export,requests").split(","));
const PLAN = process.env.CLOUDFLARE_PLAN ?? "free";
const TOKEN = "bench-admin-token-0123456789abcdef";
const SIGNING_KEY = "bench-signing-key-0123456789abcdef0123456789";
const ROOT = path.resolve(import.meta.dirname, "..");
const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const WRANGLER_ENV = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" };
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const progress = (text) => console.error(`[bench:cpu ${new Date().toISOString().slice(11, 19)}] ${text}`);
const work = mkdtempSync(path.join(os.tmpdir(), "bench-cpu-"));
const dir = path.join(work, "state");
const CONFIG = freezeWorkerConfig(work);
const CRONS = JSON.parse(readFileSync(CONFIG, "utf8")).triggers?.crons ?? [];
/** Older configurations had one cron per job; the single hourly trigger dispatches them all. */
const cronFor = (job) => (job === "verify" && CRONS.includes("0 3 * * 1") ? "0 3 * * 1" : "0 * * * *");

/** The off-site replica (BENCH_CPU_REPLICA=0 to leave it out): s3rver on 127.0.0.1, as in the tests. */
const REPLICA = process.env.BENCH_CPU_REPLICA !== "0";
/** The local D1 file (the catalogue is emptied there to measure a cold hourly check). */
let D1_FILE = "";
const AGE_RECIPIENT = "age1r6snxhwvxzadwrcnt0maq4hasjnvsp5xxccrrv7j8gzm42lhpgtq239qvp";
let s3 = null;
async function startS3() {
	const directory = mkdtempSync(path.join(work, "s3-"));
	const child = spawn(process.execPath, ["--openssl-legacy-provider", path.join(ROOT, "test/s3/run-s3rver.mjs"), directory, "offsite-replica"], { stdio: ["pipe", "pipe", "inherit"] });
	const port = await new Promise((resolve, reject) => {
		child.once("exit", (code) => reject(new Error(`s3rver exited with code ${code}`)));
		child.stdout.once("data", (line) => resolve(JSON.parse(String(line).split("\n")[0]).port));
	});
	return { child, url: `http://127.0.0.1:${port}` };
}

async function startDev() {
	const port = await freePort();
	const inspectorPort = await freePort();
	const vars = { ADMIN_TOKEN: TOKEN, BACKUP_SIGNING_KEY: SIGNING_KEY, BENCH_CPU_MARKS: "1", CLOUDFLARE_PLAN: PLAN };
	if (s3) {
		Object.assign(vars, {
			OFFSITE_S3_ENDPOINT: s3.url,
			OFFSITE_S3_BUCKET: "offsite-replica",
			OFFSITE_S3_REGION: "us-east-1",
			OFFSITE_S3_ACCESS_KEY_ID: "S3RVER",
			OFFSITE_S3_SECRET_ACCESS_KEY: "S3RVER",
			BACKUP_AGE_RECIPIENTS: AGE_RECIPIENT,
		});
	}
	const dev = spawn(
		process.execPath,
		[WRANGLER, "dev", "-c", CONFIG, "--no-bundle", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", dir,
			"--inspector-port", String(inspectorPort), "--log-level", "error", "--show-interactive-dev-session=false", "--test-scheduled",
			...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])],
		{ stdio: ["ignore", "ignore", "inherit"], env: WRANGLER_ENV },
	);
	const base = `http://127.0.0.1:${port}`;
	for (let i = 0; i < 240; i++) {
		try {
			const res = await fetch(`${base}/api/health`);
			await res.arrayBuffer();
			if (res.ok) return { dev, base, inspectorPort };
		} catch {}
		await sleep(500);
	}
	dev.kill("SIGTERM");
	throw new Error("wrangler dev did not start");
}

/** Marks of a run: its instance and the instances it chained to (`<id>-part2`, …). */
const ofRun = (m, id) => m.instance === id || m.instance.startsWith(`${id}-part`);

/** Step names grouped: numbers, snapshot ids and table cursors become "#". */
const groupName = (name) => name.replace(/csv-\d{4}-\d{2}-\d{2}T\d{6}Z-[a-z0-9]+/g, "<export>").replace(/\d{4}-\d{2}-\d{2}T\d{6}Z-[a-z0-9]+/g, "<snapshot>").replace(/\d+/g, "#");

const pct = (xs, p) => {
	if (xs.length === 0) return 0;
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const ms = (us) => (us / 1000).toFixed(2);

/** One size: the Worker up, the profiler on per job, the marks collected. */
async function runSize(n) {
	progress(`${n} rows: starting the Worker`);
	const { dev, base, inspectorPort } = await startDev();
	const insp = await connectInspector(inspectorPort);
	const results = { rows: n, jobs: {} };
	try {
		await insp.call("Runtime.enable");
		await insp.call("Profiler.enable");
		await insp.call("Profiler.setSamplingInterval", { interval: INTERVAL_US });
		const offsetUs = measureWallOffsetUs();
		/** `cpu-mark <phase> <workflow> <instance> <step…>` lines, in the monotonic clock. */
		const marks = [];
		insp.onEvent((msg) => {
			if (msg.method !== "Runtime.consoleAPICalled") return;
			const text = msg.params.args?.[0]?.value;
			if (typeof text !== "string" || !text.startsWith("cpu-mark ")) return;
			const [, phase, workflow, instance, ...step] = text.split(" ");
			marks.push({ phase, workflow, instance, step: step.join(" "), t: msg.params.timestamp * 1000 - offsetUs });
		});
		const api = async (method, url, body, headers = {}) => {
			const res = await fetch(base + url, {
				method,
				headers: { ...AUTH, ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
				...(body ? { body: JSON.stringify(body) } : {}),
			});
			const text = await res.text();
			let json = null;
			try {
				json = JSON.parse(text);
			} catch {}
			return { status: res.status, json, text };
		};
		// Warm-up (first compilation of the bundle's code paths is not a per-request cost).
		progress("warm-up requests");
		for (let i = 0; i < 3; i++) await api("GET", "/api/health");
		await api("GET", "/api/admin/status");
		progress("warm-up done");
		const workerdPid = findWorkerdPid(dev.pid);
		if (!workerdPid) progress("workerd process not found: steps are not bounded by thread CPU");

		/** Wait until the instance's steps have been quiet for 1.5 s and `isDone` agrees. */
		const waitWorkflow = async (instance, isDone) => {
			progress(`waiting for ${instance}`);
			const deadline = Date.now() + TIMEOUT_MS;
			const began = monoNowUs();
			while (Date.now() < deadline) {
				await sleep(250);
				const mine = marks.filter((m) => ofRun(m, instance));
				const last = mine[mine.length - 1];
				const quiet = last ? last.phase === "end" && monoNowUs() - last.t > 1_500_000 : monoNowUs() - began > 10_000_000;
				if (quiet && (await isDone())) {
					progress(`${instance} done (${mine.length} marks)`);
					return;
				}
			}
			throw new Error(`${instance} did not finish within ${TIMEOUT_MS / 1000} s`);
		};

		/** Run `body` with the profiler on; returns its samples and what body returned. */
		const profiled = async (body) => {
			const thread = workerdPid ? pollThreadCpu(workerdPid) : null;
			// The isolate's used JS heap, every 500 ms (a growing heap shows as long collector pauses).
			let heapPeak = 0;
			let sampling = true;
			const heapLoop = (async () => {
				while (sampling) {
					const h = await Promise.race([insp.call("Runtime.getHeapUsage"), sleep(2000).then(() => null)]);
					if (h?.usedSize) heapPeak = Math.max(heapPeak, h.usedSize);
					await sleep(500);
				}
			})();
			await insp.call("Profiler.start");
			const t0 = monoNowUs();
			let value;
			try {
				value = await body();
			} finally {
				var { profile } = await insp.call("Profiler.stop");
				thread?.stop();
				sampling = false;
				await heapLoop;
			}
			if (process.env.BENCH_CPU_SAVE) {
				// For offline analysis: the raw profile and the marks so far.
				const file = path.join(process.env.BENCH_CPU_SAVE, `cpu-${n}-${Date.now()}.json`);
				writeFileSync(file, JSON.stringify({ profile, marks }));
				progress(`profile saved: ${file}`);
			}
			return { value, thread, heapPeakMB: heapPeak / 1e6, wallMs: (monoNowUs() - t0) / 1000, ...buildSamples(profile) };
		};

		/** Steps of one Workflow instance, with their CPU, from the marks and the samples. */
		const stepsOf = (instance, samples, thread) => {
			const mine = marks.filter((m) => ofRun(m, instance));
			const windows = [];
			const open = new Map();
			for (const m of mine) {
				if (m.phase === "start") open.set(m.step, m.t);
				else if (open.has(m.step)) {
					// Date.now() truncates to the millisecond: the true end is within 1 ms after.
					windows.push({ step: m.step, start: open.get(m.step) - 200, end: m.t + 1200 });
					open.delete(m.step);
				}
			}
			const first = windows.length ? Math.min(...windows.map((w) => w.start)) : 0;
			const lastEnd = windows.length ? Math.max(...windows.map((w) => w.end)) : 0;
			const att = attribute(samples, windows, { thread });
			const between = att.rest.filter((s) => s.t >= first && s.t < lastEnd).reduce((a, s) => a + s.us, 0);
			const instances = new Set(mine.map((m) => m.instance)).size;
			return { instances, steps: att.windows.map((w) => ({ step: w.step, cpuUs: w.cpuUs, sampledUs: w.sampledUs ?? w.cpuUs, threadUs: w.threadUs ?? null })), betweenUs: between, rest: att.rest, first, lastEnd };
		};

		const cronInvocation = async (cron, time) => {
			const t0 = monoNowUs();
			const res = await fetch(`${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}&time=${time}`);
			await res.arrayBuffer();
			return { name: `cron ${cron} @ ${new Date(time).toISOString().slice(0, 16)}Z`, start: t0 - 200, end: monoNowUs() + 200, status: res.status };
		};

		const day = Date.parse("2027-01-04T00:00:00Z") + 7 * 86_400_000 * SIZES.indexOf(n); // a Monday per size

		let snapshotId = null;
		if (JOBS.has("backup")) {
			let run;
			const p = await profiled(async () => {
				const t0 = Date.now();
				progress("starting the backup");
				const start = await api("POST", "/api/admin/backups");
				if (start.status !== 202) throw new Error(`backup did not start: ${start.status} ${start.text}`);
				const id = start.json.id;
				await waitWorkflow(id, async () => {
					run = (await api("GET", `/api/admin/backups/${id}`)).json;
					return run?.status === "complete" || run?.status === "failed";
				});
				return { id, wallS: (Date.now() - t0) / 1000 };
			});
			const s = stepsOf(p.value.id, p.samples, p.thread);
			snapshotId = run.snapshotId ?? run.snapshot_id ?? null;
			results.jobs.backup = { status: run.status, heapPeakMB: p.heapPeakMB, wallS: p.value.wallS, rows: run.rows, chunks: run.chunks, bytes: run.bytes, ...summarize(s), medianIntervalUs: p.medianIntervalUs };
			if (process.env.BENCH_CPU_TOP === "1") {
				results.jobs.backup.top = topFunctions(p.samples, s.first, s.lastEnd, 20);
				results.jobs.backup.inclusive = inclusiveTimes(p.samples, s.first, s.lastEnd, [
					"exportChunk", "fetchKeysetPage", "buildRecordLine", "recordHashBytes", "sealChunk", "gzip", "checkReadBack", "openChunk", "gunzip", "sha256Hex", "JSON.parse", "encode", "(garbage collector)", "(program)",
				]);
			}
		}
		if (JOBS.has("verify")) {
			const time = day + 3 * 3_600_000; // Monday 03:00 UTC
			const id = `verify-${new Date(time).toISOString().slice(0, 10)}`;
			let run;
			const p = await profiled(async () => {
				const inv = await cronInvocation(cronFor("verify"), time);
				await waitWorkflow(id, async () => {
					run = (await api("GET", `/api/admin/verifications/${id}`)).json;
					return ["ok", "failed", "error"].includes(run?.status);
				});
				return inv;
			});
			const s = stepsOf(id, p.samples, p.thread);
			const inv = attribute(s.rest, [p.value], { thread: p.thread }).windows[0];
			results.jobs.verify = { status: run.status, invocationUs: inv.cpuUs, ...summarize(s) };
		}
		if (JOBS.has("hourly")) {
			progress("hourly check");
			const p = await profiled(async () => {
				const out = [];
				for (let h = 0; h < 5; h++) out.push(await cronInvocation("0 * * * *", day + 86_400_000 + (10 + h) * 3_600_000)); // Tuesday 10:00–14:00
				return out;
			});
			const att = attribute(p.samples, p.value, { thread: p.thread });
			results.jobs.hourly = { invocations: att.windows.map((w) => w.cpuUs) };
			if (process.env.BENCH_CPU_TOP === "1") {
				const [from, to] = [p.value[0].start, p.value[p.value.length - 1].end];
				results.jobs.hourly.top = topFunctions(p.samples, from, to, 15);
				results.jobs.hourly.inclusive = inclusiveTimes(p.samples, from, to, [
					"runScheduled", "planScheduledJobs", "runHourlyMonitor", "reconcileCatalogue", "fetchCatalogue", "listSnapshotFolders", "checkReplica",
					"fetchAlertState", "deleteDeliveriesBefore", "getConfig", "logEvent", "(garbage collector)", "(program)",
				]);
			}
			// The same check with an empty catalogue: it reads, parses and authenticates (SHA-256,
			// HMAC) every manifest again (at most 20): the cost of the manifest checks it now avoids.
			spawnSync("sqlite3", [D1_FILE, "DELETE FROM snapshot_catalogue;"], { stdio: "ignore" });
			const cold = await profiled(async () => [await cronInvocation("0 * * * *", day + 86_400_000 + 16 * 3_600_000)]);
			results.jobs.hourly.cold = attribute(cold.samples, cold.value, { thread: cold.thread }).windows[0].cpuUs;
		}
		if (JOBS.has("restore") && snapshotId) {
			for (const mode of ["dry-run", "replace"]) {
				let run;
				const p = await profiled(async () => {
					const start = await api("POST", "/api/admin/restore", { snapshotId, mode });
					if (start.status !== 202) throw new Error(`restore ${mode} did not start: ${start.status} ${start.text}`);
					const id = start.json.id;
					await waitWorkflow(id, async () => {
						run = (await api("GET", `/api/admin/restores/${id}`)).json;
						return run?.status === "complete" || run?.status === "failed";
					});
					return id;
				});
				results.jobs[`restore ${mode}`] = { status: run.status, ...summarize(stepsOf(p.value, p.samples, p.thread)) };
			}
		}
		if (JOBS.has("export")) {
			// The CSV export job (French spreadsheet), then its file downloaded in one request.
			let run;
			const p = await profiled(async () => {
				const t0 = Date.now();
				const start = await api("POST", "/api/admin/exports", { kind: "csv" });
				if (start.status !== 202) throw new Error(`export did not start: ${start.status} ${start.text}`);
				const id = start.json.id;
				await waitWorkflow(id, async () => {
					run = (await api("GET", `/api/admin/exports/${id}`)).json;
					return run?.status === "complete" || run?.status === "failed";
				});
				const wallS = (Date.now() - t0) / 1000;
				const d0 = monoNowUs();
				let fileBytes = 0;
				let fileStatus = 0;
				if (run.downloadUrl) {
					const res = await fetch(base + run.downloadUrl, { headers: AUTH });
					fileStatus = res.status;
					fileBytes = (await res.arrayBuffer()).byteLength;
				}
				const download = { name: "file", start: d0 - 200, end: monoNowUs() + 200 };
				// Then the same file piece by piece, as the dashboard and the CLI fetch it.
				const pieces = [];
				for (let k = 0; k < (run.pieces ?? 0); k++) {
					const p0 = monoNowUs();
					const res = await fetch(`${base}${run.downloadUrl}?piece=${k}`, { headers: AUTH });
					await res.arrayBuffer();
					pieces.push({ name: `piece ${k}`, status: res.status, start: p0 - 200, end: monoNowUs() + 200 });
				}
				return { id, wallS, download, pieces, fileBytes, fileStatus };
			});
			const s = stepsOf(p.value.id, p.samples, p.thread);
			const dl = attribute(s.rest, [p.value.download], { thread: p.thread }).windows[0];
			const pieceCpu = p.value.pieces.length ? attribute(s.rest, p.value.pieces, { thread: p.thread }).windows.map((w) => w.cpuUs) : [];
			results.jobs.export = { status: run.status, rows: run.progress?.rows, bytes: p.value.fileBytes, fileStatus: p.value.fileStatus, downloadUs: dl.cpuUs, pieceCpu, wallS: p.value.wallS, ...summarize(s) };
		}
		if (JOBS.has("requests")) {
			progress("requests");
			let importJob;
			const p = await profiled(async () => {
				const windows = [];
				const timed = async (name, fn) => {
					const t0 = monoNowUs();
					const status = await fn();
					windows.push({ name, status, start: t0 - 200, end: monoNowUs() + 200 });
				};
				for (let i = 0; i < 10; i++) await timed("GET /api/health", async () => (await api("GET", "/api/health")).status);
				for (let i = 0; i < 10; i++) await timed("GET /api/admin/status", async () => (await api("GET", "/api/admin/status")).status);
				for (let i = 0; i < 10; i++) {
					const body = { answers: { cafe: `Café du banc n°${i}`, ville: "Dijon", role: "Barista", satisfaction: 4, consentement: true, frequence: "mensuelle", activites: ["bar"] } };
					await timed("POST /api/submissions", async () => (await api("POST", "/api/submissions", body, { "CF-Connecting-IP": `198.51.100.${10 + i}` })).status);
				}
				await timed("GET /api/admin/submissions.csv (direct, one request)", async () => {
					const res = await fetch(`${base}/api/admin/submissions.csv`, { headers: AUTH });
					await res.arrayBuffer();
					return res.status;
				});
				for (let i = 0; i < 5; i++) await timed("GET /api/admin/snapshots (list)", async () => (await api("GET", "/api/admin/snapshots")).status);
				if (snapshotId) {
					for (let i = 0; i < 5; i++) {
						await timed("GET snapshot chunk (one chunk)", async () => {
							const res = await fetch(`${base}/api/admin/snapshots/${snapshotId}/chunks/${1 + i}`, { headers: AUTH });
							await res.arrayBuffer();
							return res.status;
						});
					}
					// The import API: the snapshot's own chunks pushed under a new id (each with its declared
					// SHA-256), then its manifest, which starts the import job (one part per step; its steps
					// are measured as a job below). Left out at 1M unless BENCH_CPU_IMPORT=1.
					const manifest = JSON.parse((await api("GET", `/api/admin/snapshots/${snapshotId}/manifest`)).text);
					if (n >= 1_000_000 && process.env.BENCH_CPU_IMPORT !== "1") manifest.chunks = [];
					const importId = snapshotId.replace(/-[a-z0-9]+$/, "-imported");
					for (const c of manifest.chunks) {
						const bytes = new Uint8Array(await (await fetch(`${base}/api/admin/snapshots/${snapshotId}/chunks/${c.n}`, { headers: AUTH })).arrayBuffer());
						await timed("PUT /api/admin/imports/…/chunks/n (push one chunk)", async () => {
							const res = await fetch(`${base}/api/admin/imports/${importId}/chunks/${c.n}`, { method: "PUT", headers: { ...AUTH, "Content-Type": "application/gzip", "X-Chunk-Sha256": c.sha256 }, body: bytes });
							await res.arrayBuffer();
							return res.status;
						});
					}
					const imported = { ...manifest, snapshotId: importId, chunks: manifest.chunks.map((c) => ({ ...c, key: c.key.replace(snapshotId, importId) })) };
					if (manifest.chunks.length > 0) {
						let started;
						await timed("PUT /api/admin/imports/…/manifest (starts the import job)", async () => {
							const res = await api("PUT", `/api/admin/imports/${importId}/manifest`, imported);
							started = res.json;
							return res.status;
						});
						if (started?.instance) {
							const t0 = Date.now();
							let view;
							await waitWorkflow(started.instance, async () => {
								view = (await api("GET", `/api/admin/imports/${importId}`)).json;
								return view?.status === "done" || view?.status === "failed";
							});
							importJob = { instance: started.instance, status: view?.status, error: view?.error ?? null, parts: view?.progress?.parts?.total ?? 0, wallS: (Date.now() - t0) / 1000 };
							await timed("GET /api/admin/imports/… (import status)", async () => (await api("GET", `/api/admin/imports/${importId}`)).status);
						}
					}
					await timed("GET snapshot download (whole snapshot)", async () => {
						const res = await fetch(`${base}/api/admin/snapshots/${snapshotId}/download`, { headers: AUTH });
						await res.arrayBuffer();
						return res.status;
					});
				}
				return windows;
			});
			// The local Workflows engine runs the import job in the same isolate while the manifest PUT
			// is still open: samples taken from the job's first step to its last are the job's, not
			// the requests' (the PUT's own work, before it creates the instance, comes first).
			const importSteps = importJob ? stepsOf(importJob.instance, p.samples, p.thread) : null;
			const requestSamples = importSteps && importSteps.steps.length ? p.samples.filter((x) => x.t < importSteps.first || x.t >= importSteps.lastEnd) : p.samples;
			const att = attribute(requestSamples, p.value, { thread: p.thread });
			const by = new Map();
			for (const w of att.windows) {
				const e = by.get(w.name) ?? { statuses: new Set(), cpu: [] };
				e.statuses.add(w.status);
				e.cpu.push(w.cpuUs);
				by.set(w.name, e);
			}
			results.jobs.requests = [...by.entries()].map(([name, e]) => ({ name, statuses: [...e.statuses], cpu: e.cpu }));
			if (importJob) results.jobs.import = { ...importJob, ...summarize(importSteps) };
		}
	} finally {
		insp.close();
		await stopDev(dev);
	}
	return results;
}

/** Per step group: count, p50, max, total; plus totals over the run. */
function summarize(s) {
	const groups = new Map();
	for (const st of s.steps) {
		const g = groupName(st.step);
		const list = groups.get(g) ?? [];
		list.push(st.cpuUs);
		groups.set(g, list);
	}
	const all = s.steps.map((x) => x.cpuUs);
	return {
		groups: [...groups.entries()].map(([name, cpu]) => ({ name, n: cpu.length, p50: pct(cpu, 0.5), max: Math.max(...cpu), total: cpu.reduce((a, b) => a + b, 0) })),
		steps: all.length,
		instances: s.instances,
		maxStepUs: all.length ? Math.max(...all) : 0,
		p90StepUs: pct(all, 0.9),
		p99StepUs: pct(all, 0.99),
		over5ms: all.filter((x) => x > 5000).length,
		over10ms: all.filter((x) => x > 10_000).length,
		p50StepUs: pct(all, 0.5),
		totalUs: all.reduce((a, b) => a + b, 0),
		sampledTotalUs: s.steps.reduce((a, x) => a + x.sampledUs, 0),
		clampedSteps: s.steps.filter((x) => x.sampledUs > x.cpuUs).length,
		threadTotalUs: s.steps.reduce((a, x) => a + (x.threadUs ?? 0), 0),
		betweenUs: s.betweenUs,
	};
}

function printSteps(title, job) {
	console.log(`\n#### ${title}\n`);
	console.log("| step | n | p50 ms | max ms | total ms |");
	console.log("|---|---:|---:|---:|---:|");
	for (const g of job.groups) console.log(`| ${g.name} | ${g.n} | ${ms(g.p50)} | ${ms(g.max)} | ${ms(g.total)} |`);
	console.log(`| **all steps** | ${job.steps} | ${ms(job.p50StepUs)} | ${ms(job.maxStepUs)} | ${ms(job.totalUs)} |`);
	console.log(`\nall steps: p90 ${ms(job.p90StepUs)} ms, p99 ${ms(job.p99StepUs)} ms; ${job.over5ms} over 5 ms, ${job.over10ms} over 10 ms`);
	console.log(`| run() between steps | | | | ${ms(job.betweenUs)} |`);
	console.log(`samples alone: ${ms(job.sampledTotalUs)} ms over all steps; ${job.clampedSteps} step(s) bounded by their thread's CPU; the thread (isolate + local D1, R2, engine) used ${ms(job.threadTotalUs)} ms in the same windows`);
}

const all = [];
try {
	const mig = spawnSync(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "-c", CONFIG, "--persist-to", dir], { stdio: "ignore", env: WRANGLER_ENV });
	if (mig.status !== 0) throw new Error("migrations failed");
	const db = findSqlite(dir);
	D1_FILE = db;
	if (REPLICA) s3 = await startS3();
	for (const n of SIZES) {
		const tf = Date.now();
		fillTo(db, n);
		const fillS = (Date.now() - tf) / 1000;
		const dump = timeDumpGzip(db);
		const r = await runSize(n);
		r.fillS = fillS;
		r.dump = dump;
		all.push(r);
		console.error(`[bench:cpu] ${n} rows done (seeding ${fillS.toFixed(1)} s)`);
	}
} finally {
	s3?.child.kill("SIGTERM");
	rmSync(work, { recursive: true, force: true });
}

console.log(`\n### Isolate CPU (V8 profile, sampling every ${INTERVAL_US} µs; CLOUDFLARE_PLAN=${PLAN})`);
console.log(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}, load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (const r of all) {
	const b = r.jobs.backup;
	if (b) {
		printSteps(`backup, ${r.rows.toLocaleString("en")} submissions (${b.status}; ${b.rows} records, ${b.chunks} chunks, ${(b.bytes / 2 ** 20).toFixed(1)} MiB, ${b.instances} Workflow instance(s))`, b);
		console.log(`\nwall: backup ${b.wallS.toFixed(2)} s vs sqlite3 .dump | gzip -6 ${(r.dump.ms / 1000).toFixed(2)} s (${(b.wallS / (r.dump.ms / 1000)).toFixed(1)}×, profiler on); per row ${(b.totalUs / b.rows).toFixed(1)} µs; sampling interval median ${b.medianIntervalUs} µs; isolate heap peak ${b.heapPeakMB.toFixed(1)} MB`);
		if (b.inclusive) console.log("inclusive ms:", Object.entries(b.inclusive).map(([k, v]) => `${k} ${ms(v)}`).join(", "));
		if (b.top) console.log("self ms:", b.top.map(([k, v]) => `${k} ${ms(v)}`).join(", "));
	}
	const v = r.jobs.verify;
	if (v) printSteps(`weekly verification, ${r.rows.toLocaleString("en")} submissions (${v.status}; cron invocation ${ms(v.invocationUs)} ms)`, v);
	if (r.jobs.hourly) {
		if (r.jobs.hourly.inclusive) console.log("hourly inclusive ms (5 invocations):", Object.entries(r.jobs.hourly.inclusive).map(([k, v]) => `${k} ${ms(v)}`).join(", "));
		if (r.jobs.hourly.top) console.log("hourly self ms:", r.jobs.hourly.top.map(([k, v]) => `${k} ${ms(v)}`).join(", "));
		console.log(`\nhourly check, ${r.rows.toLocaleString("en")}: cron invocations ${r.jobs.hourly.invocations.map(ms).join(", ")} ms; with an empty catalogue (every manifest read and checked again) ${ms(r.jobs.hourly.cold)} ms`);
	}
	for (const mode of ["dry-run", "replace"]) {
		const x = r.jobs[`restore ${mode}`];
		if (x) printSteps(`restore ${mode}, ${r.rows.toLocaleString("en")} submissions (${x.status})`, x);
	}
	const e = r.jobs.export;
	if (e) {
		printSteps(`CSV export job, ${r.rows.toLocaleString("en")} submissions (${e.status}; ${e.rows} rows, ${(e.bytes / 2 ** 20).toFixed(1)} MiB, ${e.instances} Workflow instance(s), wall ${e.wallS.toFixed(1)} s)`, e);
		console.log(`\nexport file download (GET /api/admin/exports/{id}/file, HTTP ${e.fileStatus}): ${ms(e.downloadUs)} ms`);
		if (e.pieceCpu.length) console.log(`export file in ${e.pieceCpu.length} piece(s) (?piece=k): p50 ${ms(pct(e.pieceCpu, 0.5))} ms, max ${ms(Math.max(...e.pieceCpu))} ms`);
	}
	const im = r.jobs.import;
	if (im) printSteps(`import job, ${r.rows.toLocaleString("en")} submissions (${im.status}${im.error ? `: ${im.error}` : ""}; ${im.parts} parts, ${im.instances} Workflow instance(s), wall ${im.wallS.toFixed(1)} s)`, im);
	if (r.jobs.requests) {
		console.log(`\n#### requests, ${r.rows.toLocaleString("en")} submissions\n`);
		console.log("| request | n | HTTP | p50 ms | max ms |");
		console.log("|---|---:|---|---:|---:|");
		for (const q of r.jobs.requests) console.log(`| ${q.name} | ${q.cpu.length} | ${q.statuses.join(",")} | ${ms(pct(q.cpu, 0.5))} | ${ms(Math.max(...q.cpu))} |`);
	}
}
writeFileSync(path.join(os.tmpdir(), "bench-cpu-last.json"), JSON.stringify(all, null, 2));
const last = all[all.length - 1]?.jobs.backup;
if (last) {
	console.log(
		`cpu: max step ${ms(last.maxStepUs)} ms, p50 step ${ms(last.p50StepUs)} ms, per row ${(last.totalUs / last.rows).toFixed(1)} us, steps ${last.steps}, rows ${last.rows}`,
	);
}
