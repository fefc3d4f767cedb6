// Starts a Worker locally with `wrangler dev` on 127.0.0.1, on a free port, with throw-away state:
// used by the browser tests (test-browser/) and the benchmarks (bench/). Never touches .wrangler/state.
// The Worker runs from a derived copy of its wrangler config in a temp folder (absolute paths, optional
// overrides), so a developer's .dev.vars cannot leak in: the temp folder gets its own .dev.vars.
// The Worker is bundled once and run with --no-bundle from that frozen copy (assets copied too), so
// edits made to src/ while it runs cannot reload it mid-run.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
/** No telemetry, no colour, and no fetch of the `Request.cf` sample from workers.cloudflare.com. */
const WRANGLER_ENV = {
	...process.env,
	CI: "true",
	WRANGLER_SEND_METRICS: "false",
	CLOUDFLARE_CF_FETCH_ENABLED: "false",
	NO_COLOR: "1",
};

/** JSONC -> JSON: drops // and /* *\/ comments outside strings, and trailing commas. */
export function stripJsonComments(text) {
	let out = "";
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (c === '"') {
			let j = i + 1;
			while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
			out += text.slice(i, j + 1);
			i = j;
		} else if (c === "/" && text[i + 1] === "/") {
			while (i < text.length && text[i] !== "\n") i++;
			out += "\n";
		} else if (c === "/" && text[i + 1] === "*") {
			const end = text.indexOf("*/", i + 2);
			i = end === -1 ? text.length : end + 1;
		} else {
			out += c;
		}
	}
	return out.replace(/,(\s*[}\]])/g, "$1");
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

function runWrangler(args, cwd) {
	const result = spawnSync(process.execPath, [WRANGLER, ...args], {
		cwd,
		encoding: "utf8",
		env: WRANGLER_ENV,
	});
	if (result.status !== 0) {
		throw new Error(`wrangler ${args[0]} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
	}
	return result.stdout;
}

/**
 * Start a Worker. `configPath` is its wrangler.jsonc; `override(config)` may change the parsed
 * config (e.g. raise a rate limit); `vars` go to the temp .dev.vars. Migrations of every D1
 * database that has a migrations_dir are applied first. Resolves once GET `readyPath` answers.
 * Returns { url, port, persistDir, configPath, d1(sql), stop() }.
 */
/**
 * Freeze the project's Worker for a long benchmark: bundle it once into `work/build`, copy the
 * static assets and the migrations, and write `work/wrangler.json` pointing at those copies (run
 * it with `wrangler dev --no-bundle`). Edits to the source tree during the run then cannot reload
 * it. Returns the derived config's path.
 */
export function freezeWorkerConfig(work) {
	const out = path.join(work, "build");
	runWrangler(["deploy", "--dry-run", "--outdir", out], ROOT);
	const cfg = JSON.parse(stripJsonComments(readFileSync(path.join(ROOT, "wrangler.jsonc"), "utf8")));
	cfg.main = path.join(out, "worker.js");
	delete cfg.$schema;
	if (cfg.assets?.directory) {
		const assets = path.join(work, "public");
		if (existsSync(path.join(ROOT, cfg.assets.directory))) cpSync(path.join(ROOT, cfg.assets.directory), assets, { recursive: true });
		cfg.assets.directory = assets;
	}
	for (const d of cfg.d1_databases ?? []) {
		const m = path.join(work, "migrations");
		cpSync(path.join(ROOT, d.migrations_dir ?? "migrations"), m, { recursive: true });
		d.migrations_dir = m;
	}
	const file = path.join(work, "wrangler.json");
	writeFileSync(file, JSON.stringify(cfg, null, 2));
	return file;
}

export async function startLocalWorker({
	configPath = path.join(ROOT, "wrangler.jsonc"),
	override = (c) => c,
	vars = {},
	readyPath = "/",
	label = "worker",
	timeoutMs = 90_000,
} = {}) {
	const configDir = path.dirname(path.resolve(configPath));
	const base = JSON.parse(stripJsonComments(readFileSync(configPath, "utf8")));
	delete base.$schema;
	const abs = (p) => path.resolve(configDir, p);
	const config = override({
		...base,
		main: abs(base.main),
		...(base.assets ? { assets: { ...base.assets, directory: abs(base.assets.directory) } } : {}),
		...(base.d1_databases
			? {
					d1_databases: base.d1_databases.map((d) =>
						d.migrations_dir ? { ...d, migrations_dir: abs(d.migrations_dir) } : d,
					),
				}
			: {}),
	});

	const work = mkdtempSync(path.join(tmpdir(), `${label}-`));
	const persistDir = path.join(work, "state");
	const derived = path.join(work, "wrangler.json");
	const tsconfig = path.join(configDir, "tsconfig.json");
	const tsconfigArgs = existsSync(tsconfig) ? ["--tsconfig", tsconfig] : [];
	writeFileSync(derived, JSON.stringify(config, null, 2));
	// Freeze: bundle once, then point the config at the bundle and at a copy of the assets.
	const build = path.join(work, "build");
	runWrangler(["deploy", "--dry-run", "--outdir", build, "-c", derived, ...tsconfigArgs], work);
	const entry = readdirSync(build).find((f) => f.endsWith(".js"));
	if (!entry) throw new Error(`bundling ${label} produced no .js file`);
	config.main = path.join(build, entry);
	if (config.assets?.directory) {
		const assets = path.join(work, "assets");
		cpSync(config.assets.directory, assets, { recursive: true });
		config.assets = { ...config.assets, directory: assets };
	}
	writeFileSync(derived, JSON.stringify(config, null, 2));
	writeFileSync(
		path.join(work, ".dev.vars"),
		Object.entries(vars)
			.map(([k, v]) => `${k}=${v}\n`)
			.join(""),
	);
	const common = ["-c", derived, "--persist-to", persistDir];

	for (const db of config.d1_databases ?? []) {
		if (db.migrations_dir) runWrangler(["d1", "migrations", "apply", db.binding, "--local", ...common], work);
	}

	const port = await freePort();
	const inspectorPort = await freePort();
	const child = spawn(
		process.execPath,
		[
			WRANGLER, "dev", ...common, "--no-bundle",
			"--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
			"--show-interactive-dev-session=false", "--log-level", "warn",
		],
		{
			cwd: work,
			stdio: ["ignore", "pipe", "pipe"],
			env: WRANGLER_ENV,
		},
	);
	let output = "";
	const keep = (chunk) => {
		output = (output + chunk).slice(-20_000);
	};
	child.stdout.on("data", keep);
	child.stderr.on("data", keep);
	let exited = false;
	child.on("exit", () => {
		exited = true;
	});

	const url = `http://127.0.0.1:${port}`;
	const stop = async () => {
		if (!exited) {
			const gone = new Promise((resolve) => child.once("exit", resolve));
			child.kill("SIGTERM");
			const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
			await gone;
			clearTimeout(timer);
		}
		rmSync(work, { recursive: true, force: true });
	};

	// Bounded wait for the server: every 250 ms until timeoutMs.
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		// A failed build leaves wrangler dev waiting for a file change: give up at once.
		if (exited || output.includes("Build failed")) {
			await stop();
			throw new Error(`wrangler dev (${label}) did not start:\n${output}`);
		}
		try {
			const res = await fetch(url + readyPath, { signal: AbortSignal.timeout(2_000) });
			await res.arrayBuffer();
			if (res.status < 500) break;
		} catch {
			// not listening yet
		}
		if (Date.now() > deadline) {
			await stop();
			throw new Error(`wrangler dev (${label}) not ready after ${timeoutMs} ms:\n${output}`);
		}
		await new Promise((r) => setTimeout(r, 250));
	}

	/** Run one SQL statement on the Worker's local D1 (binding DB) and return its rows. */
	const d1 = (sql, binding = "DB") => queryLocalD1({ configPath: derived, persistDir, sql, binding });

	return { url, port, inspectorPort, persistDir, configPath: derived, d1, stop, output: () => output };
}

/** Run one SQL statement on a started Worker's local D1, from any process (tests run in workers). */
export function queryLocalD1({ configPath, persistDir, sql, binding = "DB" }) {
	const out = runWrangler(
		["d1", "execute", binding, "--local", "-c", configPath, "--persist-to", persistDir, "--json", "--command", sql],
		path.dirname(configPath),
	);
	const parsed = JSON.parse(out.slice(out.indexOf("[")));
	return parsed[0]?.results ?? [];
}

/** Stop a `wrangler dev` child: SIGTERM, then SIGKILL if it has not exited within 10 s. */
export async function stopDev(dev) {
	dev.kill("SIGTERM");
	for (let i = 0; i < 40 && dev.exitCode === null && dev.signalCode === null; i++) await new Promise((r) => setTimeout(r, 250));
	if (dev.exitCode === null && dev.signalCode === null) dev.kill("SIGKILL");
}
