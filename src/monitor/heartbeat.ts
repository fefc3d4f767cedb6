// Heartbeat pings to an outside monitor (healthchecks.io-compatible HEARTBEAT_URL), so that a
// Worker or cron that stops running altogether is noticed by something that is not this Worker.
// Sent by the hourly check: `/start` when it begins, the bare URL when the newest verified
// backup is fresh, `/fail` when it is stale or the check itself failed.
import { recordDeliveries, sendWithRetry, type RetryPolicy } from "../notify/delivery";
import { NotifyError, classifyStatus } from "../notify/notifier";
import { logError, logEvent } from "../log";

export type PingKind = "start" | "success" | "fail";

/** Pure: healthchecks.io URL convention (`<url>/start`, `<url>`, `<url>/fail`). */
export function buildPingUrl(base: string, kind: PingKind): string {
	const trimmed = base.replace(/\/+$/, "");
	return kind === "success" ? trimmed : `${trimmed}/${kind}`;
}

/**
 * Ping once (with the notification retry policy) and record the result in notification_log as
 * channel "heartbeat". The body is a one-line, content-free summary that healthchecks.io shows.
 * Never throws.
 */
export async function sendHeartbeat(
	db: D1Database,
	baseUrl: string,
	kind: PingKind,
	body: string,
	now: Date,
	policy: RetryPolicy,
	runId: string,
): Promise<boolean> {
	const url = buildPingUrl(baseUrl, kind);
	const result = await sendWithRetry(
		"heartbeat",
		async (signal) => {
			let res: Response;
			try {
				res = await fetch(url, { method: "POST", body, headers: { "Content-Type": "text/plain" }, signal });
			} catch {
				throw new NotifyError(`request failed: ${signal.aborted ? "timeout" : "network error"}`, true);
			}
			await res.arrayBuffer().catch(() => undefined);
			const err = classifyStatus(res.status);
			if (err) throw err;
		},
		policy,
	);
	const fields = { kind, ok: result.ok, attempts: result.attempts, durationMs: result.durationMs, error: result.error, runId };
	if (result.ok) logEvent("heartbeat_ping", fields);
	else logError("heartbeat_ping_failed", fields);
	await recordDeliveries(
		db,
		[{ channel: "heartbeat", eventType: `heartbeat_${kind}`, runId, ok: result.ok, attempts: result.attempts, durationMs: result.durationMs, error: result.error }],
		now,
	);
	return result.ok;
}
