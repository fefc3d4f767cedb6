// POST /api/admin/erasures through the real app: by e-mail (case-insensitive) and by id; the
// erasure entry holds ids and a salted hash only; counters stay equal to the rows; bad input.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { hashEmail } from "../src/questionnaire/erasure";
import { api, count, expectedCounters, liveDigests, seed, storedCounters, wipe } from "./helpers/restore-snapshot";

const db = env.DB;

beforeEach(async () => {
	await wipe(db);
	await seed(db, [
		{ id: "a1", role: "gerant", day: "2026-11-10", email: " Alice@Example.ORG " },
		{ id: "a2", role: "barista", day: "2026-11-11", email: "alice@example.org" },
		{ id: "b1", role: "gerant", day: "2026-11-10", email: "bob@example.org" },
		{ id: "n1", role: "gerant", day: "2026-11-12" },
	]);
});

type Erasure = { id: string; requested_at: string; submission_ids: string; email_hash: string | null; email_salt: string | null };

describe("POST /api/admin/erasures", () => {
	it("by e-mail deletes every matching submission, case-insensitively, and records only ids and a salted hash", async () => {
		const res = await api("/api/admin/erasures", { method: "POST", json: { email: "ALICE@example.org" } });
		expect(res.status).toBe(201);
		const body = await res.json<{ id: string; erasedSubmissions: string[] }>();
		expect(body.erasedSubmissions.sort()).toEqual(["a1", "a2"]);
		const ids = (await db.prepare(`SELECT id FROM submissions ORDER BY id`).all<{ id: string }>()).results.map((r) => r.id);
		expect(ids).toEqual(["b1", "n1"]);
		const e = (await db.prepare(`SELECT * FROM erasures`).all<Erasure>()).results;
		expect(e).toHaveLength(1);
		expect(JSON.parse(e[0]!.submission_ids).sort()).toEqual(["a1", "a2"]);
		expect(e[0]!.email_salt).toMatch(/^[0-9a-f]{32}$/);
		expect(e[0]!.email_hash).toBe(hashEmail("alice@example.org", e[0]!.email_salt!));
		expect(JSON.stringify(e).toLowerCase()).not.toContain("alice");
		expect(await count(db, `SELECT COUNT(*) AS n FROM erased_submissions WHERE erasure_id = ?1`, body.id)).toBe(2);
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));
		// barista's only use is gone: its counter and role go too (test/erasure-roles.test.ts).
		expect(await db.prepare(`SELECT value FROM counters WHERE name = 'role:barista'`).first("value")).toBeNull();
		expect(await count(db, `SELECT COUNT(*) AS n FROM roles WHERE role_key = 'barista'`)).toBe(0);
		const audit = await db.prepare(`SELECT detail FROM audit_log WHERE action = 'erasure'`).first<{ detail: string }>();
		expect(audit!.detail).not.toContain("alice");
	});

	it("by submission id deletes that one; two requests for the same address get unlinkable hashes", async () => {
		expect((await api("/api/admin/erasures", { method: "POST", json: { submissionId: "b1" } })).status).toBe(201);
		expect(await count(db, `SELECT COUNT(*) AS n FROM submissions WHERE id = 'b1'`)).toBe(0);
		expect(await db.prepare(`SELECT email_hash FROM erasures`).first("email_hash")).toBeNull();
		expect(await storedCounters(db)).toEqual(await expectedCounters(db));

		await seed(db, [{ id: "a3", role: "gerant", day: "2026-11-12", email: "alice@example.org" }]);
		await api("/api/admin/erasures", { method: "POST", json: { email: "alice@example.org" } });
		await seed(db, [{ id: "a4", role: "gerant", day: "2026-11-12", email: "alice@example.org" }]);
		await api("/api/admin/erasures", { method: "POST", json: { email: "alice@example.org" } });
		const hashes = (await db.prepare(`SELECT email_hash FROM erasures WHERE email_hash IS NOT NULL`).all<{ email_hash: string }>()).results;
		expect(hashes).toHaveLength(2);
		expect(hashes[0]!.email_hash).not.toBe(hashes[1]!.email_hash);
	});

	it("404 and nothing recorded when nothing matches (empty case)", async () => {
		const before = await liveDigests(db);
		for (const json of [{ email: "nobody@example.org" }, { submissionId: "zzz" }]) {
			const res = await api("/api/admin/erasures", { method: "POST", json });
			expect(res.status).toBe(404);
			expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
		}
		expect(await liveDigests(db)).toEqual(before);
		expect(await count(db, `SELECT COUNT(*) AS n FROM audit_log`)).toBe(0);
	});

	const bad: [string, unknown, string][] = [
		["both fields", { email: "a@b.org", submissionId: "a1" }, "email"],
		["no field", {}, "submissionId"],
		["an invalid e-mail", { email: "not-an-address" }, "email"],
		["an empty id", { submissionId: "  " }, "submissionId"],
		["an unknown field", { submissionId: "a1", reason: "x" }, "reason"],
	];
	for (const [name, json, field] of bad) {
		it(`400 on ${name}, nothing changed`, async () => {
			const before = await liveDigests(db);
			const res = await api("/api/admin/erasures", { method: "POST", json });
			expect(res.status).toBe(400);
			const body = await res.json<{ error: { code: string; fields: Record<string, string> } }>();
			expect(body.error.code).toBe("invalid_request");
			expect(body.error.fields[field]).toBeTruthy();
			expect(await liveDigests(db)).toEqual(before);
		});
	}

	it("400 on invalid JSON and 401 without the token, nothing changed", async () => {
		const before = await liveDigests(db);
		const res = await api("/api/admin/erasures", { method: "POST", body: "{nope", headers: { "Content-Type": "application/json" } });
		expect(res.status).toBe(400);
		const anon = await api("/api/admin/erasures", { method: "POST", json: { submissionId: "a1" }, headers: { Authorization: "" } });
		expect(anon.status).toBe(401);
		expect(await liveDigests(db)).toEqual(before);
	});
});
