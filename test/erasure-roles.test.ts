// Erasure and roles (issue 11.4): the words an erased respondent typed as a role leave every public
// surface (GET /api/roles, the form's suggestions) and the counters, through the real erasure API
// and the real local D1; a label they typed first is taken from a remaining use.
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { api, count, expectedCounters, runRestore, storedCounters, wipe } from "./helpers/restore-snapshot";
import { clearSnapshots, writeSnapshotOfDatabase } from "./helpers/snapshot";
import { postJson, validAnswers } from "./helpers/submissions";

const db = env.DB;
const PRIVATE = "Marie Dupont gérante du Café Privé";
const PRIVATE_KEY = "marie dupont gerante du cafe prive";

type ListedRole = { key: string; label: string; use_count: number; created_at: string; last_used_at: string | null };

beforeEach(async () => {
	await wipe(db);
	await clearSnapshots(env.R2_BUCKET);
});

/** Submit through the real form API; returns the new submission's id. */
async function submit(role: string, email?: string): Promise<string> {
	const res = await postJson({ answers: validAnswers({ role, ...(email ? { email } : {}) }) });
	expect(res.status, role).toBe(201);
	return (await res.json<{ id: string }>()).id;
}

async function erase(json: { email: string } | { submissionId: string }): Promise<void> {
	const res = await api("/api/admin/erasures", { method: "POST", json });
	expect(res.status).toBe(201);
}

/**
 * The typed roles in use, as stored (what the administrator's list shows, and the public once a
 * role is suggested): most used first.
 */
async function publicRoles(): Promise<ListedRole[]> {
	const { results } = await db
		.prepare(`SELECT role_key AS key, label, use_count, created_at, last_used_at FROM roles WHERE use_count > 0 ORDER BY use_count DESC, seq ASC`)
		.all<ListedRole>();
	return results;
}

/** Approve every stored role, so that each one is offered on the public surfaces (docs/page.md). */
async function approveAll(): Promise<void> {
	for (const r of await publicRoles()) {
		const res = await api(`/api/admin/roles/${encodeURIComponent(r.key)}`, { method: "PATCH", json: { approved: true } });
		expect(res.status, r.key).toBe(200);
	}
}

/** Everything the public sees about roles: the JSON list and the form page (its suggestions). */
async function publicText(): Promise<string> {
	const roles = await (await exports.default.fetch("http://example.com/api/roles")).text();
	const page = await exports.default.fetch("http://example.com/");
	expect(page.status).toBe(200);
	return roles + (await page.text());
}

async function counterNames(table = "counters"): Promise<string[]> {
	return (await db.prepare(`SELECT name FROM "${table}" ORDER BY name`).all<{ name: string }>()).results.map((r) => r.name);
}

describe("a role whose last use is erased", () => {
	it("disappears from GET /api/roles, the form's suggestions, the roles table and the counters", async () => {
		await submit("Formateur", "autre@example.org");
		const marie = await submit(PRIVATE, "marie@example.org");
		await approveAll();
		// Before: the respondent's words are public (this is what the erasure must undo).
		expect((await publicRoles()).map((r) => r.label)).toContain(PRIVATE);
		expect(await publicText()).toContain("Marie Dupont");
		expect(await counterNames()).toContain(`role:${PRIVATE_KEY}`);

		await erase({ email: "marie@example.org" });

		expect(await count(db, `SELECT COUNT(*) AS n FROM submissions WHERE id = ?1`, marie)).toBe(0);
		expect(await publicRoles()).toEqual([expect.objectContaining({ key: "formateur", label: "Formateur", use_count: 1 })]);
		const text = await publicText();
		expect(text).not.toContain("Marie");
		expect(text).not.toContain("Privé");
		expect(await count(db, `SELECT COUNT(*) AS n FROM roles WHERE role_key = ?1 OR label LIKE '%Marie%'`, PRIVATE_KEY)).toBe(0);
		expect((await counterNames()).filter((n) => n.includes("marie"))).toEqual([]);
		// The other counters still equal the rows.
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
	});

	it("erasing by submission id does the same, and leaves other roles untouched", async () => {
		await submit("Barista");
		const id = await submit(PRIVATE);
		const before = await db.prepare(`SELECT * FROM roles WHERE role_key = 'barista'`).first();
		await erase({ submissionId: id });
		expect((await publicRoles()).map((r) => r.key)).toEqual(["barista"]);
		expect(await db.prepare(`SELECT * FROM roles WHERE role_key = 'barista'`).first()).toEqual(before);
		expect(await counterNames()).not.toContain(`role:${PRIVATE_KEY}`);
	});
});

describe("a label first typed by an erased respondent", () => {
	it("is replaced by the spelling of the oldest remaining use, with that use's times", async () => {
		await submit("GÉRANTE Privée", "first@example.org");
		const second = await submit("gérante privée");
		await submit("Gerante PRIVEE");
		expect((await publicRoles())[0]).toMatchObject({ label: "GÉRANTE Privée", use_count: 3 });

		await erase({ email: "first@example.org" });

		const [role] = await publicRoles();
		expect(role).toMatchObject({ key: "gerante privee", label: "gérante privée", use_count: 2 });
		const times = await db
			.prepare(`SELECT MIN(received_at) AS first, MAX(received_at) AS last FROM submissions WHERE role_key = 'gerante privee'`)
			.first<{ first: string; last: string }>();
		expect(role!.created_at).toBe(times!.first);
		expect(role!.last_used_at).toBe(times!.last);
		expect(await count(db, `SELECT COUNT(*) AS n FROM submissions WHERE id = ?1`, second)).toBe(1);
		expect(await publicText()).not.toContain("GÉRANTE");
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
	});

	it("stays when a remaining respondent typed the very same spelling", async () => {
		await submit("Gérante", "first@example.org");
		await submit("gerante");
		await submit("Gérante");
		await erase({ email: "first@example.org" });
		expect(await publicRoles()).toEqual([expect.objectContaining({ label: "Gérante", use_count: 2 })]);
	});

	it("a label typed by someone who stays is never changed by another's erasure", async () => {
		await submit("Serveur");
		await submit("SERVEUR", "later@example.org");
		await erase({ email: "later@example.org" });
		expect(await publicRoles()).toEqual([expect.objectContaining({ label: "Serveur", use_count: 1 })]);
	});
});

describe("copies kept by a replace", () => {
	it("an undo after the erasure does not bring the role back", async () => {
		await submit("Formateur");
		await submit(PRIVATE, "marie@example.org");
		const m = await writeSnapshotOfDatabase(env.R2_BUCKET, db, new Date("2026-11-20T02:00:00Z"));
		expect((await runRestore(m.snapshotId, "replace")).status).toBe("complete");
		// The replaced data (Marie's row and role included) is kept for undo.
		expect(await count(db, `SELECT COUNT(*) AS n FROM restore_undo_roles WHERE role_key = ?1`, PRIVATE_KEY)).toBe(1);

		await erase({ email: "marie@example.org" });
		expect(await count(db, `SELECT COUNT(*) AS n FROM restore_undo_roles WHERE role_key = ?1`, PRIVATE_KEY)).toBe(0);
		expect((await counterNames("restore_undo_counters")).filter((n) => n.includes("marie"))).toEqual([]);

		expect((await api("/api/admin/restore/undo", { method: "POST" })).status).toBe(200);
		expect(await publicText()).not.toContain("Marie");
		expect(await count(db, `SELECT COUNT(*) AS n FROM roles WHERE role_key = ?1`, PRIVATE_KEY)).toBe(0);
		expect((await counterNames()).filter((n) => n.includes("marie"))).toEqual([]);
	});

	it("a merge of a snapshot taken before the erasure never lists the role again", async () => {
		await submit("Formateur");
		await submit(PRIVATE, "marie@example.org");
		const m = await writeSnapshotOfDatabase(env.R2_BUCKET, db, new Date("2026-11-20T02:00:00Z"));
		await erase({ email: "marie@example.org" });
		const run = await runRestore(m.snapshotId, "merge");
		expect(run.status).toBe("complete");
		expect(run.progress.rowsSkippedErased).toBe(1);
		expect(await publicText()).not.toContain("Marie");
		expect((await publicRoles()).map((r) => r.key)).toEqual(["formateur"]);
	});
});
