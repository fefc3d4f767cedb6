// POST /api/submissions through the real Worker on local D1: accepted and rejected submissions
// (nothing stored when rejected), body limits, content types, honeypot, rate limit, Turnstile,
// the form's post, the counters invariant, and a definition that changes.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../src/http/app";
import { createRouter, withConfig } from "../src/http/router";
import { buildRateLimitKey, createSubmissionRoutes, readBodyLimited, SUBMISSION_BODY_LIMIT } from "../src/http/submissions";
import { questionnaire, type Questionnaire } from "../src/questionnaire/definition";
import { countStored, postForm, postJson, uniqueIp, validAnswers, type StoredCounts } from "./helpers/submissions";

const BASE = "http://example.com";

type ErrorEnvelope = { error: { code: string; message: string; fields?: Record<string, string> } };

/** Run `send`, assert it was refused with `status`/`code`, and that nothing at all was stored. */
async function expectRejected(send: () => Promise<Response>, status: number, code: string): Promise<ErrorEnvelope> {
	const before = await countStored();
	const res = await send();
	expect(res.status).toBe(status);
	const body = (await res.json()) as ErrorEnvelope;
	expect(body.error.code).toBe(code);
	expect(typeof body.error.message).toBe("string");
	expect(await countStored()).toEqual(before);
	return body;
}

function formFields(overrides: Record<string, string | string[]> = {}): [string, string][] {
	const fields: Record<string, string | string[]> = {
		cafe: "Le Petit Café",
		ville: "Lyon",
		role: "Formateur",
		satisfaction: "4",
		consentement: "on",
		site_web: "",
		...overrides,
	};
	return Object.entries(fields).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x): [string, string] => [k, x]) : [[k, v]]));
}

describe("GET /api/questionnaire", () => {
	it("returns the definition as JSON", async () => {
		const res = await exports.default.fetch(`${BASE}/api/questionnaire`);
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual(JSON.parse(JSON.stringify(questionnaire)));
	});
});

describe("accepted submissions", () => {
	it("JSON: 201 with an id; the row, its metadata, its role and counters are stored", async () => {
		const before = await countStored();
		const t0 = new Date().toISOString();
		const res = await postJson({ answers: validAnswers({ cafe: "  Café  de la Gare ", commentaire: "Très bien" }) });
		expect(res.status).toBe(201);
		const { id } = (await res.json()) as { id: string };
		expect(id).toMatch(/^[0-9a-f-]{36}$/);

		const row = await env.DB.prepare("SELECT * FROM submissions WHERE id = ?").bind(id).first<{
			questionnaire_version: string;
			role_key: string;
			received_at: string;
			answers: string;
			validation: string;
		}>();
		expect(row).toMatchObject({ questionnaire_version: questionnaire.version, role_key: "formateur" });
		expect(row!.received_at >= t0 && row!.received_at <= new Date().toISOString()).toBe(true);
		expect(JSON.parse(row!.answers)).toEqual({
			cafe: "Café de la Gare",
			ville: "Lyon",
			role: "Formateur",
			satisfaction: 4,
			commentaire: "Très bien",
			consentement: true,
		});
		expect(JSON.parse(row!.validation)).toEqual({
			outcome: "accepted",
			questionnaire_version: questionnaire.version,
			via: "json",
			answered: 6,
			normalised: ["cafe"],
			honeypot: "empty",
			turnstile: "not_configured",
		});
		const after = await countStored();
		expect(after.submissions).toBe(before.submissions + 1);
		expect(after.uses).toBe(before.uses + 1);
		// total, day and role counters each moved by one.
		expect(after.counted).toBe(before.counted + 3);
	});

	it("form post: 303 to /merci (keeping the language), stored like JSON", async () => {
		const before = await countStored();
		const res = await postForm(formFields({ activites: ["bar", "cuisine"] }));
		expect(res.status).toBe(303);
		expect(res.headers.get("Location")).toBe("/merci");
		const en = await postForm(formFields(), { query: "?lang=en" });
		expect(en.status).toBe(303);
		expect(en.headers.get("Location")).toBe("/merci?lang=en");
		expect((await countStored()).submissions).toBe(before.submissions + 2);
		const last = await env.DB.prepare("SELECT answers, validation FROM submissions ORDER BY seq DESC LIMIT 1 OFFSET 1").first<{
			answers: string;
			validation: string;
		}>();
		expect(JSON.parse(last!.answers)).toMatchObject({ satisfaction: 4, consentement: true, activites: ["bar", "cuisine"] });
		expect(JSON.parse(last!.validation)).toMatchObject({ via: "form" });
	});

	it("accepts a body of exactly the size limit", async () => {
		const base = JSON.stringify({ answers: validAnswers({ commentaire: "" }) });
		// Pad with JSON whitespace up to the byte limit: still a valid body.
		const body = base + " ".repeat(SUBMISSION_BODY_LIMIT - new TextEncoder().encode(base).byteLength);
		expect(new TextEncoder().encode(body).byteLength).toBe(SUBMISSION_BODY_LIMIT);
		expect((await postJson(body)).status).toBe(201);
	});
});

describe("rejected submissions store nothing", () => {
	it("invalid answers: 400 with a reason per field", async () => {
		const body = await expectRejected(
			() => postJson({ answers: validAnswers({ ville: "", satisfaction: 8, consentement: false }) }),
			400,
			"validation_failed",
		);
		expect(body.error.fields).toEqual({
			ville: "Ce champ est obligatoire.",
			satisfaction: "Choisissez une note entière de 1 à 5.",
			consentement: "Cochez cette case pour pouvoir envoyer vos réponses.",
		});
	});

	it("messages follow ?lang=en or Accept-Language", async () => {
		const viaQuery = await expectRejected(() => postJson({ answers: validAnswers({ ville: "" }) }, { query: "?lang=en" }), 400, "validation_failed");
		expect(viaQuery.error).toMatchObject({ message: "Some answers need correcting.", fields: { ville: "This field is required." } });
		const viaHeader = await expectRejected(
			() => postJson({ answers: validAnswers({ ville: "" }) }, { headers: { "Accept-Language": "en-GB,en;q=0.9" } }),
			400,
			"validation_failed",
		);
		expect(viaHeader.error.fields).toEqual({ ville: "This field is required." });
	});

	it("unknown questions: 400 naming them", async () => {
		const body = await expectRejected(
			() => postJson({ answers: validAnswers({ age: 42, "role ": "x" }) }),
			400,
			"validation_failed",
		);
		expect(Object.keys(body.error.fields!).sort()).toEqual(["age", "role "]);
	});

	it("wrong types: 400", async () => {
		const body = await expectRejected(
			() => postJson({ answers: validAnswers({ cafe: 7, satisfaction: "beaucoup", activites: "tout", consentement: "bof" }) }),
			400,
			"validation_failed",
		);
		expect(Object.keys(body.error.fields!).sort()).toEqual(["activites", "cafe", "consentement", "satisfaction"]);
	});

	it("malformed bodies: invalid_json or invalid_body", async () => {
		await expectRejected(() => postJson("{not json"), 400, "invalid_json");
		await expectRejected(() => postJson(new TextDecoder("latin1").decode(new Uint8Array([0x7b, 0xff, 0x7d]))), 400, "invalid_json");
		await expectRejected(() => postJson([validAnswers()]), 400, "invalid_body");
		await expectRejected(() => postJson(validAnswers()), 400, "invalid_body");
		await expectRejected(() => postJson({ answers: [1] }), 400, "invalid_body");
		await expectRejected(() => postJson({ answers: validAnswers(), extra: 1 }), 400, "invalid_body");
		await expectRejected(() => postJson({ answers: validAnswers(), "cf-turnstile-response": 5 }), 400, "invalid_body");
	});

	it("oversized by Content-Length: 413", async () => {
		const body = JSON.stringify({ answers: validAnswers({ commentaire: "x".repeat(SUBMISSION_BODY_LIMIT) }) });
		await expectRejected(() => postJson(body), 413, "payload_too_large");
	});

	it("oversized without Content-Length (streamed): 413 once the bytes read pass the limit", async () => {
		const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
		let sent = 0;
		const stream = new ReadableStream<Uint8Array>({
			pull(controller) {
				if (sent === 0) controller.enqueue(new TextEncoder().encode(JSON.stringify({ answers: validAnswers() })));
				if (sent++ < 8) controller.enqueue(chunk);
				else controller.close();
			},
		});
		await expectRejected(
			() =>
				exports.default.fetch(`${BASE}/api/submissions`, {
					method: "POST",
					headers: { "Content-Type": "application/json", "CF-Connecting-IP": uniqueIp() },
					body: stream,
					duplex: "half",
				} as RequestInit),
			413,
			"payload_too_large",
		);
	});

	it("readBodyLimited trusts the bytes, not a Content-Length that understates them", async () => {
		const body = "x".repeat(100);
		const lying = new Request(`${BASE}/`, { method: "POST", body, headers: { "Content-Length": "10" } });
		expect(await readBodyLimited(lying, 50)).toBeUndefined();
		const ok = new Request(`${BASE}/`, { method: "POST", body });
		expect((await readBodyLimited(ok, 100))?.byteLength).toBe(100);
		expect(await readBodyLimited(new Request(`${BASE}/`, { method: "POST", body, headers: { "Content-Length": "999999" } }), 100)).toBeUndefined();
	});

	it.each([["text/plain"], ["multipart/form-data; boundary=x"], ["application/xml"], [""]])(
		"content type %j: 415",
		async (type) => {
			await expectRejected(
				() =>
					exports.default.fetch(`${BASE}/api/submissions`, {
						method: "POST",
						headers: { ...(type ? { "Content-Type": type } : {}), "CF-Connecting-IP": uniqueIp() },
						body: JSON.stringify({ answers: validAnswers() }),
					}),
				415,
				"unsupported_media_type",
			);
		},
	);

	it("accepts a JSON content type with a charset", async () => {
		const res = await postJson({ answers: validAnswers() }, { headers: { "Content-Type": "application/json; charset=UTF-8" } });
		expect(res.status).toBe(201);
	});

	it("a filled honeypot: 400 rejected, JSON and form alike", async () => {
		await expectRejected(() => postJson({ answers: validAnswers(), site_web: "http://spam.example" }), 400, "rejected");
		const before = await countStored();
		const res = await postForm(formFields({ site_web: "http://spam.example" }));
		expect(res.status).toBe(400);
		expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
		expect(await countStored()).toEqual(before);
		// An empty (or blank) honeypot is what people send.
		expect((await postJson({ answers: validAnswers(), site_web: " " })).status).toBe(201);
	});
});

describe("the form's post on an error", () => {
	it("answers 400 with the page again: what was typed, and the reasons", async () => {
		const before = await countStored();
		const res = await postForm(formFields({ cafe: "Chez Mémé & Cie", ville: "", satisfaction: "9" }));
		expect(res.status).toBe(400);
		expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
		const html = await res.text();
		expect(html).toContain("Chez Mémé &amp; Cie");
		expect(html).toContain("Ce champ est obligatoire.");
		expect(html).toContain("Choisissez une note entière de 1 à 5.");
		expect(await countStored()).toEqual(before);
	});

	it("in English when the form was in English", async () => {
		const res = await postForm(formFields({ ville: "" }), { query: "?lang=en" });
		expect(res.status).toBe(400);
		const html = await res.text();
		expect(html).toContain('lang="en"');
		expect(html).toContain("This field is required.");
	});
});

describe("rate limit", () => {
	it("answers 429 past the limit for one client address, and stores none of those", async () => {
		const ip = uniqueIp();
		const before = await countStored();
		let accepted = 0;
		let limited: Response | undefined;
		// 10 per 60 s window: 21 requests pass a limit even if a window boundary falls between them.
		for (let i = 0; i < 21 && !limited; i++) {
			const res = await postJson({ answers: validAnswers() }, { ip });
			if (res.status === 201) accepted++;
			else if (res.status === 429) limited = res;
			else throw new Error(`unexpected status ${res.status}`);
		}
		expect(limited).toBeDefined();
		expect(limited!.headers.get("Retry-After")).toBe("60");
		expect(((await limited!.json()) as ErrorEnvelope).error.code).toBe("rate_limited");
		expect((await countStored()).submissions).toBe(before.submissions + accepted);
		// Another client is not affected.
		expect((await postJson({ answers: validAnswers() })).status).toBe(201);
	});

	it.each<[string | undefined, string]>([
		["203.0.113.7", "ip:203.0.113.7"],
		["2001:db8:1:2:3:4:5:6", "ip6:2001:db8:1:2::/64"],
		["2001:db8:1:2::99", "ip6:2001:db8:1:2::/64"],
		["2001:DB8:0001:0002:ffff::1", "ip6:2001:db8:1:2::/64"],
		["::1", "ip6:0:0:0:0::/64"],
		["::ffff:198.51.100.4", "ip:198.51.100.4"],
		[undefined, "ip:unknown"],
	])("keys %j as %j", (ip, key) => {
		expect(buildRateLimitKey(ip)).toBe(key);
	});
});

describe("when D1 refuses the write", () => {
	it("answers 503 store_failed in the envelope, stores nothing, and logs no answer", async () => {
		await env.DB.prepare(
			"CREATE TRIGGER test_refuse_insert BEFORE INSERT ON submissions BEGIN SELECT RAISE(ABORT, 'simulated outage'); END",
		).run();
		const lines: string[] = [];
		const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
		const spies = [vi.spyOn(console, "log").mockImplementation(capture), vi.spyOn(console, "error").mockImplementation(capture)];
		try {
			const body = await expectRejected(
				() => postJson({ answers: validAnswers({ commentaire: "secret-comment-4821", email: "private-4821@example.com" }) }),
				503,
				"store_failed",
			);
			expect(JSON.stringify(body)).not.toContain("simulated outage");
		} finally {
			for (const spy of spies) spy.mockRestore();
			await env.DB.prepare("DROP TRIGGER test_refuse_insert").run();
		}
		expect(lines.some((l) => l.includes('"submission_store_failed"'))).toBe(true);
		expect(lines.join("\n")).not.toMatch(/secret-comment-4821|private-4821/);
	});
});

describe("Turnstile, when TURNSTILE_SECRET is set", () => {
	const VERIFY_URL = "https://turnstile.test/siteverify";
	const turnstileEnv = { ...env, TURNSTILE_SECRET: "test-secret", TURNSTILE_SITE_KEY: "test-site-key", TURNSTILE_VERIFY_URL: VERIFY_URL };

	afterEach(() => {
		vi.restoreAllMocks();
	});

	async function send(body: unknown): Promise<Response> {
		const ctx = createExecutionContext();
		const res = await app.fetch(
			new Request(`${BASE}/api/submissions`, {
				method: "POST",
				headers: { "Content-Type": "application/json", "CF-Connecting-IP": "198.51.100.23" },
				body: JSON.stringify(body),
			}),
			turnstileEnv,
			ctx,
		);
		await waitOnExecutionContext(ctx);
		return res;
	}

	/** Stand in for siteverify: record each call, answer with `reply`. */
	function mockSiteverify(reply: () => Response) {
		const calls: { url: string; form: URLSearchParams }[] = [];
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			calls.push({ url: String(input), form: new URLSearchParams(String(init?.body)) });
			return reply();
		});
		return calls;
	}

	it("stores the submission when siteverify vouches for the token", async () => {
		const calls = mockSiteverify(() => Response.json({ success: true }));
		const res = await send({ answers: validAnswers(), "cf-turnstile-response": "good-token" });
		expect(res.status).toBe(201);
		expect(calls).toHaveLength(1);
		expect(calls[0]!.url).toBe(VERIFY_URL);
		expect(Object.fromEntries(calls[0]!.form)).toEqual({
			secret: "test-secret",
			response: "good-token",
			remoteip: "198.51.100.23",
		});
		const { id } = (await res.json()) as { id: string };
		const row = await env.DB.prepare("SELECT validation FROM submissions WHERE id = ?").bind(id).first<{ validation: string }>();
		expect(JSON.parse(row!.validation)).toMatchObject({ turnstile: "passed" });
	});

	it("rejects a refused token (400) and a missing one without asking Cloudflare", async () => {
		const calls = mockSiteverify(() => Response.json({ success: false, "error-codes": ["invalid-input-response"] }));
		await expectRejected(() => send({ answers: validAnswers(), "cf-turnstile-response": "bad" }), 400, "turnstile_failed");
		expect(calls).toHaveLength(1);
		await expectRejected(() => send({ answers: validAnswers() }), 400, "turnstile_failed");
		expect(calls).toHaveLength(1);
	});

	it("answers 503 when siteverify is unreachable or broken, storing nothing", async () => {
		mockSiteverify(() => new Response("oops", { status: 502 }));
		await expectRejected(() => send({ answers: validAnswers(), "cf-turnstile-response": "t" }), 503, "turnstile_unavailable");
		vi.restoreAllMocks();
		vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("network down"));
		await expectRejected(() => send({ answers: validAnswers(), "cf-turnstile-response": "t" }), 503, "turnstile_unavailable");
	});

	it("is not consulted for answers that are invalid anyway", async () => {
		const calls = mockSiteverify(() => Response.json({ success: true }));
		await expectRejected(() => send({ answers: validAnswers({ ville: "" }), "cf-turnstile-response": "t" }), 400, "validation_failed");
		expect(calls).toHaveLength(0);
	});
});

describe("counters", () => {
	/** Counters and the aggregates over the rows, read in one batch (one consistent view). */
	async function readCountersAndAggregates() {
		const [counters, total, byRole, byDay, roleUses] = await env.DB.batch<{ name: string; value: number }>([
			env.DB.prepare("SELECT name, value FROM counters"),
			env.DB.prepare("SELECT 'total' AS name, COUNT(*) AS value FROM submissions"),
			env.DB.prepare("SELECT 'role:' || role_key AS name, COUNT(*) AS value FROM submissions WHERE role_key <> '' GROUP BY role_key"),
			env.DB.prepare("SELECT 'day:' || substr(received_at, 1, 10) AS name, COUNT(*) AS value FROM submissions GROUP BY substr(received_at, 1, 10)"),
			env.DB.prepare(
				`SELECT 'role:' || r.role_key AS name, r.use_count - (SELECT COUNT(*) FROM submissions s WHERE s.role_key = r.role_key) AS value FROM roles r`,
			),
		]);
		const asMap = (rows: { name: string; value: number }[]) => Object.fromEntries(rows.map((r) => [r.name, r.value]));
		return {
			counters: asMap(counters!.results),
			aggregates: { ...asMap(total!.results), ...asMap(byRole!.results), ...asMap(byDay!.results) },
			roleUseDrift: roleUses!.results.filter((r) => r.value !== 0),
		};
	}

	it("equal the rows after many submissions, 50 of them concurrent, with rejections mixed in", async () => {
		const roles = ["Formateur", "formateur", "Serveuse", "SERVEUSE", "Barista", "Gérante", "gerante"];
		for (let i = 0; i < 10; i++) {
			expect((await postJson({ answers: validAnswers({ role: roles[i % roles.length] }) })).status).toBe(201);
		}
		const concurrent = await Promise.all(
			Array.from({ length: 50 }, (_, i) =>
				i % 10 === 9
					? postJson({ answers: validAnswers({ satisfaction: 0 }) }) // rejected
					: i % 2 === 0
						? postJson({ answers: validAnswers({ role: roles[i % roles.length] }) })
						: postForm(formFields({ role: roles[(i * 3) % roles.length]! })),
			),
		);
		const statuses = concurrent.map((r) => r.status);
		expect(statuses.filter((s) => s === 201 || s === 303)).toHaveLength(45);
		expect(statuses.filter((s) => s === 400)).toHaveLength(5);

		const { counters, aggregates, roleUseDrift } = await readCountersAndAggregates();
		expect(counters).toEqual(aggregates);
		expect(counters.total).toBeGreaterThanOrEqual(55);
		expect(counters["role:gerante"]).toBeGreaterThan(0);
		expect(roleUseDrift).toEqual([]);
	});
});

describe("a definition that changes", () => {
	it("an added question is validated, stored, and served by GET /api/questionnaire", async () => {
		const copy: Questionnaire = {
			...questionnaire,
			version: "test-2",
			questions: [
				...questionnaire.questions,
				{
					id: "nb_stagiaires",
					type: "single_choice",
					required: true,
					label: { fr: "Combien de stagiaires accueillez-vous ?" },
					options: [
						{ value: "1", label: { fr: "Un" } },
						{ value: "2+", label: { fr: "Deux ou plus" } },
					],
				},
			],
		};
		const testApp = createRouter().use(withConfig).route("/", createSubmissionRoutes(copy));
		const post = (answers: Record<string, unknown>) =>
			testApp.request(
				"/api/submissions",
				{
					method: "POST",
					headers: { "Content-Type": "application/json", "CF-Connecting-IP": uniqueIp() },
					body: JSON.stringify({ answers }),
				},
				env,
			);

		const before: StoredCounts = await countStored();
		const missing = await post(validAnswers());
		expect(missing.status).toBe(400);
		expect(((await missing.json()) as ErrorEnvelope).error.fields).toEqual({ nb_stagiaires: "Ce champ est obligatoire." });
		expect(await countStored()).toEqual(before);

		const ok = await post(validAnswers({ nb_stagiaires: "2+" }));
		expect(ok.status).toBe(201);
		const { id } = (await ok.json()) as { id: string };
		const row = await env.DB.prepare("SELECT questionnaire_version, answers FROM submissions WHERE id = ?").bind(id).first<{
			questionnaire_version: string;
			answers: string;
		}>();
		expect(row!.questionnaire_version).toBe("test-2");
		expect(JSON.parse(row!.answers)).toMatchObject({ nb_stagiaires: "2+" });

		const served = (await (await testApp.request("/api/questionnaire", {}, env)).json()) as Questionnaire;
		expect(served.questions.map((q) => q.id)).toContain("nb_stagiaires");
		// The default app does not know the question.
		const refused = await postJson({ answers: validAnswers({ nb_stagiaires: "2+" }) });
		expect(((await refused.json()) as ErrorEnvelope).error.fields).toHaveProperty("nb_stagiaires");
	});
});
