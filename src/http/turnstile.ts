// Cloudflare Turnstile: server-side check of the token the widget adds to the form (siteverify).
import { logError } from "../log";

export const TURNSTILE_VERIFY_URL = "https://challenges.cloudflare.com/turnstile/v0/siteverify";

/** Tokens are at most 2048 characters; anything longer is refused without asking Cloudflare. */
const MAX_TOKEN_LENGTH = 2048;

/**
 * - "passed": Cloudflare vouched for the token;
 * - "failed": no token, a malformed one, or Cloudflare refused it (expired, reused, forged…);
 * - "unavailable": siteverify could not be reached or answered nonsense; the caller should ask
 *   the person to try again rather than store an unverified submission.
 */
export type TurnstileOutcome = "passed" | "failed" | "unavailable";

/** Verify one token. Never throws; the outcome says what happened. */
export async function verifyTurnstile(options: {
	secret: string;
	token: string | undefined;
	remoteIp: string | undefined;
	/** Defaults to Cloudflare's siteverify endpoint. */
	url?: string;
	timeoutMs?: number;
}): Promise<TurnstileOutcome> {
	const { secret, token, remoteIp } = options;
	if (!token || token.length > MAX_TOKEN_LENGTH) return "failed";
	const form = new URLSearchParams({ secret, response: token });
	if (remoteIp) form.set("remoteip", remoteIp);
	try {
		const res = await fetch(options.url ?? TURNSTILE_VERIFY_URL, {
			method: "POST",
			body: form,
			signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
		});
		if (!res.ok) {
			logError("turnstile_unavailable", { status: res.status });
			return "unavailable";
		}
		const body = (await res.json()) as { success?: unknown };
		if (typeof body?.success !== "boolean") {
			logError("turnstile_unavailable", { reason: "malformed_response" });
			return "unavailable";
		}
		return body.success ? "passed" : "failed";
	} catch (err) {
		logError("turnstile_unavailable", { reason: err instanceof Error ? err.name : "error" });
		return "unavailable";
	}
}
