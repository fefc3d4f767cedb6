#!/usr/bin/env node
// `npm run bench:submissions`: loads POST /api/submissions of the app and of a baseline Worker that
// does one bare D1 INSERT (bench/baseline-worker/), both on local workerd started in this run, from
// this Node process with bounded concurrency and count. Prints throughput and p50/p99 latency, the
// ratio to the baseline, and a Markdown block for docs/BENCHMARKS.md; saves JSON in bench/results/.
//
// Options: --clients 16 --requests 3000 --warmup 200 --slices 6 --rounds 3
// The measured requests of each side are cut into slices run alternately (app, baseline, app, …), so
// that both sides see the same background load on a shared machine; each side's throughput is its
// requests divided by the time spent on its own slices.
import { cpus } from "node:os";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { startLocalWorker } from "./local-worker.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values: opts } = parseArgs({
	options: {
		clients: { type: "string", default: "16" },
		requests: { type: "string", default: "3000" },
		warmup: { type: "string", default: "200" },
		rounds: { type: "string", default: "3" },
		slices: { type: "string", default: "6" },
	},
});
const CLIENTS = bounded(opts.clients, 1, 256);
const REQUESTS = bounded(opts.requests, 1, 100_000);
const WARMUP = bounded(opts.warmup, 0, 10_000);
const ROUNDS = bounded(opts.rounds, 1, 10);
const SLICES = bounded(opts.slices, 1, 100);
/** Targets from docs/BENCHMARKS.md / issue 2. */
const TARGET_RATIO = 0.7;
const TARGET_P99_MS = 50;

function bounded(text, min, max) {
	const n = Number(text);
	if (!Number.isInteger(n) || n < min || n > max) throw new Error(`expected a whole number in ${min}..${max}, got ${text}`);
	return n;
}

// Realistic answers: varied cafés, towns, role spellings (exercising normalisation and dedup),
// scale values, optional fields sometimes empty.
const CAFES = ["Le Zinc", "Café de la Gare", "Au Bon Accueil", "La Tasse Pleine", "Chez Nous", "Le Comptoir"];
const VILLES = ["Lyon", "Besançon", "Dijon", "Grenoble", "Annecy", "Saint-Étienne"];
const ROLES = ["Gérant", "gérante", " Serveur ", "SERVEUR", "Barista", "barista", "Tuteur de stage", "Formateur", "Cuisinier"];
const ACTIVITIES = ["service", "bar", "cuisine", "caisse", "evenements"];
const FREQUENCES = ["hebdomadaire", "mensuelle", "occasionnelle", "jamais"];

function buildAnswers(n) {
	const pick = (list, k) => list[(n * 7 + k * 13) % list.length];
	const answers = {
		cafe: `${pick(CAFES, 1)} n°${n % 97}`,
		ville: pick(VILLES, 2),
		role: pick(ROLES, 3),
		satisfaction: 1 + (n % 5),
		consentement: true,
		frequence: pick(FREQUENCES, 4),
		activites: ACTIVITIES.filter((_, i) => (n >> i) & 1),
	};
	if (n % 3 === 0) answers.commentaire = "Très bonne collaboration, les stagiaires sont motivés. ".repeat(1 + (n % 4));
	if (n % 4 === 0) answers.email = `contact${n % 50}@exemple.fr`;
	return answers;
}

/** Each client gets its own documentation-range address (RFC 5737), sent as CF-Connecting-IP. */
const clientIp = (c) => `198.51.100.${1 + c}`;

/** Run `count` requests with `clients` concurrent loops; returns latencies (ms) and statuses. */
async function load(url, count, startN) {
	let next = 0;
	const latencies = [];
	const statuses = new Map();
	async function client(c) {
		for (;;) {
			const i = next++;
			if (i >= count) return;
			const body = JSON.stringify({ answers: buildAnswers(startN + i) });
			const t0 = performance.now();
			const res = await fetch(url, {
				method: "POST",
				headers: { "Content-Type": "application/json", "CF-Connecting-IP": clientIp(c) },
				body,
			});
			await res.arrayBuffer();
			latencies.push(performance.now() - t0);
			statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
		}
	}
	const t0 = performance.now();
	await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
	const seconds = (performance.now() - t0) / 1000;
	return { latencies, statuses, seconds };
}

/** Pure: nearest-rank percentile of an unsorted list. */
function percentile(values, p) {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summarise(run) {
	return {
		requests: run.latencies.length,
		seconds: run.seconds,
		rps: run.latencies.length / run.seconds,
		p50: percentile(run.latencies, 50),
		p99: percentile(run.latencies, 99),
		statuses: Object.fromEntries(run.statuses),
	};
}

/** Merge slice results of one side: latencies pooled, time summed. */
function mergeRuns(runs) {
	const statuses = new Map();
	for (const r of runs) for (const [k, v] of r.statuses) statuses.set(k, (statuses.get(k) ?? 0) + v);
	return {
		latencies: runs.flatMap((r) => r.latencies),
		seconds: runs.reduce((sum, r) => sum + r.seconds, 0),
		statuses,
	};
}

/** One round: warm both up, then alternate measured slices between the sides. */
async function measureRound(targets, n0, round) {
	for (const [name, url] of targets) await load(url, WARMUP, n0);
	const runs = Object.fromEntries(targets.map(([name]) => [name, []]));
	let done = 0;
	for (let i = 0; i < SLICES; i++) {
		const size = Math.floor((REQUESTS * (i + 1)) / SLICES) - Math.floor((REQUESTS * i) / SLICES);
		// Swap who goes first every slice and every round.
		const order = (i + round) % 2 === 0 ? targets : [...targets].reverse();
		for (const [name, url] of order) runs[name].push(await load(url, size, n0 + WARMUP + done));
		done += size;
	}
	const result = {};
	for (const [name] of targets) {
		result[name] = summarise(mergeRuns(runs[name]));
		const bad = Object.entries(result[name].statuses).filter(([s]) => Number(s) !== 201);
		if (bad.length) throw new Error(`${name}: non-201 answers ${JSON.stringify(result[name].statuses)}`);
		const r = result[name];
		console.log(`  ${name.padEnd(9)} ${r.rps.toFixed(0).padStart(6)} req/s   p50 ${r.p50.toFixed(1)} ms   p99 ${r.p99.toFixed(1)} ms`);
	}
	result.ratio = result.app.rps / result.baseline.rps;
	console.log(`  ratio     ${(result.ratio * 100).toFixed(0)}%`);
	return result;
}

const fmt = (x, d = 1) => x.toFixed(d);

let app;
let baseline;
try {
	console.log(`Starting the app and the baseline on local workerd (temp state)…`);
	const started = await Promise.allSettled([
		startLocalWorker({
			label: "bench-app",
			readyPath: "/api/health",
			vars: { ADMIN_TOKEN: "bench-admin-token-0123456789abcdef" },
			// The production limit (10 per minute per client) would turn the load into 429s: raise it
			// here only, in the derived config; the code path (one limiter call per request) is unchanged.
			override: (c) => ({
				...c,
				triggers: { crons: [] },
				ratelimits: (c.ratelimits ?? []).map((r) => ({ ...r, simple: { ...r.simple, limit: 1_000_000 } })),
			}),
		}),
		startLocalWorker({ label: "bench-baseline", configPath: path.join(ROOT, "bench/baseline-worker/wrangler.jsonc") }),
	]);
	// Keep whichever started, so that `finally` stops it even when the other one failed.
	[app, baseline] = started.map((s) => (s.status === "fulfilled" ? s.value : undefined));
	const failed = started.find((s) => s.status === "rejected");
	if (failed) throw failed.reason;

	const rounds = [];
	const targets = [
		["baseline", `${baseline.url}/api/submissions`],
		["app", `${app.url}/api/submissions`],
	];
	for (let r = 0; r < ROUNDS; r++) {
		console.log(`Round ${r + 1}/${ROUNDS}: ${CLIENTS} clients, ${WARMUP} warm-up + ${REQUESTS} measured requests each, in ${SLICES} alternating slices`);
		rounds.push(await measureRound(targets, r * (WARMUP + REQUESTS), r));
	}

	// Every 201 must be a stored row, or the figures would be measuring failures.
	const expected = ROUNDS * (WARMUP + REQUESTS);
	const stored = Number(app.d1("SELECT COUNT(*) AS n FROM submissions")[0]?.n);
	const counted = Number(app.d1("SELECT value FROM counters WHERE name = 'total'")[0]?.value);
	const storedBaseline = Number(baseline.d1("SELECT COUNT(*) AS n FROM submissions")[0]?.n);
	if (stored !== expected || counted !== expected || storedBaseline !== expected) {
		throw new Error(`stored rows do not match: app ${stored} (counter ${counted}), baseline ${storedBaseline}, expected ${expected}`);
	}

	const median = (xs) => percentile(xs, 50);
	const pick = (side, key) => median(rounds.map((r) => r[side][key]));
	const summary = {
		app: { rps: pick("app", "rps"), p50: pick("app", "p50"), p99: pick("app", "p99") },
		baseline: { rps: pick("baseline", "rps"), p50: pick("baseline", "p50"), p99: pick("baseline", "p99") },
	};
	// The ratio is taken within each round (same load on both sides), then the median of rounds.
	const ratio = median(rounds.map((r) => r.ratio));
	const machine = {
		nproc: cpus().length,
		cpu: cpus()[0]?.model.trim() ?? "unknown",
		node: process.version,
		wrangler: JSON.parse(readFileSync(path.join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version,
	};
	const date = new Date().toISOString().slice(0, 10);
	const verdict = (ok) => (ok ? "met" : "MISSED");
	const markdown = [
		`Run ${date} — ${CLIENTS} clients, ${WARMUP} warm-up + ${REQUESTS} measured requests per side in ${SLICES} alternating slices, ${ROUNDS} round(s) (medians), JSON bodies, distinct CF-Connecting-IP per client.`,
		`Machine: ${machine.nproc} CPUs (${machine.cpu}), Node ${machine.node}, wrangler ${machine.wrangler}; load generator, app and baseline share these CPUs.`,
		"",
		"| Worker | req/s | p50 ms | p99 ms |",
		"|---|---:|---:|---:|",
		`| baseline (1 bare D1 INSERT) | ${fmt(summary.baseline.rps, 0)} | ${fmt(summary.baseline.p50)} | ${fmt(summary.baseline.p99)} |`,
		`| app (POST /api/submissions) | ${fmt(summary.app.rps, 0)} | ${fmt(summary.app.p50)} | ${fmt(summary.app.p99)} |`,
		"",
		`Per round (app/baseline req/s): ${rounds.map((r) => `${fmt(r.app.rps, 0)}/${fmt(r.baseline.rps, 0)} = ${fmt(r.ratio * 100, 0)}%`).join(", ")}.`,
		`Throughput ratio app/baseline: **${fmt(ratio * 100, 0)}%** (target ≥ ${TARGET_RATIO * 100}%: ${verdict(ratio >= TARGET_RATIO)}); app p99 ${fmt(summary.app.p99)} ms (target < ${TARGET_P99_MS} ms: ${verdict(summary.app.p99 < TARGET_P99_MS)}).`,
		`Rows stored: ${stored} app (counter 'total' ${counted}), ${storedBaseline} baseline — every 201 is a row.`,
	].join("\n");
	console.log(`\n${markdown}\n`);

	const dir = path.join(ROOT, "bench/results");
	mkdirSync(dir, { recursive: true });
	const file = path.join(dir, `submissions-${new Date().toISOString().replace(/[:.]/g, "")}.json`);
	writeFileSync(file, JSON.stringify({ date, machine, clients: CLIENTS, warmup: WARMUP, requests: REQUESTS, slices: SLICES, rounds, summary, ratio }, null, 2));
	console.log(`Saved ${path.relative(ROOT, file)}`);
} finally {
	await Promise.all([app?.stop(), baseline?.stop()]);
}
