// The data lock: ONE discipline for everything that changes the questionnaire's data as a whole
// or reads it across several steps. A shared/exclusive lock kept in D1 (src/db/data-locks.ts):
//   shared    backup (reads under its consistency bound)
//   exclusive erasure (rewrites roles in place), merge, replace, undo, undo-cleanup (the
//             after-backup drop of the undo copy)
// Shared holders coexist; an exclusive holder excludes everyone. Dry runs, verification and the
// public form take no lock. Why each pair is so: docs/decisions.md ("The data lock").
import { fetchDataLocks, deleteStaleDataLock, insertDataLock, type DataLockRow, type LockMode } from "../db/data-locks";
import { logEvent } from "../log";

export const LOCK_KINDS = ["backup", "erasure", "merge", "replace", "undo", "undo-cleanup"] as const;
export type DataLockKind = (typeof LOCK_KINDS)[number];

export const LOCK_MODE: Record<DataLockKind, LockMode> = {
	backup: "shared",
	// An erasure deletes or relabels the respondent's roles in place (docs/erasure.md): a backup
	// that exported `roles` before it and `submissions` after would hold a state that never existed.
	erasure: "exclusive",
	merge: "exclusive",
	replace: "exclusive",
	undo: "exclusive",
	"undo-cleanup": "exclusive",
};

/** Pure: can a holder of mode `a` and one of mode `b` hold the lock at the same time? */
export function lockConflicts(a: LockMode, b: LockMode): boolean {
	return a === "exclusive" || b === "exclusive";
}

/**
 * How long Workflows wait for the lock (step.sleep between attempts, never a silent give-up):
 * a backup waits up to an hour for a restore or an undo, then fails with a notice; a merge or
 * replace waits up to 30 minutes for a backup or an erasure, then is refused, nothing written.
 */
export const LOCK_WAIT = {
	backup: { every: "5 minutes", attempts: 13 },
	restore: { every: "1 minute", attempts: 31 },
} as const;

/** Kinds held by a Workflow instance whose id is the holder: alive while the instance is. */
const HELD_BY_INSTANCE: Partial<Record<string, "BACKUP_WORKFLOW" | "RESTORE_WORKFLOW">> = {
	backup: "BACKUP_WORKFLOW",
	merge: "RESTORE_WORKFLOW",
	replace: "RESTORE_WORKFLOW",
};

/**
 * A Workflow-held lock is trusted this long without looking at its instance (which may still be
 * starting; and a lookup per attempt would cost a Workflows API call on every busy wait).
 */
export const LOCK_GRACE_MS = 2 * 60_000;
/**
 * Locks held by a request (erasure, undo) or inside one step (undo-cleanup) are released by that
 * request or step; if it died first, the lock is stale after this long (they take seconds).
 */
export const SHORT_LOCK_TTL_MS = 10 * 60_000;

/** Workflow statuses after which an instance can no longer release anything. */
const ENDED = new Set(["complete", "errored", "terminated"]);

function ageOf(lock: DataLockRow, now: number): number {
	return now - Date.parse(lock.acquiredAt);
}

/** Is the holder's Workflow status needed to judge the lock? (Only for Workflow-held locks past the grace.) */
function needsInstanceStatus(lock: DataLockRow, now: number): boolean {
	return HELD_BY_INSTANCE[lock.kind] !== undefined && ageOf(lock, now) > LOCK_GRACE_MS;
}

/**
 * Pure: why a lock is stale (its holder can no longer release it), or null while the holder may
 * be alive. A Workflow-held lock is trusted during LOCK_GRACE_MS, then judged by `instance`, the
 * status of the holder's instance ("missing" when there is none): an instance that has ended (or
 * vanished) releases nothing, however young its lock; a live one keeps it, however old.
 * A request-held lock is stale after SHORT_LOCK_TTL_MS.
 */
export function findStaleReason(lock: DataLockRow, instance: string, now: number): string | null {
	const age = ageOf(lock, now);
	if (Number.isNaN(age)) return "unreadable acquisition time";
	if (HELD_BY_INSTANCE[lock.kind]) {
		if (age <= LOCK_GRACE_MS) return null;
		if (ENDED.has(instance)) return `workflow ${instance}`;
		return instance === "missing" ? "workflow instance missing" : null;
	}
	return age > SHORT_LOCK_TTL_MS ? `held for over ${SHORT_LOCK_TTL_MS / 60_000} minutes by a request or step that has ended` : null;
}

async function fetchInstanceStatus(env: Env, lock: DataLockRow, now: number): Promise<string> {
	const binding = HELD_BY_INSTANCE[lock.kind];
	if (!binding || !needsInstanceStatus(lock, now)) return "unchecked";
	try {
		// A backup too long for one instance hands over to chained instances of the same run
		// (`<runId>-part2`…, output { status: "continued", next }): the run is alive while the
		// last instance of its chain is (a bounded walk: a chain has few links).
		let id = lock.holder;
		for (let link = 0; link < 64; link++) {
			const s = await (await env[binding].get(id)).status();
			const output = s.output as { status?: unknown; next?: unknown } | undefined;
			if (s.status === "complete" && output?.status === "continued" && typeof output.next === "string") {
				id = output.next;
				continue;
			}
			return s.status;
		}
		return "unchecked";
	} catch {
		return "missing";
	}
}

/** The live holder that keeps a caller out: what to tell an administrator. */
export type LockBlocker = { holder: string; kind: string; since: string };
export type LockOutcome = { ok: true } | { ok: false; blocker: LockBlocker };

/**
 * The first live lock that conflicts with `wanted` (another holder), or null. Stale conflicting
 * locks found on the way are removed (and logged), so a dead instance never blocks for ever.
 */
export async function findDataLockBlocker(env: Env, wanted: { holder?: string; kind: DataLockKind }, now: Date): Promise<LockBlocker | null> {
	const mode = LOCK_MODE[wanted.kind];
	for (const lock of await fetchDataLocks(env.DB)) {
		if (lock.holder === wanted.holder || !lockConflicts(mode, lock.mode)) continue;
		const stale = findStaleReason(lock, await fetchInstanceStatus(env, lock, now.getTime()), now.getTime());
		if (stale === null) return { holder: lock.holder, kind: lock.kind, since: lock.acquiredAt };
		if (await deleteStaleDataLock(env.DB, lock)) {
			logEvent("data_lock_recovered", { holder: lock.holder, kind: lock.kind, acquiredAt: lock.acquiredAt, reason: stale });
		}
	}
	return null;
}

/**
 * Take the lock for `holder` (idempotent for a holder that has it). On a conflict, stale locks
 * are recovered and the INSERT tried once more; otherwise the live blocker is returned.
 */
export async function acquireDataLock(env: Env, wanted: { holder: string; kind: DataLockKind }, now: Date): Promise<LockOutcome> {
	const row: DataLockRow = { holder: wanted.holder, kind: wanted.kind, mode: LOCK_MODE[wanted.kind], acquiredAt: now.toISOString() };
	for (let attempt = 0; attempt < 2; attempt++) {
		if (await insertDataLock(env.DB, row)) return { ok: true };
		const blocker = await findDataLockBlocker(env, wanted, now);
		if (blocker) return { ok: false, blocker };
	}
	// Another writer took it between the recovery and the second INSERT.
	const blocker = await findDataLockBlocker(env, wanted, now);
	return { ok: false, blocker: blocker ?? { holder: "unknown", kind: "unknown", since: now.toISOString() } };
}

const KIND_LABELS: Record<string, string> = {
	backup: "Backup",
	"undo-cleanup": "The clean-up after backup",
	merge: "Restore (merge)",
	replace: "Restore (replace)",
	undo: "An undo",
	erasure: "An erasure",
};

const KIND_CODES: Record<string, string> = {
	backup: "backup_in_progress",
	"undo-cleanup": "backup_in_progress",
	merge: "restore_in_progress",
	replace: "restore_in_progress",
	undo: "undo_in_progress",
	erasure: "erasure_in_progress",
};

/** Pure: the API error (409) for a blocked request: a code per kind and a plain message. */
export function describeBlocker(b: LockBlocker): { code: string; message: string } {
	const label = KIND_LABELS[b.kind] ?? "Another task";
	return {
		code: KIND_CODES[b.kind] ?? "data_locked",
		message: `${label} ${b.holder} is changing the data (since ${b.since}); repeat this request once it has finished.`,
	};
}
