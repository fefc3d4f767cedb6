// The administrator's copies outside Cloudflare, from the command line (docs/offsite.md):
//   pull <dir>                 incremental, verified mirror of every complete snapshot
//   verify-local <dir>         re-check a mirror offline (--identity for an encrypted one)
//   push <dir>/<snapshotId>    recovery: upload a local copy into a deployment (new account)
// The same code as the Worker does the work (src/offsite, src/snapshots, src/retention): Node runs
// those TypeScript modules directly. Exit codes (documented in docs/offsite.md, for schedulers):
//   0 done / up to date, 1 usage or unexpected error, 3 network, 4 authentication, 5 verification.
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { copySnapshot, listCopiedSnapshots } from "../src/offsite/replicate.ts";
import { verifyCopy } from "../src/offsite/verify-copy.ts";
import { applyPolicy, keepNewestVerified } from "../src/retention/policy.ts";
import { buildAgeDecryptor, buildAgeEncryptor, parseIdentityFile, parseRecipients } from "../src/snapshots/age.ts";
import { directorySnapshotStore } from "../src/snapshots/dir-store.ts";
import { chunkKey, isSnapshotId, parseSnapshotTime, serializeManifest, sha256Hex } from "../src/snapshots/format.ts";
import { plural as pluralOf, say } from "./cli/text.mjs";

export const EXIT = { ok: 0, error: 1, network: 3, auth: 4, verification: 5 };

/** An error with the exit code a scheduler can act on. */
export class OffsiteError extends Error {
	constructor(message, exitCode = EXIT.error) {
		super(message);
		this.exitCode = exitCode;
	}
}

const STAGING = ".partiel";
const fr = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });
const size = (n) => (n < 1024 ? `${n} o` : n < 1024 ** 2 ? `${fr.format(n / 1024)} Ko` : `${fr.format(n / 1024 ** 2)} Mo`);
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** A fetch against the admin API whose failures say what kind they are (exit codes). */
function makeApi(baseUrl, token) {
	return async function api(pathname, init = {}, { allow404 = false } = {}) {
		let res;
		try {
			res = await fetch(`${baseUrl}${pathname}`, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers ?? {}) } });
		} catch {
			throw new OffsiteError(`Le serveur ${baseUrl} ne répond pas (réseau ou serveur arrêté).`, EXIT.network);
		}
		if (res.status === 401 || res.status === 403) {
			throw new OffsiteError("Le jeton d'administration est refusé : vérifiez ADMIN_TOKEN (ou --token).", EXIT.auth);
		}
		if (allow404 && res.status === 404) return res;
		if (!res.ok) {
			let detail = `${res.status}`;
			try {
				const body = await res.json();
				if (body?.error) detail = `${res.status} ${body.error.code} : ${body.error.message}`;
			} catch {}
			const kind = res.status >= 500 ? EXIT.network : res.status === 422 ? EXIT.verification : EXIT.error;
			throw new OffsiteError(`Le serveur a refusé (${detail}).`, kind);
		}
		return res;
	};
}

/**
 * The deployment's snapshots seen through the admin API as a read-only SnapshotStore: what
 * copySnapshot and verifyCopy read from. Bytes are kept for the snapshot being copied, so that it
 * is downloaded once, checked, then written.
 */
function apiStore(api) {
	const cache = new Map();
	const KEY = /^snapshots\/([^/]+)\/(?:(manifest\.json)|chunk-(\d{6,})\.ndjson\.gz)$/;
	async function get(key) {
		if (cache.has(key)) return cache.get(key);
		const m = KEY.exec(key);
		if (!m || !isSnapshotId(m[1])) return undefined;
		const id = encodeURIComponent(m[1]);
		const res = await api(m[2] ? `/api/admin/snapshots/${id}/manifest` : `/api/admin/snapshots/${id}/chunks/${Number(m[3])}`, {}, { allow404: true });
		if (res.status === 404) return undefined;
		const bytes = new Uint8Array(await res.arrayBuffer());
		const sha = res.headers.get("X-Manifest-Sha256");
		const obj = { key, size: bytes.byteLength, metadata: sha ? { "manifest-sha256": sha } : {}, bytes };
		cache.set(key, obj);
		return obj;
	}
	const readOnly = () => {
		throw new OffsiteError("lecture seule");
	};
	return {
		kind: "admin-api",
		get,
		async head(key) {
			const obj = await get(key);
			return obj && { key: obj.key, size: obj.size, metadata: obj.metadata };
		},
		async getStream() {
			return readOnly();
		},
		async list() {
			return [];
		},
		async listFolders() {
			const body = await (await api("/api/admin/snapshots")).json();
			return body.snapshots.map((s) => `snapshots/${s.id}/`);
		},
		put: readOnly,
		delete: readOnly,
		forget: () => cache.clear(),
		/** The snapshots the deployment trusts (signature checked by the Worker), oldest first. */
		async trusted() {
			const body = await (await api("/api/admin/snapshots")).json();
			return body.snapshots.filter((s) => s.verified).map((s) => s.id).sort();
		},
	};
}

function readIdentity(file) {
	if (!file) return undefined;
	if (!existsSync(file)) throw new OffsiteError(`Fichier de clé introuvable : ${file}`);
	try {
		return buildAgeDecryptor(parseIdentityFile(readFileSync(file, "utf8")));
	} catch (err) {
		throw new OffsiteError(`${file} : ${err.message}`);
	}
}

function readRecipients(opts) {
	const text = [...(opts.recipient ?? []), process.env.BACKUP_AGE_RECIPIENTS ?? ""].join(",");
	try {
		const list = parseRecipients(text);
		return list.length > 0 ? buildAgeEncryptor(list) : undefined;
	} catch (err) {
		throw new OffsiteError(`Destinataire age invalide : ${err.message}`);
	}
}

function keepCounts(opts) {
	const n = (v, d, name) => {
		if (v === undefined) return d;
		const x = Number(v);
		if (!Number.isInteger(x) || x < 0) throw new OffsiteError(`--${name} attend un nombre entier positif.`);
		return x;
	};
	return { keepDaily: Math.max(1, n(opts["keep-daily"], 30, "keep-daily")), keepWeekly: n(opts["keep-weekly"], 8, "keep-weekly"), keepMonthly: n(opts["keep-monthly"], 12, "keep-monthly") };
}

/** One line that redraws itself on a terminal; plain lines otherwise (logs of a scheduler). */
function progress(total) {
	const tty = process.stderr.isTTY;
	return (done, label) => {
		const width = 24;
		const filled = total === 0 ? width : Math.round((done / total) * width);
		const line = `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total} ${label}`;
		if (tty) process.stderr.write(`\r${line.padEnd(79)}${done === total ? "\n" : ""}`);
		else console.error(line);
	};
}

/** The ids the mirror's retention (the Worker's policy code) keeps among `ids`. */
function planKept(ids, policy, now) {
	const facts = ids.map((id) => ({ id, time: parseSnapshotTime(id), verified: true, tables: {} }));
	return new Set(keepNewestVerified(applyPolicy(facts, policy, now), facts, now).filter((d) => d.keep).map((d) => d.id));
}

/** Remove the mirrored snapshots its retention does not keep. */
async function pruneMirror(dir, mirror, policy, now) {
	const ids = await listCopiedSnapshots(mirror);
	const kept = planKept(ids, policy, now);
	const removed = [];
	for (const id of ids) {
		if (kept.has(id)) continue;
		await rm(path.join(dir, id), { recursive: true, force: true });
		removed.push(id);
	}
	return removed;
}

export async function pull(dir, opts, { baseUrl, token }) {
	if (!dir) throw new OffsiteError("Indiquez le dossier du miroir : npm run admin -- pull <dossier>");
	const root = path.resolve(dir);
	await mkdir(root, { recursive: true });
	const api = makeApi(baseUrl, token);
	const source = apiStore(api);
	const mirror = directorySnapshotStore(root, { keyPrefix: "snapshots/" });
	const staging = directorySnapshotStore(path.join(root, STAGING), { keyPrefix: "snapshots/" });
	const encrypt = readRecipients(opts);
	const have = new Set(await listCopiedSnapshots(mirror));
	const remote = await source.trusted();
	// Only what the mirror's retention would keep is copied: never a snapshot deleted right after.
	const policy = keepCounts(opts);
	const now = new Date();
	const kept = planKept([...new Set([...have, ...remote])], policy, now);
	const todo = remote.filter((id) => !have.has(id) && kept.has(id));
	const step = progress(todo.length);
	let bytes = 0;
	for (const [i, id] of todo.entries()) {
		step(i, `instantané du ${id.slice(0, 10)}`);
		await rm(path.join(root, STAGING, id), { recursive: true, force: true });
		// Checked in full BEFORE anything is written: SHA-256, gzip, every record, content digest.
		const verdict = await verifyCopy(source, id);
		if (!verdict.ok) {
			throw new OffsiteError(`L'instantané ${id} est refusé : ${verdict.problems[0]}. Rien n'a été ajouté au miroir.`, EXIT.verification);
		}
		const copy = await copySnapshot(source, staging, id, { keyring: {}, encrypt, trustSource: true });
		source.forget();
		bytes += copy.bytes;
		// The snapshot appears under its final name only now, complete (a rename on one disk).
		await rename(path.join(root, STAGING, id), path.join(root, id));
	}
	step(todo.length, "à jour");
	await rm(path.join(root, STAGING), { recursive: true, force: true });
	const removed = await pruneMirror(root, mirror, policy, now);
	const total = (await listCopiedSnapshots(mirror)).length;
	console.log(
		todo.length === 0
			? `Le miroir est à jour : ${plural(total, "instantané", "instantanés")}${removed.length ? `, ${plural(removed.length, "ancien supprimé", "anciens supprimés")}` : ""}.`
			: `${plural(todo.length, "nouvel instantané copié", "nouveaux instantanés copiés")} (${size(bytes)}${encrypt ? ", chiffrés avec age" : ""}) ; le miroir en compte ${total}${removed.length ? `, ${plural(removed.length, "ancien supprimé", "anciens supprimés")}` : ""}.`,
	);
	return { copied: todo, removed };
}

export async function verifyLocal(dir, opts) {
	if (!dir) throw new OffsiteError("Indiquez le dossier du miroir : npm run admin -- verify-local <dossier>");
	const root = path.resolve(dir);
	if (!existsSync(root)) throw new OffsiteError(`Dossier introuvable : ${root}`);
	const mirror = directorySnapshotStore(root, { keyPrefix: "snapshots/" });
	const decrypt = readIdentity(opts.identity);
	const ids = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && isSnapshotId(e.name)).map((e) => e.name).sort();
	let bad = 0;
	for (const id of ids) {
		const v = await verifyCopy(mirror, id, { decrypt });
		const what = v.recordsChecked ? `${plural(v.rows, "ligne", "lignes")} relues, empreinte du contenu conforme` : "sommes SHA-256 conformes (contenu chiffré : ajoutez --identity pour le relire)";
		if (v.ok) console.log(`OK        ${id}  ${what}`);
		else {
			bad++;
			console.log(`PROBLÈME  ${id}  ${v.problems.join(" ; ")}`);
		}
	}
	if (ids.length === 0) console.log("Aucun instantané dans ce dossier.");
	if (bad > 0) throw new OffsiteError(`${plural(bad, "instantané abîmé", "instantanés abîmés")} sur ${ids.length} : ne l'utilisez pas pour une restauration ; refaites « pull » pour le recopier.`, EXIT.verification);
	console.log(`Tout va bien : ${plural(ids.length, "instantané vérifié", "instantanés vérifiés")}.`);
}

export async function push(folder, opts, { baseUrl, token }) {
	if (!folder) throw new OffsiteError("Indiquez le dossier de l'instantané : npm run admin -- push <dossier>/<instantané>");
	const abs = path.resolve(folder);
	const id = path.basename(abs);
	if (!isSnapshotId(id)) throw new OffsiteError(`${abs} n'est pas le dossier d'un instantané (nom attendu : 2026-11-25T020000Z-abc123).`);
	const store = directorySnapshotStore(path.dirname(abs), { keyPrefix: "snapshots/" });
	const decrypt = readIdentity(opts.identity);
	const verdict = await verifyCopy(store, id, { decrypt });
	if (verdict.encrypted && !decrypt) throw new OffsiteError("Cette copie est chiffrée : ajoutez --identity <fichier de clé age>.");
	if (!verdict.ok || !verdict.manifest) throw new OffsiteError(`Copie refusée : ${verdict.problems[0]}. Rien n'a été envoyé.`, EXIT.verification);
	const api = makeApi(baseUrl, token);
	const manifest = verdict.manifest;
	const chunks = [];
	const step = progress(manifest.chunks.length);
	for (const [i, entry] of manifest.chunks.entries()) {
		step(i, say("morceaux envoyés", "chunks sent"));
		const stored = (await store.get(entry.key)).bytes;
		const plain = manifest.encryption ? await decrypt.decrypt(stored) : stored;
		const sha256 = sha256Hex(plain);
		// The server checks the bytes against this SHA-256 on arrival; the job reads them back later.
		await api(`/api/admin/imports/${id}/chunks/${entry.n}`, { method: "PUT", headers: { "Content-Type": "application/gzip", "X-Chunk-Sha256": sha256 }, body: plain });
		// Parts are byte ranges of the bytes the manifest describes: those of a decrypted chunk are unknown.
		const { parts, ...rest } = entry;
		chunks.push({ ...rest, ...(manifest.encryption || !parts ? {} : { parts }), key: chunkKey(id, entry.n), bytes: plain.byteLength, sha256 });
	}
	step(manifest.chunks.length, say("morceaux envoyés", "chunks sent"));
	const plainManifest = { ...manifest, chunks, bytes: chunks.reduce((s, c) => s + c.bytes, 0), encryption: null };
	const res = await api(`/api/admin/imports/${id}/manifest`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: serializeManifest(plainManifest) });
	const started = await res.json();
	const done = await followImport(api, started, 500);
	if (done.status !== "done") {
		throw new OffsiteError(
			say(`Le serveur a refusé l'instantané ${id} : ${done.error}. Rien n'a été enregistré.`, `The server refused snapshot ${id}: ${done.error}. Nothing was committed.`),
			EXIT.verification,
		);
	}
	console.log(
		say(
			`Instantané ${id} envoyé et vérifié par le serveur : ${pluralOf(done.rows, "ligne", "lignes")}, ${pluralOf(done.chunks, "morceau", "morceaux")}.`,
			`Snapshot ${id} sent and checked by the server: ${pluralOf(done.rows, "row", "rows")}, ${pluralOf(done.chunks, "chunk", "chunks")}.`,
		),
	);
	console.log(say(`Étape suivante : npm run admin -- restore ${id}   (aperçu d'abord, puis --mode replace)`, `Next step: npm run admin -- restore ${id}   (preview first, then --mode replace)`));
	return done;
}

/**
 * Follow the server's import job (every part of every chunk read back) to its end, with progress
 * lines on stderr; bounded (2 hours). Returns the final status ("done" or "failed").
 */
async function followImport(api, started, every) {
	const deadline = Date.now() + 2 * 3600 * 1000;
	let view = started;
	let step;
	let last = -1;
	while (view.status === "queued" || view.status === "running") {
		if (Date.now() > deadline) {
			throw new OffsiteError(say("Le serveur vérifie encore l'instantané après 2 heures : relancez « push » plus tard.", "The server is still checking the snapshot after 2 hours: run `push` again later."));
		}
		const { done, total } = view.progress.parts;
		step ??= progress(total);
		if (done !== last && done < total) step(done, say("parties vérifiées par le serveur", "parts checked by the server"));
		last = done;
		await new Promise((r) => setTimeout(r, every));
		view = await (await api(view.statusUrl)).json();
	}
	if (view.status === "done") (step ?? progress(view.progress.parts.total))(view.progress.parts.total, say("parties vérifiées par le serveur", "parts checked by the server"));
	return view;
}
