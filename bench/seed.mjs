// Shared by the backup and CPU benchmarks: the local D1 file of a `wrangler dev --persist-to` state,
// filled with N realistic submissions straight through the sqlite3 CLI, and the baseline
// `sqlite3 <file> .dump | gzip -6` timed on the same file.
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** The D1 database file of a persisted local state (one database). */
export function findSqlite(persistDir) {
	const d = path.join(persistDir, "v3/d1/miniflare-D1DatabaseObject");
	const f = readdirSync(d).find((x) => x.endsWith(".sqlite"));
	if (!f) throw new Error(`no D1 database under ${d}`);
	return path.join(d, f);
}

/** Grow the submissions table to `n` rows with realistic, not-too-compressible answers (~550 bytes). */
export function fillTo(db, n) {
	const have = Number(execFileSync("sqlite3", [db, "SELECT count(*) FROM submissions"]).toString().trim());
	if (have >= n) return;
	const sql = `
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE c(i) AS (SELECT ${have + 1} UNION ALL SELECT i + 1 FROM c WHERE i < ${n})
INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation)
SELECT printf('sub-%08d', i),
       strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', printf('+%d seconds', i * 17)),
       '1',
       CASE i % 4 WHEN 0 THEN 'barista' WHEN 1 THEN 'formateur' WHEN 2 THEN 'gerant' ELSE 'serveur' END,
       json_object(
         'cafe', printf('Café n°%d — %s', i % 997, substr('Le Pêcheur d''Étoiles|Chez Zoë|Au Bon Accueil|La Tasse Bleue', 1 + (i % 4) * 5, 14)),
         'ville', CASE i % 3 WHEN 0 THEN 'Besançon' WHEN 1 THEN 'Dijon' ELSE 'Lyon' END,
         'note', i % 5 + 1,
         'frequence', CASE i % 2 WHEN 0 THEN 'hebdomadaire' ELSE 'mensuelle' END,
         'commentaire', substr('Très bon accueil, le service est rapide et les apprentis sont bien encadrés. Nous aimerions davantage de créneaux le samedi matin ; la communication avec le centre est fluide. Quelques retards de planning en décembre, sinon rien à signaler. ', 1 + (i * 7) % 60, 160),
         'suggestion', lower(hex(randomblob(48))),
         'contact_ok', i % 2
       ),
       '{"ok":true}'
FROM c;
COMMIT;`;
	const r = spawnSync("sqlite3", [db], { input: sql, stdio: ["pipe", "ignore", "inherit"] });
	if (r.status !== 0) throw new Error("filling the database failed");
	spawnSync("sqlite3", [db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;"], { stdio: "ignore" });
}

/** Wall time, output size and CPU seconds (both processes) of `sqlite3 <db> .dump | gzip -6`. */
export function timeDumpGzip(db) {
	const t0 = process.hrtime.bigint();
	// `times` prints the children's user and system CPU time (both processes of the pipe).
	const r = spawnSync("bash", ["-o", "pipefail", "-c", `sqlite3 '${db}' .dump | gzip -6 | wc -c; times`], { encoding: "utf8" });
	if (r.status !== 0) throw new Error("sqlite3 .dump | gzip -6 failed");
	const ms = Number(process.hrtime.bigint() - t0) / 1e6;
	const [bytes, , children] = r.stdout.trim().split("\n");
	const cpu = [...(children ?? "").matchAll(/(\d+)m([\d.]+)s/g)].reduce((s, m) => s + Number(m[1]) * 60 + Number(m[2]), 0);
	return { ms, bytes: Number(bytes), cpuS: cpu };
}

/** CPU seconds (user + system) used so far by a process and its descendants that are still alive. */
export function cpuSeconds(pid) {
	const tick = 100; // USER_HZ on Linux
	let total = 0;
	const walk = (p) => {
		try {
			const stat = readFileSync(`/proc/${p}/stat`, "utf8");
			const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			total += (Number(f[11]) + Number(f[12])) / tick;
			const kids = readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim();
			for (const k of kids ? kids.split(" ") : []) walk(Number(k));
		} catch {}
	};
	walk(pid);
	return total;
}
