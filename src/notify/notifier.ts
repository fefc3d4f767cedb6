// The Notifier port and its providers (EmailJS, Cloudflare Email, Resend, generic webhook).
// Several can be active at once; `buildNotifiers` picks the ones the configuration enables.
import { EmailMessage } from "cloudflare:email";
import type { Config } from "../config";
import type { NotifyEvent } from "./events";
import { buildMimeMessage } from "./mime";

export type ChannelName = "emailjs" | "cloudflare_email" | "resend" | "webhook";

/** Everything a provider may send: already rendered, content-free apart from counts and ids. */
export type OutgoingMessage = {
	event: NotifyEvent;
	/** Administrator addresses (ADMIN_EMAIL); may be empty for the webhook and EmailJS. */
	to: string[];
	subject: string;
	text: string;
	html: string;
	/** Same for every retry of the same event delivery, e.g. "backup_failed/<runId>". */
	idempotencyKey: string;
	/** The caller's time (message Date header). */
	now: Date;
};

/** Why a send failed. `retryable` false means retrying cannot help (bad credentials, rejected request). */
export class NotifyError extends Error {
	constructor(
		message: string,
		public readonly retryable: boolean,
	) {
		super(message);
		this.name = "NotifyError";
	}
}

/**
 * One notification channel.
 *
 * Contract:
 * - `send` resolves when the provider has *accepted* the message (HTTP 2xx, or the binding
 *   resolved). It resolves to nothing: delivery to the inbox is the provider's job.
 * - It rejects with a `NotifyError` (`retryable` true for network errors, timeouts, 429 and 5xx;
 *   false for 4xx such as bad credentials). Any other rejection is treated as retryable.
 *   Error messages hold a status code or a short reason, never the message content.
 * - It must stop when `signal` aborts (the caller's timeout).
 * - Idempotency: `send` may be called again for the same message after a timeout, when the
 *   first call may in fact have been delivered. Providers pass `idempotencyKey` on where the
 *   API supports it (Resend's `Idempotency-Key`, the e-mail Message-ID); elsewhere a rare
 *   duplicate alert is accepted as better than a lost one.
 */
export interface Notifier {
	readonly channel: ChannelName;
	send(message: OutgoingMessage, signal: AbortSignal): Promise<void>;
}

/** A channel the configuration asks for but cannot run (e.g. a missing variable). */
export type ChannelProblem = { channel: ChannelName; error: string };

// ---------------------------------------------------------------------------------------------
// HTTP helpers

/** Maps an HTTP status to a NotifyError; 408, 429 and 5xx are worth retrying. */
export function classifyStatus(status: number): NotifyError | undefined {
	if (status >= 200 && status < 300) return undefined;
	const retryable = status === 408 || status === 429 || status >= 500;
	return new NotifyError(`HTTP ${status}`, retryable);
}

async function postJson(
	url: string,
	body: unknown,
	headers: Record<string, string>,
	signal: AbortSignal,
): Promise<void> {
	let res: Response;
	try {
		res = await fetch(url, {
			method: "POST",
			headers: { "Content-Type": "application/json", ...headers },
			body: JSON.stringify(body),
			signal,
		});
	} catch (err) {
		// Network failure or our timeout: both transient.
		const reason = signal.aborted ? "timeout" : err instanceof Error ? err.name : "network error";
		throw new NotifyError(`request failed: ${reason}`, true);
	}
	// Drain the body so the connection can be reused; its content is not needed (nor logged).
	await res.arrayBuffer().catch(() => undefined);
	const error = classifyStatus(res.status);
	if (error) throw error;
}

function joinUrl(base: string, path: string): string {
	return `${base.replace(/\/+$/, "")}${path}`;
}

// ---------------------------------------------------------------------------------------------
// Providers

export const EMAILJS_DEFAULT_URL = "https://api.emailjs.com";
export const RESEND_DEFAULT_URL = "https://api.resend.com";

/**
 * EmailJS REST API: POST {base}/api/v1.0/email/send with the service, template and public key
 * (`user_id`), the private key (`accessToken`) and the template parameters. The EmailJS template
 * decides the layout; it receives `subject`, `message` (text), `message_html` and `to_email`.
 */
export function emailjsNotifier(opts: {
	baseUrl: string;
	serviceId: string;
	templateId: string;
	publicKey: string;
	accessToken: string;
}) {
	return {
		channel: "emailjs",
		async send(message, signal) {
			await postJson(
				joinUrl(opts.baseUrl, "/api/v1.0/email/send"),
				{
					service_id: opts.serviceId,
					template_id: opts.templateId,
					user_id: opts.publicKey,
					accessToken: opts.accessToken,
					template_params: {
						to_email: message.to.join(", "),
						subject: message.subject,
						message: message.text,
						message_html: message.html,
						event_type: message.event.type,
					},
				},
				{},
				signal,
			);
		},
	} satisfies Notifier;
}

/** Resend: POST {base}/emails, `Authorization: Bearer <key>`, with `Idempotency-Key`. */
export function resendNotifier(opts: { baseUrl: string; apiKey: string; from: string }) {
	return {
		channel: "resend",
		async send(message, signal) {
			await postJson(
				joinUrl(opts.baseUrl, "/emails"),
				{ from: opts.from, to: message.to, subject: message.subject, text: message.text, html: message.html },
				{ Authorization: `Bearer ${opts.apiKey}`, "Idempotency-Key": message.idempotencyKey.slice(0, 256) },
				signal,
			);
		},
	} satisfies Notifier;
}

/** Generic webhook: the event's own fields plus `text` (what Slack-style incoming hooks display). */
export function webhookNotifier(opts: { url: string }) {
	return {
		channel: "webhook",
		async send(message, signal) {
			await postJson(opts.url, buildWebhookBody(message), {}, signal);
		},
	} satisfies Notifier;
}

export function buildWebhookBody(message: OutgoingMessage): Record<string, unknown> {
	return { ...message.event, subject: message.subject, text: `${message.subject}\n\n${message.text}` };
}

/** The part of the `send_email` binding this provider uses (a seam that tests can wrap). */
export type EmailSender = { send(message: EmailMessage): Promise<unknown> };

/**
 * Cloudflare Email through the `send_email` binding: one raw MIME message per recipient
 * (EmailMessage has a single envelope recipient). A retry only re-sends to the recipients that
 * have not yet accepted, so an attempt that failed half-way does not duplicate the others.
 */
export function cloudflareEmailNotifier(opts: { binding: EmailSender; from: string }) {
	const delivered = new Map<string, Set<string>>();
	return {
		channel: "cloudflare_email",
		async send(message, signal) {
			const done = delivered.get(message.idempotencyKey) ?? new Set<string>();
			delivered.set(message.idempotencyKey, done);
			for (const to of message.to) {
				if (done.has(to)) continue;
				if (signal.aborted) throw new NotifyError("request failed: timeout", true);
				const raw = buildMimeMessage({
					from: opts.from,
					to,
					subject: message.subject,
					text: message.text,
					html: message.html,
					date: message.now,
					messageId: buildMessageId(message.idempotencyKey, to, opts.from),
				});
				try {
					await abortable(opts.binding.send(new EmailMessage(opts.from, to, raw)), signal);
				} catch (err) {
					if (err instanceof NotifyError) throw err;
					// The binding's errors name the problem (e.g. unverified destination); no content in them.
					const reason = err instanceof Error ? err.message.split("\n")[0]!.slice(0, 160) : "send failed";
					throw new NotifyError(`send_email: ${reason}`, true);
				}
				done.add(to);
			}
		},
	} satisfies Notifier;
}

/** Rejects when `signal` aborts, for APIs (bindings) that take no signal of their own. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const onAbort = () => reject(new NotifyError("request failed: timeout", true));
		if (signal.aborted) return onAbort();
		signal.addEventListener("abort", onAbort, { once: true });
		p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
	});
}

/** Deterministic Message-ID: same event and recipient -> same id (duplicates are recognisable). */
export function buildMessageId(idempotencyKey: string, to: string, from: string): string {
	const domain = from.split("@")[1] ?? "localhost";
	const local = `${idempotencyKey}.${to}`
		.split("")
		.reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7)
		.toString(36);
	const safeKey = idempotencyKey.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 60);
	return `${safeKey}.${local}@${domain}`;
}

// ---------------------------------------------------------------------------------------------
// Selection from the configuration

/**
 * The channels the configuration enables, and the ones it half-configures (reported as failed
 * deliveries so that the administrator sees them in status, instead of silently sending nothing).
 */
export function buildNotifiers(
	config: Config,
	emailBinding: EmailSender | undefined,
): { notifiers: Notifier[]; problems: ChannelProblem[] } {
	const notifiers: Notifier[] = [];
	const problems: ChannelProblem[] = [];
	const admins = config.ADMIN_EMAIL;

	const emailjsVars = {
		EMAIL_API_KEY: config.EMAIL_API_KEY,
		EMAILJS_SERVICE_ID: config.EMAILJS_SERVICE_ID,
		EMAILJS_TEMPLATE_ID: config.EMAILJS_TEMPLATE_ID,
		EMAILJS_PUBLIC_KEY: config.EMAILJS_PUBLIC_KEY,
	};
	const emailjsMissing = Object.entries(emailjsVars)
		.filter(([, v]) => !v)
		.map(([k]) => k);
	if (emailjsMissing.length === 0) {
		notifiers.push(
			emailjsNotifier({
				baseUrl: config.EMAILJS_API_URL ?? EMAILJS_DEFAULT_URL,
				serviceId: config.EMAILJS_SERVICE_ID!,
				templateId: config.EMAILJS_TEMPLATE_ID!,
				publicKey: config.EMAILJS_PUBLIC_KEY!,
				accessToken: config.EMAIL_API_KEY!,
			}),
		);
	} else if (emailjsMissing.length < 4) {
		problems.push({ channel: "emailjs", error: `missing ${emailjsMissing.join(", ")}` });
	}

	if (config.RESEND_API_KEY) {
		if (!config.EMAIL_FROM || admins.length === 0) {
			problems.push({ channel: "resend", error: "RESEND_API_KEY needs EMAIL_FROM and ADMIN_EMAIL" });
		} else {
			notifiers.push(
				resendNotifier({
					baseUrl: config.RESEND_API_URL ?? RESEND_DEFAULT_URL,
					apiKey: config.RESEND_API_KEY,
					from: config.EMAIL_FROM,
				}),
			);
		}
	}

	// Cloudflare Email: explicit "on"/"off", or "auto" = when a sender is set and Resend is not
	// (so that configuring Resend does not also send every message through the binding).
	const cloudflareWanted =
		config.CLOUDFLARE_EMAIL === "on" || (config.CLOUDFLARE_EMAIL === "auto" && !!config.EMAIL_FROM && !config.RESEND_API_KEY);
	if (cloudflareWanted && (!emailBinding || !config.EMAIL_FROM)) {
		problems.push({ channel: "cloudflare_email", error: "needs the EMAIL send_email binding and EMAIL_FROM" });
	} else if (cloudflareWanted && emailBinding && config.EMAIL_FROM) {
		if (admins.length === 0) {
			problems.push({ channel: "cloudflare_email", error: "EMAIL_FROM is set but ADMIN_EMAIL is empty" });
		} else {
			notifiers.push(cloudflareEmailNotifier({ binding: emailBinding, from: config.EMAIL_FROM }));
		}
	}

	if (config.WEBHOOK_URL) notifiers.push(webhookNotifier({ url: config.WEBHOOK_URL }));

	return { notifiers, problems };
}
