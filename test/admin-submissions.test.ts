// Administrator reads of submissions: authentication, the paginated JSON listing, and the CSV
// export (escaping, formula neutralisation, BOM, paging through the stream).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { streamSubmissionsCsv } from "../src/http/admin-submissions";
import { buildCsvHeader, buildCsvRecord, escapeCsvCell } from "../src/questionnaire/csv";
import { questionnaire } from "../src/questionnaire/definition";
import { adminGet, postJson, validAnswers } from "./helpers/submissions";

/** A small RFC 4180 reader, to check that what the export writes reads back cell for cell. */
function parseCsv(text: string): string[][] {
	const rows: string[][] = [];
	let row: string[] = [];
	let cell = "";
	let quoted = false;
	for (let i = 0; i < text.length; i++) {
		const ch = text[i]!;
		if (quoted) {
			if (ch === '"' && text[i + 1] === '"') {
				cell += '"';
				i++;
			} else if (ch === '"') quoted = false;
			else cell += ch;
		} else if (ch === '"') quoted = true;
		else if (ch === ",") {
			row.push(cell);
			cell = "";
		} else if (ch === "\r" && text[i + 1] === "\n") {
			row.push(cell);
			rows.push(row);
			row = [];
			cell = "";
			i++;
		} else cell += ch;
	}
	if (cell !== "" || row.length) throw new Error("CSV does not end with CRLF");
	return rows;
}

async function submit(overrides: Record<string, unknown> = {}): Promise<string> {
	const res = await postJson({ answers: validAnswers(overrides) });
	expect(res.status).toBe(201);
	return ((await res.json()) as { id: string }).id;
}

type Listed = {
	seq: number;
	id: string;
	received_at: string;
	questionnaire_version: string;
	role: { key: string; label: string } | null;
	answers: Record<string, unknown>;
	validation: Record<string, unknown>;
};
type Listing = { submissions: Listed[]; next_cursor: string | null };

describe("administrator authentication", () => {
	const paths = ["/api/admin/submissions", "/api/admin/submissions.csv"];

	it.each(paths)("%s: 401 without a token", async (path) => {
		const res = await adminGet(path, null);
		expect(res.status).toBe(401);
		expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
		expect(await res.json()).toMatchObject({ error: { code: "unauthorized" } });
	});

	it.each(paths)("%s: 401 with a wrong token or scheme", async (path) => {
		for (const auth of [`Bearer ${env.ADMIN_TOKEN}x`, "Bearer nope", `Basic ${env.ADMIN_TOKEN}`, env.ADMIN_TOKEN]) {
			expect((await adminGet(path, auth)).status, auth).toBe(401);
		}
	});

	it.each(paths)("%s: 200 with the token", async (path) => {
		const res = await adminGet(path);
		expect(res.status).toBe(200);
		await res.arrayBuffer();
	});
});

describe("GET /api/admin/submissions", () => {
	// First in the file: the database is still empty.
	it("is empty before any submission, and so is the CSV (BOM and header only)", async () => {
		const res = await adminGet("/api/admin/submissions");
		expect(res.headers.get("Cache-Control")).toBe("no-store");
		expect(await res.json()).toEqual({ submissions: [], next_cursor: null });

		const csv = await adminGet("/api/admin/submissions.csv");
		expect(csv.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
		expect(csv.headers.get("Content-Disposition")).toMatch(/^attachment; filename="submissions-\d{4}-\d{2}-\d{2}\.csv"$/);
		const bytes = new Uint8Array(await csv.arrayBuffer());
		expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		expect(new TextDecoder().decode(bytes)).toBe(buildCsvHeader(questionnaire)); // TextDecoder drops the BOM
	});

	it("pages through every submission with the cursor, newest first by default", async () => {
		const ids: string[] = [];
		for (let i = 0; i < 7; i++) ids.push(await submit({ cafe: `Café ${i}`, role: i % 2 ? "Serveur" : "Formateur" }));

		const seen: Listed[] = [];
		let cursor: string | null = null;
		let pages = 0;
		do {
			const res = await adminGet(`/api/admin/submissions?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
			expect(res.status).toBe(200);
			const page = (await res.json()) as Listing;
			expect(page.submissions.length).toBeLessThanOrEqual(3);
			seen.push(...page.submissions);
			cursor = page.next_cursor;
			pages++;
		} while (cursor && pages < 10);
		expect(pages).toBe(3);
		expect(seen.map((s) => s.id)).toEqual([...ids].reverse());

		const newest = seen[0]!;
		expect(newest).toMatchObject({
			questionnaire_version: questionnaire.version,
			role: { key: "formateur", label: "Formateur" },
			answers: { cafe: "Café 6", satisfaction: 4, consentement: true },
			validation: { outcome: "accepted" },
		});

		const asc = (await (await adminGet("/api/admin/submissions?order=asc&limit=200")).json()) as Listing;
		expect(asc.submissions.map((s) => s.id)).toEqual(ids);
		expect(asc.next_cursor).toBeNull();
		const after = (await (await adminGet(`/api/admin/submissions?order=asc&cursor=${asc.submissions[4]!.seq}`)).json()) as Listing;
		expect(after.submissions.map((s) => s.id)).toEqual(ids.slice(5));
	});

	it.each([
		["limit=0", "limit"],
		["limit=201", "limit"],
		["limit=abc", "limit"],
		["limit=-1", "limit"],
		["cursor=1.5", "cursor"],
		["order=random", "order"],
		// A typo is refused rather than silently ignored (the page would not be the one asked for).
		["limt=10", "limt"],
	])("rejects ?%s with 400 naming the parameter", async (query, field) => {
		const res = await adminGet(`/api/admin/submissions?${query}`);
		expect(res.status).toBe(400);
		const body = (await res.json()) as { error: { code: string; fields: Record<string, string> } };
		expect(body.error.code).toBe("invalid_query");
		expect(Object.keys(body.error.fields)).toEqual([field]);
	});
});

describe("CSV cells", () => {
	it.each<[string, string]>([
		["plain", "plain"],
		["", ""],
		["a,b", '"a,b"'],
		['il a dit "oui"', '"il a dit ""oui"""'],
		["ligne 1\nligne 2", '"ligne 1\nligne 2"'],
		["a\r\nb", '"a\r\nb"'],
		["=1+1", "'=1+1"],
		["+33 6 12 34 56 78", "'+33 6 12 34 56 78"],
		["-2", "'-2"],
		["@SUM(A1:A2)", "'@SUM(A1:A2)"],
		["\t=1", "'\t=1"],
		["\r=1", "\"'\r=1\""],
		['=HYPERLINK("http://x","clic")', '"\'=HYPERLINK(""http://x"",""clic"")"'],
		["1+1=2", "1+1=2"],
		["Café ☕", "Café ☕"],
	])("%j -> %j", (value, cell) => {
		expect(escapeCsvCell(value)).toBe(cell);
	});

	it("one column per question, after the submission's own columns", () => {
		expect(buildCsvHeader(questionnaire)).toBe(
			["submission_id", "received_at", "questionnaire_version", "role_label", ...questionnaire.questions.map((q) => q.id)].join(",") +
				"\r\n",
		);
		const line = buildCsvRecord(
			questionnaire,
			{
				id: "s1",
				received_at: "2026-11-25T10:00:00.000Z",
				questionnaire_version: "v",
				role_label: "Formateur",
				answers: JSON.stringify({ cafe: "=A1", satisfaction: 5, activites: ["bar", "cuisine"], consentement: true, ancienne: "x" }),
			},
			"fr",
		);
		expect(parseCsv(line)).toEqual([
			["s1", "2026-11-25T10:00:00.000Z", "v", "Formateur", "'=A1", "", "", "", "bar; cuisine", "5", "", "", "oui"],
		]);
	});
});

describe("a damaged stored row", () => {
	it("fails naming the submission, never quoting its answers (the message reaches the log)", () => {
		const row = { id: "s-damaged", received_at: "2026-11-25T10:00:00.000Z", questionnaire_version: "v", role_label: null, answers: "secret-4821 text" };
		expect(() => buildCsvRecord(questionnaire, row, "fr")).toThrow(/submission s-damaged/);
		expect(() => buildCsvRecord(questionnaire, row, "fr")).not.toThrow(/secret/);
	});
});

describe("GET /api/admin/submissions.csv", () => {
	it("exports every submission, escaped and neutralised, readable back cell for cell", async () => {
		const tricky = {
			cafe: '=HYPERLINK("http://evil.example","Cliquez")',
			ville: "+33 Lyon, Rhône",
			role: "@Chef, « cuisine »",
			commentaire: 'Bien.\nTrès "bien", même.\n-- fin',
			email: "marie@exemple.fr",
			activites: ["service", "evenements"],
		};
		const id = await submit(tricky);
		await submit({ cafe: "Café normal" });

		const res = await adminGet("/api/admin/submissions.csv");
		expect(res.status).toBe(200);
		const text = new TextDecoder().decode(await res.arrayBuffer());
		const [header, ...rows] = parseCsv(text);
		expect(header).toEqual(parseCsv(buildCsvHeader(questionnaire))[0]);
		const col = (name: string) => header!.indexOf(name);
		const row = rows.find((r) => r[col("submission_id")] === id)!;
		expect(row[col("cafe")]).toBe(`'${tricky.cafe}`);
		expect(row[col("ville")]).toBe(`'${tricky.ville}`);
		expect(row[col("role")]).toBe(`'${tricky.role}`);
		expect(row[col("role_label")]).toBe(`'${tricky.role}`);
		expect(row[col("commentaire")]).toBe(tricky.commentaire);
		expect(row[col("activites")]).toBe("service; evenements");
		expect(row[col("consentement")]).toBe("oui");
		expect(row[col("questionnaire_version")]).toBe(questionnaire.version);
		const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM submissions").first<{ n: number }>();
		expect(rows).toHaveLength(stored!.n);
		// No cell a spreadsheet would evaluate.
		for (const r of rows) for (const cell of r) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
	});

	it("streams in pages up to the bound taken at the start", async () => {
		const { results } = await env.DB.prepare("SELECT seq, id FROM submissions ORDER BY seq").all<{ seq: number; id: string }>();
		for (let i = 0; i < 4; i++) await submit({ cafe: `Page ${i}` });
		const all = await env.DB.prepare("SELECT seq, id FROM submissions ORDER BY seq").all<{ seq: number; id: string }>();
		expect(all.results.length).toBe(results.length + 4);
		const bound = all.results[all.results.length - 2]!.seq; // leaves the newest out

		const reader = streamSubmissionsCsv(env.DB, questionnaire, { locale: "fr", maxSeq: bound, pageSize: 2 }).getReader();
		const chunks: string[] = [];
		const decoder = new TextDecoder();
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			chunks.push(decoder.decode(value, { stream: true }));
		}
		// Header chunk, then one chunk per page of at most 2 rows.
		const expectedIds = all.results.filter((r) => r.seq <= bound).map((r) => r.id);
		expect(chunks.length).toBe(1 + Math.ceil(expectedIds.length / 2));
		const [, ...rows] = parseCsv(chunks.join(""));
		expect(rows.map((r) => r[0])).toEqual(expectedIds);
	});
});
