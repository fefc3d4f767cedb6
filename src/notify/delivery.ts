// Delivery of one rendered event to every channel: bounded retries with backoff, a timeout per
// attempt, one notification_log row per channel. Never throws: failures become report entries.
import type { Config } from "../config";
import { describeError, logError, logEvent } from "../log";
import { insertDeliveries, type DeliveryRow } from "../db/notification-log";
import type { ChannelResult, DeliveryReport, NotifyEvent, SendContext } from "./events";
import { NotifyError, buildNotifiers, type OutgoingMessage } from "./notifier";
import { renderEvent, type RenderContext } from "./templates";

export type RetryPolicy = {
	/** Total attempts per channel (first try included). */
	attempts: number;
	/** Timeout of each attempt. */
	timeoutMs: number;
	/** Wait before attempt n+1 is backoffMs[n-1] (last value reused). */
	backoffMs: number[];
};

export const DEFAULT_BACKOFF_MS = [500, 2000];

export function buildRetryPolicy(config: Pick<Config, "NOTIFY_TIMEOUT_MS">): RetryPolicy {
	return { attempts: 3, timeoutMs: config.NOTIFY_TIMEOUT_MS, backoffMs: DEFAULT_BACKOFF_MS };
}

/** Pure: should attempt `attempt` (1-based) that failed with `err` be followed by another? */
export function shouldRetry(err: unknown, attempt: number, policy: RetryPolicy): boolean {
	if (attempt >= policy.attempts) return false;
	return !(err instanceof NotifyError) || err.retryable;
}

export function backoffFor(attempt: number, policy: RetryPolicy): number {
	return policy.backoffMs[Math.min(attempt - 1, policy.backoffMs.length - 1)] ?? 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Run `attempt` (one send, which must honour its signal) with retries and a timeout per try;
 * resolves to the channel's result, never rejects. Shared by the notifiers and the heartbeat.
 */
export async function sendWithRetry(
	channel: string,
	attempt: (signal: AbortSignal) => Promise<void>,
	policy: RetryPolicy,
): Promise<ChannelResult> {
	const started = Date.now(); // elapsed-time measurement only, not a decision input
	let lastError = "";
	for (let n = 1; n <= policy.attempts; n++) {
		try {
			await attempt(AbortSignal.timeout(policy.timeoutMs));
			return { channel, ok: true, attempts: n, error: null, durationMs: Date.now() - started };
		} catch (err) {
			lastError = err instanceof NotifyError ? err.message : describeError(err);
			if (!shouldRetry(err, n, policy)) {
				return {
					channel,
					ok: false,
					attempts: n,
					error: lastError,
					durationMs: Date.now() - started,
				};
			}
			await sleep(backoffFor(n, policy));
		}
	}
	// Unreachable (the loop always returns), kept for the type checker.
	return { channel, ok: false, attempts: policy.attempts, error: lastError, durationMs: Date.now() - started };
}

/** Stable key for one delivery of one event: retries and duplicate job runs share it. */
export function buildIdempotencyKey(event: NotifyEvent, now: Date): string {
	const subject = "runId" in event ? event.runId : now.toISOString();
	return `${event.type}/${subject}`;
}

export function runIdOf(event: NotifyEvent): string | null {
	return "runId" in event ? event.runId : null;
}

/** Store one row per channel in notification_log. Failure to record is logged, not thrown. */
export async function recordDeliveries(
	db: D1Database,
	rows: DeliveryRow[],
	at: Date,
): Promise<void> {
	if (rows.length === 0) return;
	try {
		await insertDeliveries(db, rows, at);
	} catch (err) {
		logError("notify_record_failed", { error: describeError(err), rows: rows.length });
	}
}

/**
 * Pure: where dates are read and the dashboard is: TIMEZONE, and DASHBOARD_URL or else the
 * dashboard at the origin of the request that led to the message (none without either).
 */
export function buildRenderContext(config: Pick<Config, "TIMEZONE" | "DASHBOARD_URL">, context: SendContext = {}): RenderContext {
	const dashboardUrl = config.DASHBOARD_URL ?? (context.origin ? `${context.origin.replace(/\/+$/, "")}/admin/` : undefined);
	return { timeZone: config.TIMEZONE, ...(dashboardUrl ? { dashboardUrl } : {}) };
}

/** See `sendEvent` in events.ts, the public entry point. */
export async function deliverEvent(
	env: Env,
	event: NotifyEvent,
	now: Date,
	loadConfig: () => Config,
	context: SendContext = {},
): Promise<DeliveryReport> {
	const at = now.toISOString();
	const runId = runIdOf(event);
	let config: Config;
	try {
		config = loadConfig();
	} catch (err) {
		// A bad configuration must not turn a backup into a failure: report it as a failed channel.
		const result: ChannelResult = { channel: "config", ok: false, attempts: 0, error: describeError(err), durationMs: 0 };
		logError("notify_config_invalid", { eventType: event.type, runId, error: result.error });
		await recordDeliveries(env.DB, [{ ...result, eventType: event.type, runId }], now);
		return { eventType: event.type, at, delivered: false, channels: [result] };
	}

	try {
		const { notifiers, problems } = buildNotifiers(config, env.EMAIL);
		const rendered = renderEvent(event, config.LOCALE, buildRenderContext(config, context));
		const message: OutgoingMessage = {
			event,
			to: config.ADMIN_EMAIL,
			...rendered,
			idempotencyKey: buildIdempotencyKey(event, now),
			now,
		};
		const policy = buildRetryPolicy(config);
		const sent = await Promise.all(notifiers.map((n) => sendWithRetry(n.channel, (signal) => n.send(message, signal), policy)));
		const misconfigured: ChannelResult[] = problems.map((p) => ({
			channel: p.channel,
			ok: false,
			attempts: 0,
			error: p.error,
			durationMs: 0,
		}));
		const channels = [...sent, ...misconfigured];
		for (const c of channels) {
			const fields = { eventType: event.type, runId, channel: c.channel, ok: c.ok, attempts: c.attempts, durationMs: c.durationMs, error: c.error };
			if (c.ok) logEvent("notify_sent", fields);
			else logError("notify_failed", fields);
		}
		await recordDeliveries(env.DB, channels.map((c) => ({ ...c, eventType: event.type, runId })), now);
		const delivered = sent.length === 0 && misconfigured.length === 0 ? true : sent.some((c) => c.ok);
		if (channels.length === 0) logEvent("notify_no_channel", { eventType: event.type, runId });
		return { eventType: event.type, at, delivered, channels };
	} catch (err) {
		// Defensive: rendering or recording bugs still must not reach the caller.
		const result: ChannelResult = { channel: "internal", ok: false, attempts: 0, error: describeError(err), durationMs: 0 };
		logError("notify_internal_error", { eventType: event.type, runId, error: result.error });
		return { eventType: event.type, at, delivered: false, channels: [result] };
	}
}
