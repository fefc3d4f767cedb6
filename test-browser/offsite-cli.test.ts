// The copies outside Cloudflare from the administrator's machine, against running local Workers:
// `pull` (incremental, verified, encrypted mirror), `verify-local` (offline re-check, byte flips
// caught), documented exit codes, and the recovery drill — a NEW, empty deployment, `push`, restore
// `replace` — ending with the same content as the source.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startLocalWorker } from "../bench/local-worker.mjs";
import { TEST_AGE_IDENTITY, TEST_AGE_RECIPIENT } from "../test/keys.ts";
import { BROWSER_TEST_ADMIN_TOKEN } from "./global-setup";

const ROOT = path.resolve(import.meta.dirname, "..");
const work = mkdtempSync(path.join(tmpdir(), "offsite-cli-"));
const mirror = path.join(work, "miroir");
const keyFile = path.join(work, "key.txt");
writeFileSync(keyFile, `# public key: ${TEST_AGE_RECIPIENT}\n${TEST_AGE_IDENTITY}\n`, { mode: 0o600 });

/** The second deployment of the drill: fresh local state, another signing key (a new account). */
let fresh: Awaited<ReturnType<typeof startLocalWorker>>;
const FRESH_TOKEN = "fresh-deployment-admin-token-0123456789";

beforeAll(async () => {
	fresh = await startLocalWorker({
		vars: { ADMIN_TOKEN: FRESH_TOKEN, BACKUP_SIGNING_KEY: "another-account-signing-key-0123456789abcdef" },
		label: "recovery-drill",
	});
});

afterAll(async () => {
	await fresh?.stop();
	rmSync(work, { recursive: true, force: true });
});

function admin(args: string[], { url = inject("baseUrl"), token = BROWSER_TEST_ADMIN_TOKEN } = {}) {
	const run = spawnSync(process.execPath, [path.join(ROOT, "scripts/admin.mjs"), ...args], {
		cwd: work,
		env: { ...process.env, ADMIN_URL: url, ADMIN_TOKEN: token, BACKUP_AGE_RECIPIENTS: "" },
		encoding: "utf8",
		timeout: 180_000,
	});
	return { code: run.status, out: run.stdout, err: run.stderr };
}

async function api<T>(url: string, token: string, pathname: string): Promise<T> {
	const res = await fetch(`${url}${pathname}`, { headers: { Authorization: `Bearer ${token}` } });
	expect(res.status, pathname).toBe(200);
	return (await res.json()) as T;
}

type Manifest = { snapshotId: string; contentDigest: string; tables: Record<string, { rows: number; digest: string }> };

async function post(url: string, body: unknown, ip: string): Promise<void> {
	const res = await fetch(`${url}/api/submissions`, {
		method: "POST",
		headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip },
		body: JSON.stringify({ answers: body }),
	});
	expect(res.status, await res.clone().text()).toBe(201);
}

describe("copies outside Cloudflare (CLI)", () => {
	let snapshotId = "";

	it("pull makes a verified, encrypted mirror; a second pull transfers nothing and exits 0", async () => {
		for (const [i, ville] of ["Dijon", "Besançon", "Auxerre"].entries()) {
			await post(inject("baseUrl"), { cafe: `Café ${i}`, ville, role: "Formateur", satisfaction: 4, consentement: true }, `2001:db8:77::${i + 1}`);
		}
		// Two backups the same day: the mirror's retention keeps one per day, so the older one is
		// never copied (a pull must not copy what its own retention deletes right after).
		expect(admin(["backup"]).code).toBe(0);
		const backup = admin(["backup"]);
		expect(backup.code).toBe(0);
		snapshotId = /\(référence (\S+)\)/.exec(backup.out)![1]!;

		const first = admin(["pull", mirror, "--recipient", TEST_AGE_RECIPIENT]);
		expect(first.err).not.toMatch(/Erreur/);
		expect(first.code).toBe(0);
		expect(first.out).toMatch(/copiés? \(.*chiffrés avec age\)/);
		// One of the two is mirrored (both may share one second: the policy's choice between them is
		// its own); the other is not, and will not be copied later either.
		const mirrored = readdirSync(mirror).filter((f) => !f.startsWith("."));
		expect(mirrored).toHaveLength(1);
		snapshotId = mirrored[0]!;
		const files = readdirSync(path.join(mirror, snapshotId)).filter((f) => !f.startsWith("."));
		expect(files).toContain("manifest.json.age");
		expect(files).toContain("SHA256SUMS");
		expect(files.filter((f) => f.endsWith(".ndjson.gz.age")).length).toBeGreaterThan(0);
		expect(readdirSync(mirror).filter((f) => f.startsWith("."))).toEqual([]); // no staging left
		// Standard tools: every stored byte checks with sha256sum, without the key.
		expect(execFileSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: path.join(mirror, snapshotId), encoding: "utf8" })).toMatch(/OK/);

		const second = admin(["pull", mirror, "--recipient", TEST_AGE_RECIPIENT]);
		expect(second.code).toBe(0);
		expect(second.out).toMatch(/^Le miroir est à jour/m);
		expect(second.out).not.toMatch(/supprimé/);
	});

	it("verify-local checks sums without the key, everything with it, and catches a flipped byte (exit 5)", () => {
		const sumsOnly = admin(["verify-local", mirror]);
		expect(sumsOnly.code).toBe(0);
		expect(sumsOnly.out).toContain("sommes SHA-256 conformes");
		const full = admin(["verify-local", mirror, "--identity", keyFile]);
		expect(full.code).toBe(0);
		expect(full.out).toMatch(new RegExp(`^OK +${snapshotId} +\\d+ lignes relues, empreinte du contenu conforme$`, "m"));

		const chunk = readdirSync(path.join(mirror, snapshotId)).find((f) => f.endsWith(".ndjson.gz.age"))!;
		const file = path.join(mirror, snapshotId, chunk);
		const original = readFileSync(file);
		const damaged = Buffer.from(original);
		damaged[damaged.length - 5]! ^= 0x01;
		writeFileSync(file, damaged);
		try {
			const caught = admin(["verify-local", mirror, "--identity", keyFile]);
			expect(caught.code).toBe(5);
			expect(caught.out).toMatch(new RegExp(`^PROBLÈME +${snapshotId} .*${chunk}`, "m"));
		} finally {
			writeFileSync(file, original);
		}
	});

	it("says what failed with distinct exit codes: authentication 4, network 3", () => {
		expect(admin(["pull", mirror], { token: "wrong-token-wrong-token-wrong" }).code).toBe(4);
		const down = admin(["pull", mirror], { url: "http://127.0.0.1:9" });
		expect(down.code).toBe(3);
		expect(down.err).toContain("ne répond pas");
	});

	it("recovery drill: a new, empty deployment, push, restore replace -> the same content as the source", async () => {
		const source = await api<Manifest>(inject("baseUrl"), BROWSER_TEST_ADMIN_TOKEN, `/api/admin/snapshots/${snapshotId}/manifest`);
		const asFresh = { url: fresh.url, token: FRESH_TOKEN };
		expect((await api<{ snapshots: unknown[] }>(fresh.url, FRESH_TOKEN, "/api/admin/snapshots")).snapshots).toEqual([]);

		const encryptedWithoutKey = admin(["push", path.join(mirror, snapshotId)], asFresh);
		expect(encryptedWithoutKey.code).toBe(1);
		expect(encryptedWithoutKey.err).toContain("--identity");

		const pushed = admin(["push", path.join(mirror, snapshotId), "--identity", keyFile], asFresh);
		expect(pushed.err).not.toMatch(/Erreur/);
		expect(pushed.code).toBe(0);
		expect(pushed.out).toContain(`npm run admin -- restore ${snapshotId}`);
		// The server's import job was followed to its end: every part read back before the commit.
		expect(pushed.err).toMatch(/\] (\d+)\/\1 parties vérifiées par le serveur/);
		// Listed, signed by the new deployment, verifiable.
		const listed = await api<{ snapshots: Array<{ id: string; verified: boolean; signature: string }> }>(fresh.url, FRESH_TOKEN, "/api/admin/snapshots");
		expect(listed.snapshots).toEqual([expect.objectContaining({ id: snapshotId, verified: true, signature: "valid" })]);
		expect(admin(["verify", snapshotId], asFresh).code).toBe(0);
		// Pushing it again is refused: a committed snapshot is never overwritten.
		expect(admin(["push", path.join(mirror, snapshotId), "--identity", keyFile], asFresh).code).not.toBe(0);

		const restored = admin(["restore", snapshotId, "--mode", "replace", "--yes"], asFresh);
		expect(restored.code).toBe(0);
		// A backup of the new deployment now holds the source's data: same per-table digests.
		const after = admin(["backup"], asFresh);
		expect(after.code).toBe(0);
		const newId = /\(référence (\S+)\)/.exec(after.out)![1]!;
		const copy = await api<Manifest>(fresh.url, FRESH_TOKEN, `/api/admin/snapshots/${newId}/manifest`);
		for (const t of ["roles", "submissions", "counters", "erasures", "erased_submissions"]) {
			expect(copy.tables[t], t).toMatchObject({ rows: source.tables[t]!.rows, digest: source.tables[t]!.digest });
		}
	});
});
