// Isolate CPU from a V8 CPU profile of the Worker's isolate, taken through the inspector that
// `wrangler dev --inspector-port` exposes (workerd's own V8 inspector for the user Worker only:
// D1, R2 and the Workflows engine run in other isolates and never appear in it).
// Method (docs/BENCHMARKS.md, "Isolate CPU"): every non-idle sample stands for the interval since
// the previous sample, capped at twice the profile's median interval, so that time when the
// thread was descheduled or running another isolate is not counted; samples are attributed to
// windows (a Workflow step between its two `cpu-mark` log lines, a request between send and
// answer) by their timestamps, which are CLOCK_MONOTONIC microseconds like process.hrtime.
import { readFileSync } from "node:fs";
import WebSocket from "ws";

/** A connection to a Worker's inspector; `events` receives every notification. */
export async function connectInspector(port) {
	const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
	const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
	// The `ws` package: Node's built-in WebSocket is refused by the workerd inspector proxy.
	const ws = new WebSocket(target.webSocketDebuggerUrl, { maxPayload: 2 ** 30 });
	await new Promise((resolve, reject) => {
		ws.once("open", resolve);
		ws.once("error", reject);
	});
	let id = 0;
	const pending = new Map();
	const listeners = new Set();
	ws.on("message", (data) => {
		const msg = JSON.parse(String(data));
		if (msg.id && pending.has(msg.id)) {
			const { resolve, reject } = pending.get(msg.id);
			pending.delete(msg.id);
			if (msg.error) reject(new Error(`${msg.error.message} (${msg.error.code})`));
			else resolve(msg.result);
		} else if (msg.method) {
			for (const l of listeners) l(msg);
		}
	});
	const call = (method, params) =>
		new Promise((resolve, reject) => {
			const n = ++id;
			pending.set(n, { resolve, reject });
			ws.send(JSON.stringify({ id: n, method, ...(params ? { params } : {}) }));
		});
	return {
		call,
		onEvent(fn) {
			listeners.add(fn);
			return () => listeners.delete(fn);
		},
		close: () => ws.close(),
	};
}

/** Now, in the profile's clock (CLOCK_MONOTONIC, microseconds). */
export const monoNowUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Wall clock (ms since epoch, as workerd's Date.now() and console timestamps give it) minus the
 * monotonic clock, in microseconds. Date.now() truncates to the millisecond: averaging many reads
 * at random phases, plus half a millisecond, removes that bias.
 */
export function measureWallOffsetUs() {
	let sum = 0;
	const n = 2000;
	for (let i = 0; i < n; i++) sum += Date.now() * 1000 + 500 - monoNowUs();
	return sum / n;
}

/**
 * Per-sample costs of a profile: [{ t (µs, monotonic), us (cost), stack: Set of function names }]
 * for every non-idle sample. `cap` = 2 × median interval between consecutive samples.
 */
export function buildSamples(profile) {
	const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	const deltas = profile.timeDeltas;
	const sorted = deltas.filter((d) => d > 0).sort((a, b) => a - b);
	const median = sorted[sorted.length >> 1] ?? 100;
	const cap = 2 * median;
	const stackCache = new Map();
	const stackOf = (id) => {
		let s = stackCache.get(id);
		if (!s) {
			s = new Set();
			for (let at = id; at !== undefined; at = parent.get(at)) s.add(nodes.get(at).callFrame.functionName);
			stackCache.set(id, s);
		}
		return s;
	};
	const out = [];
	let t = profile.startTime;
	for (let i = 0; i < profile.samples.length; i++) {
		t += deltas[i];
		const node = nodes.get(profile.samples[i]);
		const name = node.callFrame.functionName;
		if (name === "(idle)") continue;
		out.push({ t, us: Math.min(deltas[i], cap), leaf: name, url: node.callFrame.url, stack: stackOf(profile.samples[i]) });
	}
	return { samples: out, medianIntervalUs: median, capUs: cap };
}

/**
 * Attribute samples to windows ({ start, end } in monotonic µs, plus any fields). Windows are
 * sorted and made disjoint (an end is clamped to the next start). Samples inside the marker's
 * own logging (`cpuMark` on the stack) are left out. With `thread` (pollThreadCpu), a window's
 * CPU is at most its thread's CPU over the window. Returns each window with `cpuUs` and
 * `samples`, the CPU that fell in no window, and those samples (`rest`).
 */
export function attribute(samples, windows, { exclude = "cpuMark", thread = null } = {}) {
	const ws = [...windows].sort((a, b) => a.start - b.start).map((w) => ({ ...w, cpuUs: 0, samples: 0 }));
	for (let i = 0; i + 1 < ws.length; i++) if (ws[i].end > ws[i + 1].start) ws[i].end = ws[i + 1].start;
	let outside = 0;
	const rest = [];
	let j = 0;
	for (const s of samples) {
		if (s.stack.has(exclude)) continue;
		while (j < ws.length && ws[j].end <= s.t) j++;
		if (j < ws.length && ws[j].start <= s.t) {
			ws[j].cpuUs += s.us;
			ws[j].samples++;
		} else {
			outside += s.us;
			rest.push(s);
		}
	}
	if (thread) {
		for (const w of ws) {
			w.sampledUs = w.cpuUs;
			w.threadUs = thread.between(w.start, w.end);
			w.cpuUs = Math.min(w.cpuUs, w.threadUs);
		}
	}
	return { windows: ws, outsideUs: outside, rest };
}

/** Inclusive CPU (µs) of each named function over the samples between `from` and `to`. */
export function inclusiveTimes(samples, from, to, names) {
	const out = Object.fromEntries(names.map((n) => [n, 0]));
	for (const s of samples) {
		if (s.t < from || s.t >= to) continue;
		for (const n of names) if (s.stack.has(n)) out[n] += s.us;
	}
	return out;
}

/** The functions that cost most in a set of samples (self time), for "where it goes" notes. */
export function topFunctions(samples, from, to, n = 12) {
	const self = new Map();
	for (const s of samples) {
		if (s.t < from || s.t >= to) continue;
		const file = s.url ? ` [${s.url.split("/").pop()}]` : "";
		const key = `${s.leaf || "(anonymous)"}${file}`;
		self.set(key, (self.get(key) ?? 0) + s.us);
	}
	return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

/**
 * The CPU time of one OS thread (the workerd thread that runs the Worker's isolate), polled every
 * millisecond from /proc/<pid>/task/<tid>/schedstat (nanoseconds on CPU). The thread also runs the
 * local D1, R2 and Workflows engine, so this over-counts the isolate; it is used as an upper bound:
 * on a loaded machine the profiler's samples follow wall time while the isolate is entered, even
 * when its thread waits for a CPU, and a step can never have used more CPU than its thread did.
 */
export function pollThreadCpu(pid, tid = pid) {
	const points = [];
	const file = `/proc/${pid}/task/${tid}/schedstat`;
	const read = () => {
		try {
			points.push([monoNowUs(), Number(readFileSync(file, "utf8").split(" ")[0]) / 1000]);
		} catch {}
	};
	read();
	const timer = setInterval(read, 1);
	const at = (t) => {
		// Linear interpolation between the polls around t.
		let lo = 0;
		let hi = points.length - 1;
		if (hi < 0) return 0;
		if (t <= points[0][0]) return points[0][1];
		if (t >= points[hi][0]) return points[hi][1];
		while (hi - lo > 1) {
			const mid = (lo + hi) >> 1;
			if (points[mid][0] <= t) lo = mid;
			else hi = mid;
		}
		const [t0, c0] = points[lo];
		const [t1, c1] = points[hi];
		return c0 + ((c1 - c0) * (t - t0)) / Math.max(1, t1 - t0);
	};
	return {
		stop: () => {
			clearInterval(timer);
			read();
		},
		/** Thread CPU (µs) between two monotonic times, widened by `slackUs` on each side. */
		between: (start, end, slackUs = 1000) => at(end + slackUs) - at(start - slackUs),
	};
}

/** The workerd process under `rootPid` that has used the most CPU (the one running the Worker). */
export function findWorkerdPid(rootPid) {
	let best = null;
	const walk = (p) => {
		try {
			const stat = readFileSync(`/proc/${p}/stat`, "utf8");
			const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
			const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			const cpu = Number(f[11]) + Number(f[12]);
			if (comm === "workerd" && (!best || cpu > best.cpu)) best = { pid: p, cpu };
			const kids = readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim();
			for (const k of kids ? kids.split(" ") : []) walk(Number(k));
		} catch {}
	};
	walk(rootPid);
	return best?.pid ?? null;
}
