// Public questionnaire API: the definition, the suggested roles, and POST /api/submissions (JSON,
// or a form post). `handleSubmission` also serves the form's own post to "/" (page-routes.ts).
// Every rejected request stores nothing; an accepted one is one D1 batch.
import { createRoute, z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { insertSubmission } from "../db/submissions";
import { describeError, logError, logEvent } from "../log";
import {
	HONEYPOT_FIELD,
	questionnaire as defaultQuestionnaire,
	TURNSTILE_FIELD,
	type Questionnaire,
} from "../questionnaire/definition";
import { validateAnswers, type Locale } from "../questionnaire/validate";
import type { ErrorBody } from "./errors";
import { createRouter, type AppContext } from "./router";
import { ErrorBodySchema, jsonResponse, SERVER_ERROR } from "./schemas";
import { renderFormPage } from "./pages/form";
import { buildPageHeaders } from "./pages/headers";
import { localeQuery, parseLocale } from "./pages/locale";
import { buildRefusalMessage, type RefusalCode } from "./pages/texts";
import { fetchRoleSuggestions } from "./role-suggestions";
import { verifyTurnstile } from "./turnstile";

/** Largest accepted request body, in bytes (by Content-Length and by bytes actually read). */
export const SUBMISSION_BODY_LIMIT = 64 * 1024;
/** Seconds a rate-limited client is told to wait (the limiter's period, see wrangler.jsonc). */
const RETRY_AFTER_SECONDS = 60;

type ErrorCode = RefusalCode;

/** The two bodies accepted; anything else is 415. */
export type BodyKind = "json" | "form";

function parseBodyKind(contentType: string | undefined): BodyKind | undefined {
	const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
	if (type === "application/json") return "json";
	if (type === "application/x-www-form-urlencoded") return "form";
	return undefined;
}

/**
 * The body's bytes, or undefined when it is larger than `limit`: refused on a larger
 * Content-Length without reading, and cut off as soon as the bytes read pass the limit (the
 * header may be absent, chunked, or lying).
 */
export async function readBodyLimited(req: Request, limit: number): Promise<Uint8Array | undefined> {
	const declared = req.headers.get("Content-Length");
	if (declared !== null && Number(declared) > limit) return undefined;
	if (!req.body) return new Uint8Array(0);
	const reader = req.body.getReader();
	const chunks: Uint8Array[] = [];
	let total = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		total += value.byteLength;
		if (total > limit) {
			await reader.cancel();
			return undefined;
		}
		chunks.push(value);
	}
	const bytes = new Uint8Array(total);
	let offset = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return bytes;
}

/**
 * Pure: the rate-limit key of a client address. An IPv6 client usually holds a whole /64, so it
 * is counted by that prefix; an IPv4 address is counted as is. Requests without an address
 * (local tools) share the one bucket "ip:unknown".
 */
export function buildRateLimitKey(ip: string | undefined): string {
	const addr = ip?.trim().toLowerCase() ?? "";
	if (!addr.includes(":")) return `ip:${addr || "unknown"}`;
	// An IPv4 address written as IPv6 (::ffff:192.0.2.1) is that IPv4 client.
	const v4 = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(addr);
	if (v4) return `ip:${v4[1]}`;
	const [head = "", tail = ""] = addr.split("::", 2);
	const left = head ? head.split(":") : [];
	const right = addr.includes("::") && tail ? tail.split(":") : [];
	const groups = addr.includes("::")
		? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
		: left;
	return `ip6:${groups
		.slice(0, 4)
		.map((g) => g.replace(/^0+(?=.)/, ""))
		.join(":")}::/64`;
}

/** A submission as posted, before validation. */
type PostedSubmission = {
	answers: Record<string, unknown>;
	honeypot: unknown;
	turnstileToken: string | undefined;
	/** For a form post: what was typed, to be shown again on an error. */
	formValues?: Record<string, string | string[]>;
};

type ParseResult = { ok: true; posted: PostedSubmission } | { ok: false; code: "invalid_json" | "invalid_body" };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
	typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The JSON body of POST /api/submissions. `answers` is checked as a plain object only (the
 * questionnaire's own validation names each wrong answer) and passed on as parsed, so that even a
 * "__proto__" key stays an ordinary answer, refused by that validation.
 */
export const SubmissionBodySchema = z
	.strictObject({
		answers: z
			.custom<Record<string, unknown>>(isPlainObject, "must be an object")
			.openapi({ type: "object", description: "Answers by question id (see GET /api/questionnaire)." }),
		[HONEYPOT_FIELD]: z.unknown().optional().openapi({ description: "Honeypot: leave empty (a filled one is refused)." }),
		[TURNSTILE_FIELD]: z.string().optional().openapi({ description: "Turnstile token, when Turnstile is configured." }),
	})
	.openapi("SubmissionBody");

/** The form post: the answers as fields (ticked boxes repeat their key), plus the same two extras. */
const SubmissionFormSchema = z
	.looseObject({
		[HONEYPOT_FIELD]: z.string().optional(),
		[TURNSTILE_FIELD]: z.string().optional(),
	})
	.openapi("SubmissionForm");

function parseJsonSubmission(bytes: Uint8Array): ParseResult {
	let body: unknown;
	try {
		body = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
	} catch {
		return { ok: false, code: "invalid_json" };
	}
	const parsed = SubmissionBodySchema.safeParse(body);
	if (!parsed.success) return { ok: false, code: "invalid_body" };
	const posted = parsed.data;
	return { ok: true, posted: { answers: posted.answers, honeypot: posted[HONEYPOT_FIELD], turnstileToken: posted[TURNSTILE_FIELD] } };
}

/** The form's fields; repeated keys (ticked boxes) become arrays. */
function parseFormSubmission(bytes: Uint8Array): ParseResult {
	const fields = new Map<string, string | string[]>();
	for (const [key, value] of new URLSearchParams(new TextDecoder().decode(bytes))) {
		const seen = fields.get(key);
		fields.set(key, seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]);
	}
	const honeypot = fields.get(HONEYPOT_FIELD);
	const token = fields.get(TURNSTILE_FIELD);
	fields.delete(HONEYPOT_FIELD);
	fields.delete(TURNSTILE_FIELD);
	// Object.fromEntries defines own properties, so even a "__proto__" field stays an ordinary key.
	const values = Object.fromEntries(fields);
	return {
		ok: true,
		posted: {
			answers: values,
			honeypot,
			turnstileToken: Array.isArray(token) ? token[0] : token,
			formValues: values,
		},
	};
}

/** A honeypot counts as filled when it holds anything but blanks. */
function isFilled(honeypot: unknown): boolean {
	if (honeypot === undefined || honeypot === null) return false;
	if (Array.isArray(honeypot)) return honeypot.some(isFilled);
	return typeof honeypot !== "string" || honeypot.trim() !== "";
}

/** Counts this request against the client's rate limit; false when it is over. */
async function isWithinRateLimit(env: Env, ip: string | undefined): Promise<boolean> {
	try {
		const { success } = await env.SUBMIT_RATE_LIMITER.limit({ key: buildRateLimitKey(ip) });
		return success;
	} catch (err) {
		// A broken limiter must not turn every respondent away: let the request through, loudly.
		logError("rate_limiter_failed", { error: describeError(err) });
		return true;
	}
}

const RoleSuggestionSchema = z
	.strictObject({
		key: z.string().openapi({ description: "Deduplication key (normalised spelling)." }),
		label: z.string().openapi({ description: "The name to show (the questionnaire's in the page language, else the stored one)." }),
		source: z.enum(["questionnaire", "approved", "shared"]).openapi({
			description:
				"`questionnaire`: listed by the questionnaire; `approved`: approved by the administrator; " +
				"`shared`: used by at least ROLE_SUGGEST_MIN_USES distinct respondents.",
		}),
	})
	.openapi("RoleSuggestion");

/** The questionnaire definition (src/questionnaire/definition.ts); the questions vary by type. */
const QuestionnaireSchema = z
	.looseObject({
		id: z.string(),
		version: z.string(),
		title: z.looseObject({ fr: z.string() }),
		intro: z.looseObject({ fr: z.string() }),
		questions: z.array(z.looseObject({ id: z.string(), type: z.string(), required: z.boolean(), label: z.looseObject({ fr: z.string() }) })),
	})
	.openapi("Questionnaire");

/** Refusals of the submission route: JSON for API clients, the form page again for a form post. */
const refusal = (description: string) => ({
	description,
	content: { "application/json": { schema: ErrorBodySchema }, "text/html": { schema: z.string() } },
});

const submitRoute = createRoute({
	method: "post",
	path: "/api/submissions",
	tags: ["public"],
	summary: "Submit answers: JSON, or the form's urlencoded post (`?lang=fr|en` for messages)",
	description:
		"The body is read by the handler itself, after the content type and the rate limit are checked and " +
		"within a 64 KiB limit, so it is declared here by reference rather than validated before the handler.",
	request: {
		body: {
			required: true,
			content: {
				"application/json": { schema: { $ref: "#/components/schemas/SubmissionBody" } },
				"application/x-www-form-urlencoded": { schema: { $ref: "#/components/schemas/SubmissionForm" } },
			},
		},
	},
	responses: {
		201: jsonResponse(z.strictObject({ id: z.string().openapi({ format: "uuid" }) }).openapi("SubmissionAccepted"), "Stored (JSON post)."),
		303: { description: "Stored (form post): redirect to /merci." },
		400: refusal("`invalid_json`, `invalid_body`, `rejected`, `validation_failed` (`fields` by question id) or `turnstile_failed`."),
		413: refusal("`payload_too_large`: over 64 KiB."),
		415: refusal("`unsupported_media_type`."),
		429: refusal("`rate_limited` (Retry-After says when to try again)."),
		503: refusal("`turnstile_unavailable` or `store_failed`: try again."),
		500: SERVER_ERROR,
	},
});

/** The routes of the questionnaire API for one definition (the default one in production). */
export function createSubmissionRoutes(def: Questionnaire) {
	const routes = createRouter();
	// Declared by reference in the route (see submitRoute): registered here so the reference resolves.
	routes.openAPIRegistry.register("SubmissionBody", SubmissionBodySchema);
	routes.openAPIRegistry.register("SubmissionForm", SubmissionFormSchema);

	routes.openapi(
		createRoute({
			method: "get",
			path: "/api/questionnaire",
			tags: ["public"],
			summary: "The questionnaire definition",
			responses: { 200: jsonResponse(QuestionnaireSchema, "Questions, labels (fr, en) and limits.") },
		}),
		(c) => c.json(def, 200, { "Cache-Control": "no-cache" }),
	);

	routes.openapi(
		createRoute({
			method: "get",
			path: "/api/roles",
			tags: ["public"],
			summary: "The roles suggested to respondents (`?lang=fr|en`), as the form offers them (at most 100)",
			description:
				"The questionnaire's own roles, then the typed roles used by at least ROLE_SUGGEST_MIN_USES distinct " +
				"respondents or approved by the administrator, most used first. A role only one person typed is never listed.",
			request: { query: z.object({ lang: z.string().optional().openapi({ description: "fr (default) or en" }) }) },
			responses: { 200: jsonResponse(z.strictObject({ roles: z.array(RoleSuggestionSchema) }), "The roles."), 500: SERVER_ERROR },
		}),
		async (c) => {
			const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
			const roles = await fetchRoleSuggestions(c.env.DB, def, c.var.config.ROLE_SUGGEST_MIN_USES, locale);
			return c.json({ roles }, 200, { "Cache-Control": "no-store", Vary: "Accept-Language" });
		},
	);

	routes.openapi(submitRoute, (c) => handleSubmission(c, def, ["json", "form"]));

	return routes;
}

/**
 * One submission, JSON or form post (`accepted` says which this path takes; another is 415). A
 * form post gets pages: the form again on a refusal, with everything typed, or a 303 to /merci.
 */
export async function handleSubmission(c: AppContext, def: Questionnaire, accepted: readonly BodyKind[]): Promise<Response> {
	const config = c.var.config;
	const locale = parseLocale(c.req.query("lang"), c.req.header("Accept-Language"));
	const parsedKind = parseBodyKind(c.req.header("Content-Type"));
	const kind = parsedKind && accepted.includes(parsedKind) ? parsedKind : undefined;
	const ip = c.req.header("CF-Connecting-IP");

	/** Refuse: JSON for API clients, the form page again (with what was typed) for a form post. */
	const reject = async (
		status: ContentfulStatusCode,
		code: ErrorCode,
		extra: { fields?: Record<string, string>; formValues?: Record<string, string | string[]> } = {},
	) => {
		logEvent("submission_rejected", { code, status, kind: kind ?? "other" });
		// A form post that is not urlencoded (another client on "/") still gets a page.
		const page = kind === "form" || (!kind && !accepted.includes("json"));
		const retryAfterSeconds = status === 429 ? RETRY_AFTER_SECONDS : undefined;
		const message = buildRefusalMessage(locale, code, { retryAfterSeconds, forPage: page });
		const headers: Record<string, string> = { "Cache-Control": "no-store" };
		if (retryAfterSeconds !== undefined) headers["Retry-After"] = String(retryAfterSeconds);
		if (!page) {
			const body: ErrorBody = { error: { code, message, ...(extra.fields ? { fields: extra.fields } : {}) } };
			return c.json(body, status, headers);
		}
		const fields = extra.fields ?? {};
		const aboutQuestions = Object.keys(fields).every((id) => def.questions.some((q) => q.id === id));
		return renderForm(c, def, locale, status, headers, {
			values: extra.formValues ?? {},
			errors: fields,
			// Field errors are shown beside their fields; anything else heads the form.
			formError: code === "validation_failed" && aboutQuestions ? undefined : message,
		});
	};

	if (!kind) return reject(415, "unsupported_media_type");
	// Counted before anything else is done with the request; the body is read anyway (bounded),
	// so that a refused form post still shows what was typed.
	const withinLimit = await isWithinRateLimit(c.env, ip);
	const bytes = await readBodyLimited(c.req.raw, SUBMISSION_BODY_LIMIT);
	if (!withinLimit) {
		const typed = kind === "form" && bytes ? parseFormSubmission(bytes) : undefined;
		return reject(429, "rate_limited", { formValues: typed?.ok ? typed.posted.formValues : undefined });
	}
	if (!bytes) return reject(413, "payload_too_large");
	const parsed = kind === "json" ? parseJsonSubmission(bytes) : parseFormSubmission(bytes);
	if (!parsed.ok) return reject(400, parsed.code);
	const { answers, honeypot, turnstileToken, formValues } = parsed.posted;

	if (isFilled(honeypot)) return reject(400, "rejected", { formValues });

	const result = validateAnswers(def, answers, locale);
	if (!result.ok) return reject(400, "validation_failed", { fields: result.fields, formValues });

	let turnstile: "passed" | "not_configured" = "not_configured";
	if (config.TURNSTILE_SECRET) {
		const outcome = await verifyTurnstile({
			secret: config.TURNSTILE_SECRET,
			token: turnstileToken,
			remoteIp: ip,
			url: config.TURNSTILE_VERIFY_URL,
		});
		if (outcome === "failed") return reject(400, "turnstile_failed", { formValues });
		if (outcome === "unavailable") return reject(503, "turnstile_unavailable", { formValues });
		turnstile = "passed";
	}

	const id = crypto.randomUUID();
	try {
		await insertSubmission(c.env.DB, {
			id,
			receivedAt: new Date().toISOString(),
			questionnaireVersion: def.version,
			role: result.role,
			answers: result.answers,
			validation: {
				outcome: "accepted",
				questionnaire_version: def.version,
				via: kind,
				answered: Object.keys(result.answers).length,
				normalised: result.normalised,
				honeypot: "empty",
				turnstile,
			},
		});
	} catch (err) {
		// The batch is one transaction: nothing was stored. A person posting the form gets the
		// page back with what they typed (not a JSON error); the cause goes to the log only.
		logError("submission_store_failed", { kind, error: describeError(err) });
		return reject(503, "store_failed", { formValues });
	}
	// No log line on success: Workers Logs already records each invocation with its status,
	// and a line per accepted submission was 16 % of the route's CPU (docs/BENCHMARKS.md).
	if (kind === "form") return c.redirect(`/merci${localeQuery(locale)}`, 303);
	return c.json({ id }, 201);
}

/** The questionnaire page again, with the errors and what was typed. */
async function renderForm(
	c: AppContext,
	def: Questionnaire,
	locale: Locale,
	status: ContentfulStatusCode,
	headers: Record<string, string>,
	page: { values: Record<string, string | string[]>; errors: Record<string, string>; formError?: string },
) {
	// Without the role list (D1 failing) the page still shows, with an empty picker.
	const config = c.var.config;
	const roles = await fetchRoleSuggestions(c.env.DB, def, config.ROLE_SUGGEST_MIN_USES, locale).catch(() => []);
	const siteKey = config.TURNSTILE_SITE_KEY;
	const html = renderFormPage({ questionnaire: def, roles, ...page, locale, turnstileSiteKey: siteKey, contactEmail: config.CONTACT_EMAIL });
	return c.html(html, status, { ...buildPageHeaders(locale, { turnstile: Boolean(siteKey) }), ...headers });
}

export const submissionRoutes = createSubmissionRoutes(defaultQuestionnaire);
