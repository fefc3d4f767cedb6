// Administrator reads of submissions: authentication, the paginated JSON listing, and the CSV
// export (French-Excel and raw formats, escaping, formula neutralisation whichever separator a
// spreadsheet splits on, BOM, paging through the stream).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { streamSubmissionsCsv } from "../src/http/admin-submissions";
import { buildCsvHeader, buildCsvRecord, escapeCsvCell, formatLocalDateTime, type CsvOptions } from "../src/questionnaire/csv";
import { questionnaire } from "../src/questionnaire/definition";
import { adminGet, postJson, validAnswers } from "./helpers/submissions";

const EXCEL_FR: CsvOptions = { format: "excel", locale: "fr", timeZone: "Europe/Paris" };
const EXCEL_EN: CsvOptions = { format: "excel", locale: "en", timeZone: "Europe/Paris" };
const RAW: CsvOptions = { format: "raw", locale: "fr", timeZone: "Europe/Paris" };

/** A small RFC 4180 reader, to check that what the export writes reads back cell for cell. */
function parseCsv(text: string, separator: "," | ";" = ","): string[][] {
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
		else if (ch === separator) {
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

		for (const [query, options, name] of [
			["", EXCEL_FR, "reponses"],
			["?lang=en", EXCEL_EN, "answers"],
			["?format=raw", RAW, "submissions"],
		] as const) {
			const csv = await adminGet(`/api/admin/submissions.csv${query}`);
			expect(csv.status, query).toBe(200);
			expect(csv.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
			expect(csv.headers.get("Content-Disposition")).toMatch(new RegExp(`^attachment; filename="${name}-\\d{4}-\\d{2}-\\d{2}\\.csv"$`));
			const bytes = new Uint8Array(await csv.arrayBuffer());
			expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
			expect(new TextDecoder().decode(bytes)).toBe(buildCsvHeader(questionnaire, options)); // TextDecoder drops the BOM
		}
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
		// A semicolon is quoted too, whatever the file's separator (French Excel splits on it).
		["a;b", '"a;b"'],
		["Café;=1+1;", '"Café;=1+1;"'],
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
});

describe("CSV formats", () => {
	const row = {
		id: "s1",
		received_at: "2026-11-25T10:00:00.000Z",
		questionnaire_version: "v",
		role_label: "Formateur",
		answers: JSON.stringify({
			cafe: "=A1",
			role: "formateur",
			frequence: "mensuelle",
			satisfaction: 5,
			activites: ["bar", "cuisine", "disparue"],
			consentement: true,
			ancienne: "x",
		}),
	};

	it("raw: the question ids as columns, stored values, UTC ISO time, `,`", () => {
		expect(buildCsvHeader(questionnaire, RAW)).toBe(
			["submission_id", "received_at", "questionnaire_version", "role_label", ...questionnaire.questions.map((q) => q.id)].join(",") +
				"\r\n",
		);
		expect(parseCsv(buildCsvRecord(questionnaire, row, RAW))).toEqual([
			["s1", "2026-11-25T10:00:00.000Z", "v", "Formateur", "'=A1", "", "formateur", "mensuelle", "bar; cuisine; disparue", "5", "", "", "oui"],
		]);
	});

	it("excel, French: `;`, the questions' labels, answers as labels, Paris time, one role column", () => {
		const header = parseCsv(buildCsvHeader(questionnaire, EXCEL_FR), ";")[0]!;
		expect(header).toEqual([
			"Identifiant",
			"Reçue le (Europe/Paris)",
			"Nom du café",
			"Ville",
			"Votre rôle",
			"À quelle fréquence accueillez-vous des stagiaires ?",
			"Quelles activités proposez-vous ?",
			"Êtes-vous satisfait·e du partenariat ?",
			"Commentaire",
			"Adresse e-mail (facultatif)",
			questionnaire.questions.find((q) => q.id === "consentement")!.label.fr,
			"Version du questionnaire",
		]);
		const line = buildCsvRecord(questionnaire, row, EXCEL_FR);
		expect(parseCsv(line, ";")).toEqual([
			["s1", "25/11/2026 11:00:00", "'=A1", "", "Formateur", "Chaque mois", "Bar et boissons chaudes; Cuisine; disparue", "5", "", "", "oui", "v"],
		]);
		// Every cell is on its own between separators: the file has exactly header.length - 1 per line.
		expect(line.split(";").length).toBe(header.length + 2); // two more inside the quoted activities cell
	});

	it("excel, English: `,`, English labels and ISO-like local time", () => {
		expect(parseCsv(buildCsvHeader(questionnaire, EXCEL_EN))[0]!.slice(0, 5)).toEqual(["Id", "Received (Europe/Paris)", "Name of the café", "Town", "Your role"]);
		expect(parseCsv(buildCsvRecord(questionnaire, row, EXCEL_EN))[0]!.slice(0, 8)).toEqual([
			"s1",
			"2026-11-25 11:00:00",
			"'=A1",
			"",
			"Formateur",
			"Every month",
			"Bar and hot drinks; Kitchen; disparue",
			"5",
		]);
	});

	it.each<[string, string, "fr" | "en", string]>([
		["2026-11-25T10:00:00.000Z", "Europe/Paris", "fr", "25/11/2026 11:00:00"],
		["2026-07-01T10:00:00.000Z", "Europe/Paris", "fr", "01/07/2026 12:00:00"], // summer time
		["2026-03-29T00:59:59.000Z", "Europe/Paris", "fr", "29/03/2026 01:59:59"],
		["2026-03-29T01:00:00.000Z", "Europe/Paris", "fr", "29/03/2026 03:00:00"], // the spring change
		["2026-12-31T23:30:00.000Z", "Europe/Paris", "en", "2027-01-01 00:30:00"],
		["2026-12-31T23:30:00.000Z", "UTC", "fr", "31/12/2026 23:30:00"],
		["2026-11-25T10:00:00.000Z", "America/Cayenne", "fr", "25/11/2026 07:00:00"],
		["pas une date", "Europe/Paris", "fr", "pas une date"],
	])("local time of %s in %s (%s) is %s", (iso, tz, locale, expected) => {
		expect(formatLocalDateTime(iso, tz, locale)).toBe(expected);
	});
});

describe("a damaged stored row", () => {
	it("fails naming the submission, never quoting its answers (the message reaches the log)", () => {
		const row = { id: "s-damaged", received_at: "2026-11-25T10:00:00.000Z", questionnaire_version: "v", role_label: null, answers: "secret-4821 text" };
		for (const options of [EXCEL_FR, RAW]) {
			expect(() => buildCsvRecord(questionnaire, row, options)).toThrow(/submission s-damaged/);
			expect(() => buildCsvRecord(questionnaire, row, options)).not.toThrow(/secret/);
		}
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

		const res = await adminGet("/api/admin/submissions.csv?format=raw");
		expect(res.status).toBe(200);
		const text = new TextDecoder().decode(await res.arrayBuffer());
		const [header, ...rows] = parseCsv(text);
		expect(header).toEqual(parseCsv(buildCsvHeader(questionnaire, RAW))[0]);
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

		const reader = streamSubmissionsCsv(env.DB, questionnaire, { ...EXCEL_FR, maxSeq: bound, pageSize: 2 }).getReader();
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
		const [, ...rows] = parseCsv(chunks.join(""), ";");
		expect(rows.map((r) => r[0])).toEqual(expectedIds);
	});

	it("by default is the French spreadsheet: `;`, labels, local time, the shared role label", async () => {
		const id = await submit({ cafe: "Le Zinc", role: "formateur", frequence: "hebdomadaire", activites: ["caisse"], consentement: true });
		const text = new TextDecoder().decode(await (await adminGet("/api/admin/submissions.csv")).arrayBuffer());
		const [header, ...rows] = parseCsv(text, ";");
		expect(header).toEqual(parseCsv(buildCsvHeader(questionnaire, EXCEL_FR), ";")[0]);
		const row = rows.find((r) => r[0] === id)!;
		const stored = await env.DB.prepare("SELECT received_at FROM submissions WHERE id = ?1").bind(id).first<{ received_at: string }>();
		const col = (name: string) => header!.indexOf(name);
		expect(row[col("Reçue le (Europe/Paris)")]).toBe(formatLocalDateTime(stored!.received_at, "Europe/Paris", "fr"));
		expect(row[col("Reçue le (Europe/Paris)")]).toMatch(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/);
		expect(row[col("Nom du café")]).toBe("Le Zinc");
		// One role column, with the role's shared label (the first spelling, "Formateur" here).
		expect(header!.filter((h) => /rôle|role/i.test(h))).toEqual(["Votre rôle"]);
		expect(row[col("Votre rôle")]).toBe("Formateur");
		expect(row[col("À quelle fréquence accueillez-vous des stagiaires ?")]).toBe("Chaque semaine");
		expect(row[col("Quelles activités proposez-vous ?")]).toBe("Caisse et accueil");
		expect(row.at(-1)).toBe(questionnaire.version);
	});

	it.each([
		["format=xlsx", "format"],
		["lang=de", "lang"],
		["formt=raw", "formt"],
	])("rejects ?%s with 400 naming the parameter", async (query, field) => {
		const res = await adminGet(`/api/admin/submissions.csv?${query}`);
		expect(res.status).toBe(400);
		const body = (await res.json()) as { error: { code: string; fields: Record<string, string> } };
		expect(body.error.code).toBe("invalid_query");
		expect(Object.keys(body.error.fields)).toEqual([field]);
	});
});

/**
 * What a spreadsheet could run as a formula in `text`, read with `separator` (a proper RFC 4180
 * parse) AND split naively on the other separator (what Excel does with a file whose separator is
 * not its list separator): the start of every field outside a quoted cell.
 */
function findFormulaStarts(text: string, separator: "," | ";"): string[] {
	const found: string[] = [];
	for (const row of parseCsv(text, separator)) for (const cell of row) if (/^[=+\-@\t\r]/.test(cell)) found.push(cell);
	const other = separator === "," ? ";" : ",";
	let quoted = false;
	for (let i = 0; i < text.length; i++) {
		const ch = text[i]!;
		if (ch === '"') quoted = !quoted;
		else if (!quoted && (ch === other || ch === separator || ch === "\n") && /^([=+\-@\t]|\r(?!\n))/.test(text.slice(i + 1, i + 3))) {
			found.push(text.slice(i, i + 20));
		}
	}
	return found;
}

describe("no cell can start a formula, whether the file is split on `,` or on `;`", () => {
	const hostile = [
		"Café;=1+1;",
		"Café,=1+1,",
		"x;+33 6 12",
		"x,-2",
		"x;@SUM(A1:A9)",
		'x";=1+1;"',
		'"",=2+2',
		"x;\t=3",
		"x;\r=4",
		"a\r\n=5;=6",
		";=7",
		",=8",
		"=9;",
	];

	it("the checker itself catches today's failure (a `;` cell left unquoted in a `,` file)", () => {
		expect(findFormulaStarts("id,cafe\r\n1,Café;=1+1;\r\n", ",")).toEqual([";=1+1;\r\n"]);
		expect(findFormulaStarts("id,cafe\r\n1,Café;\r=1\r\n", ",")).toEqual([";\r=1\r\n"]);
		expect(findFormulaStarts('id;cafe\r\n1;"Café,=1+1"\r\n', ";")).toEqual([]);
		expect(findFormulaStarts("id;cafe\r\n1;=1\r\n", ";")).toEqual(["=1", ";=1\r\n"]);
	});

	it.each([
		["excel fr", EXCEL_FR, ";"],
		["excel en", EXCEL_EN, ","],
		["raw", RAW, ","],
	] as const)("%s: every cell of hostile stored rows", (_, options, separator) => {
		const lines = hostile.map((value, i) =>
			buildCsvRecord(
				questionnaire,
				{
					id: `h${i}`,
					received_at: value,
					questionnaire_version: value,
					role_label: value,
					answers: JSON.stringify({ cafe: value, ville: value, role: value, frequence: value, activites: [value, "bar"], commentaire: value, email: value }),
				},
				options,
			),
		);
		const text = buildCsvHeader(questionnaire, options) + lines.join("");
		expect(findFormulaStarts(text, separator)).toEqual([]);
		// And the cells still read back whole: one line per row, every value with its apostrophe.
		const rows = parseCsv(text, separator);
		expect(rows).toHaveLength(hostile.length + 1);
		for (const [i, value] of hostile.entries()) expect(rows[i + 1]).toContain(/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
	});

	it.each([
		["", ";"],
		["?lang=en", ","],
		["?format=raw", ","],
	] as const)("GET /api/admin/submissions.csv%s with hostile answers sent through the form API", async (query, separator) => {
		for (const value of hostile) {
			await submit({ cafe: value, ville: value, role: `${value} rôle`, commentaire: `${value}\n${value}` });
		}
		const text = new TextDecoder().decode(await (await adminGet(`/api/admin/submissions.csv${query}`)).arrayBuffer());
		expect(text).toContain("Café;=1+1;");
		expect(findFormulaStarts(text, separator)).toEqual([]);
	});
});
