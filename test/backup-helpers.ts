// Test helpers for the backup tests: reset local D1/R2, insert rows with direct SQL, run a
// BackupWorkflow instance to its end through the introspector, and decode a stored snapshot.
import { introspectWorkflowInstance } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type Manifest, type SnapshotRecord } from "../src/snapshots/format";
import { decodeChunk } from "../src/snapshots/codec";
import { readManifest } from "../src/snapshots/store";
import { exportedTables } from "../src/snapshots/tables";
import type { BackupParams } from "../src/jobs/backup-workflow";
import { r2SnapshotStore } from "../src/snapshots/r2-store";

export const ADMIN = { Authorization: "Bearer test-admin-token-0123456789abcdef" };

export async function resetStorage(): Promise<void> {
	await env.DB.batch([...exportedTables.map((t) => env.DB.prepare(`DELETE FROM ${t.name}`)), env.DB.prepare(`DELETE FROM data_locks`), env.DB.prepare(`DELETE FROM snapshot_catalogue`)]);
	for (let i = 0; i < 100; i++) {
		const page = await env.R2_BUCKET.list();
		if (page.objects.length === 0) break;
		await env.R2_BUCKET.delete(page.objects.map((o) => o.key));
	}
}

/** A realistic answers JSON of about `size` bytes. */
export function buildAnswers(i: number, size = 550): string {
	const base = { cafe: `Café n°${i} — Élan`, ville: "Besançon", note: (i % 5) + 1, commentaire: "" };
	const pad = size - JSON.stringify(base).length;
	base.commentaire = "Très bon accueil, service rapide ".repeat(20).slice(0, Math.max(0, pad));
	return JSON.stringify(base);
}

export async function insertSubmissions(n: number, from = 1): Promise<void> {
	const stmt = env.DB.prepare(
		`INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation)
		 VALUES (?, ?, '1', ?, ?, '{}')`,
	);
	for (let start = from; start < from + n; start += 200) {
		const batch = [];
		for (let i = start; i < Math.min(from + n, start + 200); i++) {
			const at = new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString();
			batch.push(stmt.bind(`sub-${String(i).padStart(7, "0")}`, at, i % 3 ? "formateur" : "barista", buildAnswers(i)));
		}
		await env.DB.batch(batch);
	}
}

export async function insertMetadata(): Promise<void> {
	await env.DB.batch([
		env.DB.prepare("INSERT INTO roles (role_key, label, created_at, use_count) VALUES ('formateur', 'Formateur', '2026-11-01T00:00:00Z', 2)"),
		env.DB.prepare("INSERT INTO roles (role_key, label, created_at, use_count) VALUES ('barista', 'Barista ☕', '2026-11-01T00:00:00Z', 1)"),
		env.DB.prepare("INSERT INTO counters (name, value, updated_at) VALUES ('total', 3, '2026-11-01T00:00:00Z')"),
		env.DB.prepare("INSERT INTO counters (name, value, updated_at) VALUES ('role:barista', 1, '2026-11-01T00:00:00Z')"),
		env.DB.prepare("INSERT INTO audit_log (at, action, detail) VALUES ('2026-11-01T00:00:00Z', 'test', NULL)"),
		env.DB.prepare("INSERT INTO erasures (id, requested_at, submission_ids, email_hash, email_salt) VALUES ('er-1', '2026-11-01T00:00:00Z', '[]', NULL, NULL)"),
		env.DB.prepare("INSERT INTO erased_submissions (submission_id, erasure_id, erased_at) VALUES ('sub-x', 'er-1', '2026-11-01T00:00:00Z')"),
	]);
}

/** Run one BackupWorkflow instance with retry delays disabled and wait for its end. */
export async function runBackup(
	id: string,
	params: BackupParams,
	modify?: (m: Parameters<Parameters<Awaited<ReturnType<typeof introspectWorkflowInstance>>["modify"]>[0]>[0]) => Promise<void>,
	expectStatus: "complete" | "errored" = "complete",
): Promise<void> {
	const instance = await introspectWorkflowInstance(env.BACKUP_WORKFLOW, id);
	try {
		await instance.modify(async (m) => {
			await m.disableRetryDelays();
			if (modify) await modify(m);
		});
		await env.BACKUP_WORKFLOW.create({ id, params });
		await instance.waitForStatus(expectStatus);
	} finally {
		await instance.dispose();
	}
}

export async function fetchRunRow(id: string) {
	return env.DB.prepare("SELECT * FROM backup_runs WHERE id = ?").bind(id).first<Record<string, unknown>>();
}

/** The manifest and every record of a snapshot, read straight from R2. */
export async function decodeSnapshot(snapshotId: string): Promise<{ manifest: Manifest; records: SnapshotRecord[] }> {
	const read = await readManifest(r2SnapshotStore(env.R2_BUCKET), snapshotId);
	if (!read.ok) throw new Error(read.message);
	const records: SnapshotRecord[] = [];
	for (const c of read.manifest.chunks) {
		const obj = await env.R2_BUCKET.get(c.key);
		if (!obj) throw new Error(`missing ${c.key}`);
		records.push(...(await decodeChunk(new Uint8Array(await obj.arrayBuffer()))));
	}
	return { manifest: read.manifest, records };
}

export async function snapshotIdOfRun(runId: string): Promise<string> {
	const row = await fetchRunRow(runId);
	if (!row?.snapshot_id) throw new Error(`run ${runId} has no snapshot`);
	return String(row.snapshot_id);
}

export async function sha256HexOf(bytes: ArrayBuffer | Uint8Array): Promise<string> {
	const d = await crypto.subtle.digest("SHA-256", bytes);
	return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
