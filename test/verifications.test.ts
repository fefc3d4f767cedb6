// On-demand verification of one snapshot (dashboard "Vérifier"): POST starts a VerifyWorkflow
// limited to that snapshot, GET follows it. Real local D1, R2 and Workflows.
import { introspectWorkflow } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { writeSnapshot, clearSnapshots } from "./helpers/snapshot";

const ADMIN = { Authorization: "Bearer test-admin-token-0123456789abcdef" };
const BASE = "http://example.com";

beforeEach(async () => {
	await clearSnapshots(env.R2_BUCKET);
	await env.DB.batch([env.DB.prepare("DELETE FROM verification_runs"), env.DB.prepare("DELETE FROM snapshot_checks")]);
});

async function snapshot() {
	const rows = Array.from({ length: 120 }, (_, i) => ({ seq: i + 1, id: `s${i + 1}`, answers: `{"cafe":"Café ${i}"}` }));
	return writeSnapshot(env.R2_BUCKET, { time: new Date("2026-11-24T02:00:00Z"), tables: { submissions: { rows, bound: 120 } } });
}

/** Start a check through the API and wait for its Workflow to end; returns the final status body. */
async function verifyThroughApi(snapshotId: string) {
	await using introspector = await introspectWorkflow(env.VERIFY_WORKFLOW);
	await introspector.modifyAll(async (m) => m.disableRetryDelays());
	const res = await exports.default.fetch(`${BASE}/api/admin/snapshots/${snapshotId}/verify`, { method: "POST", headers: ADMIN });
	expect(res.status).toBe(202);
	const started = (await res.json()) as { id: string; statusUrl: string };
	expect(started.statusUrl).toBe(`/api/admin/verifications/${started.id}`);
	const [instance] = await introspector.get();
	await instance!.waitForStatus("complete");
	const status = await exports.default.fetch(`${BASE}${started.statusUrl}`, { headers: ADMIN });
	expect(status.status).toBe(200);
	return (await status.json()) as { status: string; chunksChecked: number; snapshotsChecked: number; details: { corrupt: { snapshotId: string; chunk: string | null; reason: string }[] } };
}

describe("POST /api/admin/snapshots/:id/verify", () => {
	it("re-reads every chunk of that snapshot and reports it intact", async () => {
		const m = await snapshot();
		const result = await verifyThroughApi(m.snapshotId);
		expect(result).toMatchObject({ status: "ok", snapshotsChecked: 1, chunksChecked: m.chunks.length });
		expect(m.chunks.length).toBeGreaterThan(1);
		// An on-demand check is not the weekly verification shown in status.
		const status = (await (await exports.default.fetch(`${BASE}/api/admin/status`, { headers: ADMIN })).json()) as { verification: unknown };
		expect(status.verification).toBeNull();
	});

	it("names the damaged chunk when a stored byte changed", async () => {
		const m = await snapshot();
		const victim = m.chunks[1]!;
		const bytes = new Uint8Array(await (await env.R2_BUCKET.get(victim.key))!.arrayBuffer());
		bytes[10] = bytes[10]! ^ 0x01;
		await env.R2_BUCKET.put(victim.key, bytes);
		const result = await verifyThroughApi(m.snapshotId);
		expect(result.status).toBe("failed");
		expect(result.details.corrupt).toEqual([expect.objectContaining({ snapshotId: m.snapshotId, chunk: victim.key })]);
	});

	it("refuses bad ids, unknown snapshots and unknown runs, and requires the token", async () => {
		const post = (id: string, headers: Record<string, string> = ADMIN) =>
			exports.default.fetch(`${BASE}/api/admin/snapshots/${id}/verify`, { method: "POST", headers });
		expect((await post("2026-11-24T020000Z-abc", {})).status).toBe(401);
		const bad = await post("not-a-snapshot");
		expect(bad.status).toBe(400);
		expect(await bad.json()).toMatchObject({ error: { code: "invalid_id", fields: { id: expect.any(String) } } });
		expect((await post("2026-11-24T020000Z-nosuch")).status).toBe(404);
		const unknownRun = await exports.default.fetch(`${BASE}/api/admin/verifications/verify-manual-20261124T020000Z-abcdef`, { headers: ADMIN });
		expect(unknownRun.status).toBe(404);
		expect((await exports.default.fetch(`${BASE}/api/admin/verifications/nope`, { headers: ADMIN })).status).toBe(400);
		const { results } = await env.DB.prepare("SELECT id FROM verification_runs").all();
		expect(results).toEqual([]);
	});
});
