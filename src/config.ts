// Every variable and secret the Worker reads, parsed once at the edge with zod.
// A missing or malformed value fails fast with one message naming every bad variable.
import { Cron } from "croner";
import { z } from "zod";
import { parseRecipients } from "./snapshots/age";

/** Comma- or whitespace-separated list; empty string means "none". */
const list = z
	.string()
	.optional()
	.transform((s) =>
		(s ?? "")
			.split(/[\s,;]+/)
			.map((x) => x.trim())
			.filter(Boolean),
	);

const optionalString = z
	.string()
	.optional()
	.transform((s) => (s && s.trim() !== "" ? s.trim() : undefined));

const optionalUrl = optionalString.pipe(z.url({ protocol: /^https?$/ }).optional());

function int(defaultValue: number, min: number, max: number) {
	return z
		.string()
		.optional()
		.transform((s) => (s === undefined || s.trim() === "" ? String(defaultValue) : s.trim()))
		.pipe(
			z
				.string()
				.regex(/^\d+$/, "must be a whole number")
				.transform(Number)
				.pipe(z.number().int().min(min).max(max)),
		);
}

const email = z.email();

function isTimeZone(timeZone: string): boolean {
	try {
		new Intl.DateTimeFormat("en", { timeZone });
		return true;
	} catch {
		return false;
	}
}

/** A cron expression croner accepts and that fires at least once more. */
function isCronExpression(text: string): boolean {
	try {
		return new Cron(text, { timezone: "UTC", paused: true }).nextRun() !== null;
	} catch {
		return false;
	}
}

/**
 * The ADMIN_TOKEN written in .dev.vars.example. A copy of that file nobody edited must not open the
 * admin API with a token anyone can read in the repository (`npm start` replaces it in .dev.vars).
 */
export const ADMIN_TOKEN_PLACEHOLDER = "change-me-to-a-long-random-string";

const schema = z.object({
	/** Secret: administrator bearer token. */
	ADMIN_TOKEN: z
		.string({ error: "is required (set it with `wrangler secret put ADMIN_TOKEN`)" })
		.min(24, "must be at least 24 characters long")
		.refine(
			(t) => t.trim() !== ADMIN_TOKEN_PLACEHOLDER,
			"is still the placeholder of .dev.vars.example: set a long random value (`npm start` writes one in .dev.vars; `wrangler secret put ADMIN_TOKEN` on Cloudflare)",
		),
	/**
	 * Secret: key of the HMAC that authenticates every manifest (the bucket does not hold it).
	 * Optional so that a deployment without it still backs up, but then no snapshot can be told
	 * from a planted one: the status says so until it is set.
	 */
	BACKUP_SIGNING_KEY: optionalString.pipe(z.string().min(32, "must be at least 32 characters long (e.g. `openssl rand -hex 32`)").optional()),
	/** Secret (optional): Cloudflare Turnstile secret; when set, the form requires a Turnstile token. */
	TURNSTILE_SECRET: optionalString,
	/** Public Turnstile site key shown on the form (required when TURNSTILE_SECRET is set). */
	TURNSTILE_SITE_KEY: optionalString,
	/** Turnstile siteverify endpoint (overridable for tests; Cloudflare's when unset). */
	TURNSTILE_VERIFY_URL: optionalUrl,
	/** Language of e-mails and the dashboard default: "fr" (default) or "en". */
	LOCALE: z
		.string()
		.optional()
		.transform((s) => (s && s.trim() ? s.trim() : "fr"))
		.pipe(z.enum(["fr", "en"], { error: 'must be "fr" or "en"' })),
	/** Time zone of the dates and times shown to people (e-mails, CSV export): an IANA name, default Europe/Paris. */
	TIMEZONE: z
		.string()
		.optional()
		.transform((s) => (s && s.trim() ? s.trim() : "Europe/Paris"))
		.refine(isTimeZone, 'must be an IANA time zone such as "Europe/Paris"'),
	/**
	 * Address of the administrator dashboard, linked from every e-mail (e.g.
	 * https://questionnaire.example.org/admin/). Unset: derived from the request when there is one.
	 */
	DASHBOARD_URL: optionalUrl,
	/** Address respondents write to for their answers to be deleted (shown on the form). */
	CONTACT_EMAIL: optionalString.pipe(z.email({ error: "must be an e-mail address" }).optional()),
	/** A typed role is suggested to other respondents once this many distinct respondents used it. */
	ROLE_SUGGEST_MIN_USES: int(3, 1, 1000),
	/**
	 * When the daily backup starts: a UTC cron expression, served by the one hourly trigger (the
	 * first hourly delivery at or after it, src/jobs/cron.ts). Also the status page's "next run".
	 * Checked here: a schedule that never fires would mean no backup, silently.
	 */
	SCHEDULE_BACKUP: z
		.string()
		.optional()
		.transform((s) => (s && s.trim() ? s.trim() : "0 2 * * *"))
		.refine(isCronExpression, 'must be a cron expression in UTC, e.g. "0 2 * * *"'),
	/** Administrator addresses for notifications (comma-separated). */
	ADMIN_EMAIL: list.pipe(z.array(email, { error: "must be e-mail addresses separated by commas" })),
	/** Sender address for Cloudflare Email and Resend. */
	EMAIL_FROM: optionalString.pipe(email.optional()),
	/**
	 * Cloudflare Email (`send_email` binding EMAIL) for notifications: "auto" (default) = on when
	 * EMAIL_FROM is set and Resend is not configured; "on" / "off" force it.
	 */
	CLOUDFLARE_EMAIL: z
		.string()
		.optional()
		.transform((s) => (s && s.trim() ? s.trim() : "auto"))
		.pipe(z.enum(["auto", "on", "off"], { error: 'must be "auto", "on" or "off"' })),
	/** Secret (optional): EmailJS private access token. */
	EMAIL_API_KEY: optionalString,
	EMAILJS_SERVICE_ID: optionalString,
	EMAILJS_TEMPLATE_ID: optionalString,
	EMAILJS_PUBLIC_KEY: optionalString,
	/** Base URL of the EmailJS API (overridable for tests). */
	EMAILJS_API_URL: optionalUrl,
	/** Secret (optional): Resend API key. */
	RESEND_API_KEY: optionalString,
	/** Base URL of the Resend API (overridable for tests). */
	RESEND_API_URL: optionalUrl,
	/** Optional generic webhook (Slack/Discord-compatible `text` field). */
	WEBHOOK_URL: optionalUrl,
	/** Optional healthchecks.io-compatible ping URL. */
	HEARTBEAT_URL: optionalUrl,
	/** Timeout of one notification/heartbeat request, in milliseconds (each channel is tried 3 times). */
	NOTIFY_TIMEOUT_MS: int(10_000, 100, 120_000),
	/** Alert when the newest verified snapshot is older than this many hours. */
	BACKUP_MAX_AGE_HOURS: int(26, 1, 24 * 365),
	/** Retention: daily, weekly and monthly snapshots kept. */
	KEEP_DAILY: int(30, 1, 3650),
	KEEP_WEEKLY: int(8, 0, 520),
	KEEP_MONTHLY: int(12, 0, 1200),
	/** The off-site replica (S3-compatible): all five set, or none. */
	OFFSITE_S3_ENDPOINT: optionalUrl,
	OFFSITE_S3_BUCKET: optionalString,
	OFFSITE_S3_REGION: z
		.string()
		.optional()
		.transform((s) => (s && s.trim() ? s.trim() : "auto")),
	/** Secrets of the replica's access key (write access to that one bucket is enough). */
	OFFSITE_S3_ACCESS_KEY_ID: optionalString,
	OFFSITE_S3_SECRET_ACCESS_KEY: optionalString,
	/** age public keys (age1…): every copy outside Cloudflare is encrypted to them. */
	BACKUP_AGE_RECIPIENTS: optionalString.pipe(
		z
			.string()
			.optional()
			.transform((s, ctx) => {
				if (!s) return [] as string[];
				try {
					return parseRecipients(s);
				} catch (err) {
					ctx.addIssue({ code: "custom", message: (err as Error).message });
					return z.NEVER;
				}
			}),
	),
	/** The replica's own retention (defaults: the primary's). */
	OFFSITE_KEEP_DAILY: int(30, 1, 3650),
	OFFSITE_KEEP_WEEKLY: int(8, 0, 520),
	OFFSITE_KEEP_MONTHLY: int(12, 0, 1200),
	/** Freeze pruning when submissions drop by more than this percentage between snapshots. */
	RETENTION_FREEZE_DROP_PCT: int(20, 0, 100),
	/** At most this percentage of snapshots removed in one run. */
	RETENTION_MAX_REMOVE_PCT: int(25, 1, 100),
	/** Weekly verification: 0 = every retained snapshot, N = a sample of N (always including the newest). */
	VERIFY_SAMPLE: int(0, 0, 10000),
	/**
	 * Cloudflare plan the deployment runs on: "free" (default) or "paid". It sizes units of work
	 * (rows per backup step, steps per Workflow instance) to the plan's limits, never correctness.
	 */
	CLOUDFLARE_PLAN: z
		.string()
		.optional()
		.transform((s) => (s && s.trim() ? s.trim().toLowerCase() : "free"))
		.pipe(z.enum(["free", "paid"], { error: 'must be "free" or "paid"' })),
	/** Target compressed size of one snapshot chunk, in bytes. */
	BACKUP_CHUNK_BYTES: int(4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
});

export type Config = z.output<typeof schema>;

export class ConfigError extends Error {
	constructor(public readonly problems: Record<string, string>) {
		super(
			"Invalid configuration: " +
				Object.entries(problems)
					.map(([k, v]) => `${k} ${v}`)
					.join("; "),
		);
		this.name = "ConfigError";
	}
}

/** Pure: parse a plain record of variables. Throws ConfigError naming every bad variable. */
export function parseConfig(vars: Record<string, unknown>): Config {
	const picked: Record<string, unknown> = {};
	for (const key of Object.keys(schema.shape)) {
		const v = vars[key];
		picked[key] = typeof v === "string" ? v : v === undefined || v === null ? undefined : String(v);
	}
	const result = schema.safeParse(picked);
	const problems: Record<string, string> = {};
	if (!result.success) {
		for (const issue of result.error.issues) {
			const key = String(issue.path[0] ?? "config");
			problems[key] ??= issue.message;
		}
	}
	// Between variables: Turnstile with a secret but no site key would refuse every form post
	// (the page shows no widget, so no token ever arrives).
	const isSet = (v: unknown) => typeof v === "string" && v.trim() !== "";
	if (isSet(picked.TURNSTILE_SECRET) && !isSet(picked.TURNSTILE_SITE_KEY)) {
		problems.TURNSTILE_SITE_KEY ??= "is required when TURNSTILE_SECRET is set (the form needs it to show the Turnstile widget)";
	}
	// The replica needs all of its settings: a partial one would fail at every backup.
	const offsite = ["OFFSITE_S3_ENDPOINT", "OFFSITE_S3_BUCKET", "OFFSITE_S3_ACCESS_KEY_ID", "OFFSITE_S3_SECRET_ACCESS_KEY"];
	const given = offsite.filter((k) => isSet(picked[k]));
	if (given.length > 0 && given.length < offsite.length) {
		for (const k of offsite.filter((k) => !isSet(picked[k]))) {
			problems[k] ??= `is required when ${given.join(", ")} ${given.length > 1 ? "are" : "is"} set (the off-site replica needs all of them)`;
		}
	}
	if (result.success && Object.keys(problems).length === 0) return result.data;
	throw new ConfigError(problems);
}

const cache = new WeakMap<object, Config>();

/** Parse the Worker's env once per isolate/env object. */
export function getConfig(env: Env): Config {
	let config = cache.get(env);
	if (!config) {
		config = parseConfig(env as unknown as Record<string, unknown>);
		cache.set(env, config);
	}
	return config;
}
