// Test-side (workerd) access to the receiving server started by test/receiver/server.ts:
// unique path prefixes per test, captured requests, and an env whose channels point there.
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import type { CapturedRequest } from "./server";

export const receiverUrl = (): string => inject("receiverUrl");

let n = 0;
/** A fresh path prefix, e.g. "/t/3-k2j4": requests under it belong to one test. */
export function uniquePrefix(tag = "t"): string {
	return `/${tag}/${++n}-${crypto.randomUUID().slice(0, 8)}`;
}

export async function fetchCaptured(prefix: string): Promise<CapturedRequest[]> {
	const res = await fetch(`${receiverUrl()}/_captured?prefix=${encodeURIComponent(prefix)}`);
	return (await res.json()) as CapturedRequest[];
}

export type ChannelChoice = {
	emailjs?: string | false;
	resend?: string | false;
	webhook?: string | false;
	heartbeat?: string | false;
	cloudflareEmail?: boolean;
	extra?: Record<string, string>;
};

/**
 * A copy of the test env with each channel on (pointing at `<receiver><path>`) or off. Paths
 * can contain the receiver's behaviour words (/fail500/, /hang/, /flaky/, /fail401/).
 */
export function envWith(choice: ChannelChoice): Env {
	const base = receiverUrl();
	return {
		...env,
		EMAILJS_API_URL: choice.emailjs ? `${base}${choice.emailjs}` : "",
		EMAIL_API_KEY: choice.emailjs ? "emailjs-private-token" : "",
		EMAILJS_SERVICE_ID: choice.emailjs ? "service_test" : "",
		EMAILJS_TEMPLATE_ID: choice.emailjs ? "template_test" : "",
		EMAILJS_PUBLIC_KEY: choice.emailjs ? "public_test" : "",
		RESEND_API_URL: choice.resend ? `${base}${choice.resend}` : "",
		RESEND_API_KEY: choice.resend ? "re_test_key" : "",
		WEBHOOK_URL: choice.webhook ? `${base}${choice.webhook}` : "",
		HEARTBEAT_URL: choice.heartbeat ? `${base}${choice.heartbeat}` : "",
		EMAIL_FROM: choice.cloudflareEmail || choice.resend ? "sauvegardes@cap-formations.test" : "",
		CLOUDFLARE_EMAIL: choice.cloudflareEmail ? "on" : "off",
		...choice.extra,
	} as Env;
}
