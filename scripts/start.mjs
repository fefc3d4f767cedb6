#!/usr/bin/env node
// Local runner: the app on workerd with local D1/R2/Workflows persisted under .wrangler/state.
// 1. makes sure .dev.vars has an ADMIN_TOKEN (creates and prints one the first time, or when it
//    still holds the placeholder of .dev.vars.example);
// 2. applies the D1 migrations to the local database;
// 3. runs `wrangler dev` on http://localhost:8787;
// 4. fires the cron trigger of wrangler.jsonc at its times, which `wrangler dev` does not do. There
//    is one, hourly ("0 * * * *"); each delivery dispatches the hourly check and, at their times,
//    the daily backup (SCHEDULE_BACKUP) and the weekly verification (src/jobs/cron.ts).
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Cron } from "croner";
import { ensureAdminToken, ensureSigningKey } from "./dev-vars.mjs";

const PORT = Number(process.env.PORT ?? 8787);
const STATE = ".wrangler/state";
// Run wrangler with this very Node.js (24, from the `node` dev dependency under `npm start`),
// whatever `node` happens to be first on PATH.
const wranglerJs = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));
if (Number(process.versions.node.split(".")[0]) < 22) {
	console.error(`Node.js ${process.version} is too old for wrangler: run \`npm start\` (it uses the Node.js 24 installed by npm ci).`);
	process.exit(1);
}

/** The cron expressions of wrangler.jsonc (comments stripped): one, hourly, since the single trigger. */
function readCrons() {
	const raw = readFileSync("wrangler.jsonc", "utf8").replace(/^\s*\/\/.*$/gm, "");
	const match = /"crons"\s*:\s*\[([^\]]*)\]/.exec(raw);
	return match ? [...match[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [];
}

function scheduleCrons(crons) {
	for (const expr of crons) {
		// UTC, like Cloudflare's cron triggers.
		new Cron(expr, { timezone: "UTC", protect: true }, async (job) => {
			const time = job.currentRun()?.getTime() ?? Date.now();
			const url = `http://127.0.0.1:${PORT}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(expr)}&time=${time}`;
			try {
				const res = await fetch(url);
				console.log(`[cron] ${expr} fired at ${new Date(time).toISOString()}: HTTP ${res.status}`);
			} catch (err) {
				console.error(`[cron] ${expr} could not reach the local server: ${err.message}`);
			}
		});
		console.log(`[cron] local driver armed for "${expr}" (UTC)`);
	}
}

const created = ensureAdminToken();
if (created) console.log(`\nCreated an administrator token in .dev.vars:\n\n  ADMIN_TOKEN=${created}\n`);
if (ensureSigningKey()) console.log("Created a manifest signing key (BACKUP_SIGNING_KEY) in .dev.vars.");

const migrate = spawnSync(
	process.execPath,
	[wranglerJs, "d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE],
	{ stdio: "inherit", env: { ...process.env, CI: "true" } },
);
if (migrate.status !== 0) {
	console.error("Applying the D1 migrations failed; see above.");
	process.exit(migrate.status ?? 1);
}

const dev = spawn(
	process.execPath,
	[wranglerJs, "dev", "--port", String(PORT), "--ip", "127.0.0.1", "--persist-to", STATE, "--test-scheduled", ...process.argv.slice(2)],
	{ stdio: "inherit" },
);
scheduleCrons(readCrons());

for (const signal of ["SIGINT", "SIGTERM"]) {
	process.on(signal, () => {
		dev.kill(signal);
	});
}
dev.on("exit", (code) => process.exit(code ?? 0));
