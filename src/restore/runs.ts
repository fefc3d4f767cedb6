// Restore runs as a whole: write-mode restores (merge, replace) and undo run one at a time, and a
// run whose Workflow died without recording its outcome must not block every later one.
import { fetchActiveWriteRun, markRestoreRunFailed } from "../db/restore-runs";

/** A run this young is trusted even when its Workflow instance is not visible yet. */
const TRUST_MS = 3600_000;

/**
 * The id of the write-mode restore still running, or null. A run older than an hour whose
 * Workflow instance errored, was terminated or does not exist is marked failed here (and null is
 * returned), so it cannot block every later restore. `now` is the caller's time (the request).
 */
export async function findActiveWrite(env: Pick<Env, "DB" | "RESTORE_WORKFLOW">, now: Date): Promise<string | null> {
	const row = await fetchActiveWriteRun(env.DB);
	if (!row) return null;
	// A run younger than an hour is trusted (its instance may not even be created yet).
	if (now.getTime() - Date.parse(row.requested_at) < TRUST_MS) return row.id;
	let dead: string | null = null;
	try {
		const { status } = await (await env.RESTORE_WORKFLOW.get(row.id)).status();
		if (status === "errored" || status === "terminated") dead = `workflow ${status}`;
	} catch {
		dead = "workflow instance missing";
	}
	if (!dead) return row.id;
	await markRestoreRunFailed(env.DB, row.id, dead, now.toISOString());
	return null;
}
