// The pins API through the real app, on local D1/R2: listing, one pin, release (logged in
// audit_log, mirrored in R2), authentication, bad input in the error envelope, and pins that
// survive the loss of their D1 row.
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { runRetention } from "../src/retention/job";
import { clearPinMirror, clearSnapshots, writeCountSnapshot } from "./helpers/snapshot";
import type { Manifest } from "../src/snapshots/format";

const TOKEN = "test-admin-token-0123456789abcdef";
const NOW = new Date("2026-11-25T03:00:00Z");

type PinBody = {
	id: string;
	active: boolean;
	releasedAt: string | null;
	snapshotIds: string[];
	reason: string;
	message: { fr: string; en: string };
	tables: Array<{ table: string; lost: number }>;
};
type ErrorBody = { error: { code: string; message: string; fields?: Record<string, string> } };

function call(path: string, init: { method?: string; body?: string; token?: string | null } = {}) {
	const token = init.token === undefined ? TOKEN : init.token;
	return exports.default.fetch(`http://example.com${path}`, {
		method: init.method ?? "GET",
		headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(init.body !== undefined ? { "Content-Type": "application/json" } : {}) },
		body: init.body,
	});
}

/** Six daily snapshots (11-20 … 11-25): 100 answers, then 70 in the newest. Retention pins the five. */
async function lossAndPin(): Promise<{ written: Manifest[]; pinId: string }> {
	const written: Manifest[] = [];
	for (let d = 20; d <= 25; d++) written.push(await writeCountSnapshot(env.R2_BUCKET, new Date(`2026-11-${d}T02:00:00Z`), d === 25 ? 70 : 100));
	const s = await runRetention(env, { now: NOW, backupStatus: "complete", dryRun: false });
	expect(s.newPin).not.toBeNull();
	return { written, pinId: s.newPin!.id };
}

async function auditLines(action: string): Promise<Array<Record<string, unknown>>> {
	const { results } = await env.DB.prepare("SELECT detail FROM audit_log WHERE action = ? ORDER BY seq").bind(action).all<{ detail: string }>();
	return results.map((r) => JSON.parse(r.detail) as Record<string, unknown>);
}

beforeEach(async () => {
	await clearSnapshots(env.R2_BUCKET);
	await clearPinMirror(env.R2_BUCKET);
	await env.DB.batch(["retention_pins", "audit_log", "erased_submissions"].map((t) => env.DB.prepare(`DELETE FROM ${t}`)));
});

describe("GET /api/admin/pins", () => {
	it("requires the administrator token", async () => {
		for (const token of [null, "wrong-token-wrong-token-wrong"]) {
			const res = await call("/api/admin/pins", { token });
			expect(res.status).toBe(401);
			expect(((await res.json()) as ErrorBody).error.code).toBe("unauthorized");
		}
		expect((await call("/api/admin/pins/pin-2026-11-25T020000Z-abc", { token: null })).status).toBe(401);
	});

	it("empty: no pin", async () => {
		const res = await call("/api/admin/pins");
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({ pins: [] });
	});

	it("lists a pin with its snapshots and its reason in plain French and English", async () => {
		const { written, pinId } = await lossAndPin();
		const body = (await (await call("/api/admin/pins")).json()) as { pins: PinBody[] };
		expect(body.pins).toHaveLength(1);
		const pin = body.pins[0]!;
		expect(pin).toMatchObject({ id: pinId, active: true, releasedAt: null, tables: [{ table: "submissions", lost: 30 }] });
		expect(pin.snapshotIds).toEqual(written.slice(0, 5).map((m) => m.snapshotId));
		expect(pin.message.fr).toBe(
			"Des données ont disparu : la sauvegarde du 24/11/2026 à 02:00 UTC contenait 100 réponses, celle du 25/11/2026 à 02:00 UTC en contient 70 : " +
				"30 réponses ont disparu sans demande d'effacement. Les 5 sauvegardes d'avant la baisse sont conservées jusqu'à ce qu'un administrateur les libère.",
		);
		expect(pin.message.en).toMatch(/^Data has disappeared: .* 30 answers have disappeared without an erasure request\. The 5 backups from before the drop are kept until an administrator releases them\.$/);
		expect(pin.reason).toMatch(/^data loss seen in \S+: submissions 100 → 70 \(30 missing\)$/);

		expect(((await (await call("/api/admin/pins?status=active")).json()) as { pins: PinBody[] }).pins).toHaveLength(1);
		expect(((await (await call("/api/admin/pins?status=released")).json()) as { pins: PinBody[] }).pins).toEqual([]);
		const one = await call(`/api/admin/pins/${pinId}`);
		expect(one.status).toBe(200);
		expect(((await one.json()) as PinBody).id).toBe(pinId);
	});

	it.each([
		["?status=old", "invalid_query", "status", "must be active, released or all"],
		["?stat=active", "invalid_query", "stat", "unknown parameter"],
	])("bad query %s → 400 %s naming %s", async (query, code, field, why) => {
		const res = await call(`/api/admin/pins${query}`);
		expect(res.status).toBe(400);
		const body = (await res.json()) as ErrorBody;
		expect(body.error.code).toBe(code);
		expect(body.error.fields).toEqual({ [field]: why });
	});

	it("bad or unknown pin id: 400 / 404 in the envelope", async () => {
		const bad = await call("/api/admin/pins/not-a-pin");
		expect(bad.status).toBe(400);
		expect((await bad.json()) as ErrorBody).toEqual({
			error: { code: "invalid_id", message: "Not a pin id.", fields: { id: "expected pin-YYYY-MM-DDTHHMMSSZ-xxxx" } },
		});
		const missing = await call("/api/admin/pins/pin-2026-11-25T020000Z-nothere");
		expect(missing.status).toBe(404);
		expect(((await missing.json()) as ErrorBody).error.code).toBe("not_found");
	});
});

describe("POST /api/admin/pins/:id/release", () => {
	it("releases, logs it in audit_log, updates the mirror, and lets the normal policy apply again", async () => {
		const { written, pinId } = await lossAndPin();
		const oneDay = { keepDaily: 1, keepWeekly: 0, keepMonthly: 0 };
		const before = await runRetention(env, { now: NOW, backupStatus: "complete", dryRun: true, policy: oneDay });
		expect(before.snapshots.filter((d) => d.reasons.some((r) => r.startsWith("pinned: ")))).toHaveLength(5);
		expect(before.removed).toBe(0);

		const res = await call(`/api/admin/pins/${pinId}/release`, { method: "POST" });
		expect(res.status).toBe(200);
		const pin = (await res.json()) as PinBody;
		expect(pin).toMatchObject({ id: pinId, active: false });
		expect(pin.releasedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
		expect(pin.message.fr).toMatch(/Épinglage libéré le .* : les 5 sauvegardes d'avant la baisse suivent de nouveau la politique de conservation normale\.$/);

		expect(await auditLines("retention_pin_released")).toEqual([{ pinId, snapshots: 5, by: "admin" }]);
		const mirrored = JSON.parse(await (await env.R2_BUCKET.get(`retention-pins/${pinId}.json`))!.text()) as PinBody;
		expect(mirrored.releasedAt).toBe(pin.releasedAt);

		// Normal retention again: the 5 older snapshots are outside the one daily slot (25 % cap: 1 of 6 goes).
		const after = await runRetention(env, { now: NOW, backupStatus: "complete", dryRun: true, policy: oneDay });
		expect(after.snapshots.some((d) => d.reasons.some((r) => r.startsWith("pinned: ")))).toBe(false);
		expect(after.pins).toEqual([]);
		expect(after.newPin).toBeNull(); // the released pin is the baseline: the same drop is not pinned again
		expect(after.removed).toBe(1);
		expect(after.snapshots.find((d) => !d.keep)!.id).toBe(written[0]!.snapshotId);

		// Releasing twice: 409, and still one audit line.
		const again = await call(`/api/admin/pins/${pinId}/release`, { method: "POST", body: "{}" });
		expect(again.status).toBe(409);
		expect(((await again.json()) as ErrorBody).error.code).toBe("already_released");
		expect(await auditLines("retention_pin_released")).toHaveLength(1);
	});

	it("refuses without a token, with a bad id, an unknown pin, a field or bad JSON; nothing is released", async () => {
		const { pinId } = await lossAndPin();
		const cases: Array<[Parameters<typeof call>[1] & { path: string }, number, string, Record<string, string> | undefined]> = [
			[{ path: `/api/admin/pins/${pinId}/release`, token: null }, 401, "unauthorized", undefined],
			[{ path: "/api/admin/pins/pin-nope/release" }, 400, "invalid_id", { id: "expected pin-YYYY-MM-DDTHHMMSSZ-xxxx" }],
			[{ path: "/api/admin/pins/pin-2026-11-25T020000Z-nothere/release" }, 404, "not_found", undefined],
			[{ path: `/api/admin/pins/${pinId}/release`, body: '{"note":"ok"}' }, 400, "invalid_request", { note: "unknown field" }],
			[{ path: `/api/admin/pins/${pinId}/release`, body: "{not json" }, 400, "invalid_json", undefined],
		];
		for (const [req, status, code, fields] of cases) {
			const res = await call(req.path, { method: "POST", body: req.body, token: req.token });
			expect(res.status, req.path).toBe(status);
			const body = (await res.json()) as ErrorBody;
			expect(body.error.code).toBe(code);
			expect(body.error.fields).toEqual(fields);
			expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/); // never a stack trace
		}
		expect(((await (await call(`/api/admin/pins/${pinId}`)).json()) as PinBody).active).toBe(true);
		expect(await auditLines("retention_pin_released")).toEqual([]);
		expect(await auditLines("retention_pin_created")).toHaveLength(1);
	});
});

describe("pins outlive their D1 row (R2 mirror)", () => {
	it("a pin lost from D1 still holds, is listed, is written back into D1, and can be released", async () => {
		const { pinId } = await lossAndPin();
		await env.DB.prepare("DELETE FROM retention_pins").run();

		const listed = (await (await call("/api/admin/pins")).json()) as { pins: PinBody[] };
		expect(listed.pins.map((p) => [p.id, p.active])).toEqual([[pinId, true]]);

		const run = await runRetention(env, { now: NOW, backupStatus: "complete", dryRun: false, policy: { keepDaily: 1, keepWeekly: 0, keepMonthly: 0 } });
		expect(run.removed).toBe(0);
		expect(run.snapshots.filter((d) => d.reasons.some((r) => r.startsWith("pinned: ")))).toHaveLength(5);
		expect((await env.DB.prepare("SELECT id FROM retention_pins").all<{ id: string }>()).results).toEqual([{ id: pinId }]);

		await env.DB.prepare("DELETE FROM retention_pins").run();
		const res = await call(`/api/admin/pins/${pinId}/release`, { method: "POST" });
		expect(res.status).toBe(200);
		expect((await env.DB.prepare("SELECT released_at FROM retention_pins WHERE id = ?").bind(pinId).first<{ released_at: string }>())!.released_at).not.toBeNull();
	});
});
