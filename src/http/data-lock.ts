// Route middleware that holds the data lock (src/jobs/data-lock.ts) for the whole request of an
// administrative write that is not a Workflow: an erasure (shared) or an undo (exclusive).
// A conflicting holder answers 409 with a code naming what runs (backup_in_progress…).
import type { MiddlewareHandler } from "hono";
import { deleteDataLock } from "../db/data-locks";
import { acquireDataLock, describeBlocker } from "../jobs/data-lock";
import { describeError, logError } from "../log";
import { randomHex } from "../questionnaire/erasure";
import { ApiError } from "./errors";
import type { AppEnv } from "./router";

export function holdDataLock(kind: "erasure" | "undo"): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const holder = `${kind}-${randomHex(8)}`;
		const got = await acquireDataLock(c.env, { holder, kind }, new Date());
		if (!got.ok) {
			const { code, message } = describeBlocker(got.blocker);
			throw new ApiError(409, code, message);
		}
		try {
			await next();
		} finally {
			// A release that fails leaves a lock that is recovered as stale (SHORT_LOCK_TTL_MS).
			await deleteDataLock(c.env.DB, holder).catch((err: unknown) => logError("data_lock_release_failed", { holder, error: describeError(err) }));
		}
	};
}
