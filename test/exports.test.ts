// The CSV export as a job: the file the ExportWorkflow writes is byte for byte the direct export
// (French spreadsheet, English, raw; tricky cells; empty data), paged over several steps and
// several chained instances; its API (202, status, 404, 409, the streamed file); export objects
// are invisible to snapshots' listing, retention, verification and garbage collection; the hourly
// clean-up removes old exports only.
import { createExecutionContext, createScheduledController, introspectWorkflow, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { cleanupExports, startCsvExport } from "../src/jobs/export-workflow";
import { formatLocalDateTime } from "../src/questionnaire/csv";
import { removeIncompleteSnapshots } from "../src/backup/gc";
import { runRetention } from "../src/retention/job";
import {
	appendExportPage,
	buildExportId,
	exportManifestKey,
	exportPieceKey,
	exportProgressKey,
	isExportId,
	planExportCleanup,
} from "../src/snapshots/exports";
import { listManifests, listSnapshotFolders } from "../src/snapshots/store";
import { r2SnapshotStore } from "../src/snapshots/r2-store";
import { checkSnapshotMetadata } from "../src/verify/steps";
import { ADMIN, resetStorage, runBackup } from "./backup-helpers";
import { postJson, validAnswers } from "./helpers/submissions";
import { TEST_SIGNING_KEY } from "./keys";
import { HOURLY_CRON } from "../src/jobs/cron";
import worker from "../src/worker";

const BASE = "http://example.com";
const store = () => r2SnapshotStore(env.R2_BUCKET);
const api = (path: string, init: RequestInit = {}) =>
	exports.default.fetch(`${BASE}${path}`, { ...init, headers: { ...ADMIN, ...(init.headers ?? {}) } });
const postExport = (body: unknown) =>
	api("/api/admin/exports", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

type ExportView = {
	id: string;
	status: string;
	progress: { rows: number; rowsTotal: number | null };
	downloadUrl: string | null;
	pieces: number | null;
	fileName: string;
	bytes: number | null;
	error: string | null;
};

/** Poll the status until the job has ended (the local Workflows engine runs it meanwhile). */
async function waitForExport(id: string): Promise<ExportView> {
	for (let i = 0; i < 2000; i++) {
		const res = await api(`/api/admin/exports/${id}`);
		expect(res.status).toBe(200);
		const view = await res.json<ExportView>();
		if (view.status === "complete" || view.status === "failed") return view;
		await new Promise((r) => setTimeout(r, 25));
	}
	throw new Error(`export ${id} did not end`);
}

async function submit(overrides: Record<string, unknown> = {}): Promise<void> {
	const res = await postJson({ answers: validAnswers(overrides) });
	expect(res.status).toBe(201);
}

const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());

/** The tricky cells of the direct export's tests: separators, quotes, line breaks, accents, formulas. */
const TRICKY = [
	{ cafe: 'Le "Zinc"; bar, tabac', ville: "Saint-Étienne\nquartier Jacquard", commentaire: "=HYPERLINK(\"x\")\r\nligne 2 ; fin" },
	{ cafe: "Chez Zoë — l'Étoile", ville: "Besançon", role: "Serveur", activites: ["bar", "caisse"], frequence: "hebdomadaire" },
	{ cafe: "+33 1 23", ville: "@Lyon", commentaire: "-moins; \"cité\"" },
	{ cafe: "Café normal" },
	{ cafe: "Dernier", ville: "Dijon", role: "Formateur", consentement: true },
];

beforeEach(resetStorage);

describe("the export job's file is the direct export, byte for byte", () => {
	const queries: Array<[string, { format: "excel" | "raw"; locale: "fr" | "en" }]> = [
		["", { format: "excel", locale: "fr" }],
		["?lang=en", { format: "excel", locale: "en" }],
		["?format=raw", { format: "raw", locale: "fr" }],
	];

	it.each(queries)("submissions.csv%s, paged 2 rows per step", async (query, input) => {
		for (const t of TRICKY) await submit(t);
		const direct = await bytesOf(await api(`/api/admin/submissions.csv${query}`));
		const job = await startCsvExport(env, { ...input, timeZone: "Europe/Paris" }, new Date(), { pageRows: 2 });
		const view = await waitForExport(job.id);
		expect(view).toMatchObject({ status: "complete", progress: { rows: 5, rowsTotal: 5 }, bytes: direct.byteLength, error: null });
		expect(view.downloadUrl).toBe(`/api/admin/exports/${job.id}/file`);
		// Small: one piece, header and every page in it.
		expect(view.pieces).toBe(1);
		expect((await env.R2_BUCKET.head(exportPieceKey(job.id, 0)))?.size).toBe(direct.byteLength);
		expect(await env.R2_BUCKET.head(exportPieceKey(job.id, 1))).toBeNull();
		const file = await api(view.downloadUrl!);
		expect(file.status).toBe(200);
		expect(file.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
		expect(file.headers.get("Content-Disposition")).toBe(`attachment; filename="${view.fileName}"`);
		expect(view.fileName).toMatch(input.format === "raw" ? /^submissions-/ : input.locale === "fr" ? /^reponses-/ : /^answers-/);
		const got = await bytesOf(file);
		expect(new TextDecoder().decode(got)).toBe(new TextDecoder().decode(direct));
		expect(got).toEqual(direct);
		// The BOM once, at the very start.
		expect([...got.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		expect(new TextDecoder().decode(got.slice(3))).not.toContain("\uFEFF");
	});

	it("is served in pieces that, concatenated in order, are the file", async () => {
		for (const t of TRICKY) await submit(t);
		const direct = await bytesOf(await api("/api/admin/submissions.csv"));
		// Header + 5 pages of 1 row, pieces of at most 400 bytes: a page that would pass it begins
		// the next piece (a page alone larger than that is a piece of its own).
		const job = await startCsvExport(env, { format: "excel", locale: "fr", timeZone: "Europe/Paris" }, new Date(), { pageRows: 1, pieceBytes: 400 });
		const view = await waitForExport(job.id);
		expect(view.status).toBe("complete");
		const n = view.pieces!;
		expect(n).toBeGreaterThanOrEqual(3);
		const pieces: Uint8Array[] = [];
		for (let k = 0; k < n; k++) {
			const res = await api(`${view.downloadUrl}?piece=${k}`);
			expect(res.status).toBe(200);
			expect(res.headers.get("X-Export-Pieces")).toBe(String(n));
			expect(res.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
			pieces.push(await bytesOf(res));
		}
		// Every piece but one holding a single large page stays within the bound.
		expect(pieces.filter((p) => p.byteLength > 400).length).toBeLessThanOrEqual(pieces.length - 2);
		expect(Buffer.concat(pieces)).toEqual(Buffer.from(direct));
		expect(await bytesOf(await api(view.downloadUrl!))).toEqual(direct);
		for (const bad of [String(n), "-1", "x"]) {
			const res = await api(`${view.downloadUrl}?piece=${bad}`);
			expect(res.status, bad).toBe(400);
			expect(await res.json(), bad).toMatchObject({ error: { code: "invalid_query", fields: { piece: expect.any(String) } } });
		}
	});

	it("goes on in chained Workflow instances when one instance has too few steps", async () => {
		for (const t of TRICKY) await submit(t);
		const direct = await bytesOf(await api("/api/admin/submissions.csv?format=raw"));
		// 6 steps per instance, 4 kept aside: 1 page per instance after `begin`'s.
		const job = await startCsvExport(env, { format: "raw", locale: "fr", timeZone: "Europe/Paris" }, new Date(), { pageRows: 1, stepsPerInstance: 6 });
		const view = await waitForExport(job.id);
		expect(view).toMatchObject({ status: "complete", progress: { rows: 5, rowsTotal: 5 } });
		expect((await (await env.EXPORT_WORKFLOW.get(`${job.id}-part3`)).status()).status).not.toBe("unknown");
		expect(await bytesOf(await api(view.downloadUrl!))).toEqual(direct);
	});

	it("an empty dataset gives the BOM and the header only", async () => {
		const direct = new TextDecoder().decode(await bytesOf(await api("/api/admin/submissions.csv")));
		const started = await postExport({ kind: "csv" });
		expect(started.status).toBe(202);
		const { id, statusUrl } = await started.json<ExportView & { statusUrl: string }>();
		expect(isExportId(id)).toBe(true);
		expect(statusUrl).toBe(`/api/admin/exports/${id}`);
		const view = await waitForExport(id);
		expect(view).toMatchObject({ status: "complete", progress: { rows: 0, rowsTotal: 0 } });
		const bytes = await bytesOf(await api(view.downloadUrl!));
		const text = new TextDecoder().decode(bytes); // the decoder drops the BOM
		expect(text).toBe(direct);
		expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		expect(text.startsWith("Identifiant;Reçue le (Europe/Paris);")).toBe(true);
		expect(text.split("\r\n")).toEqual([text.slice(0, -2), ""]);
	});

	it("POST takes format and lang: raw in English", async () => {
		await submit({ cafe: "Un ; deux" });
		const direct = await bytesOf(await api("/api/admin/submissions.csv?format=raw&lang=en"));
		const started = await postExport({ kind: "csv", format: "raw", lang: "en" });
		expect(started.status).toBe(202);
		expect(started.headers.get("Location")).toMatch(/^\/api\/admin\/exports\/csv-/);
		const view = await waitForExport((await started.json<ExportView>()).id);
		expect(await bytesOf(await api(view.downloadUrl!))).toEqual(direct);
	});
});

describe("appending a page to the pieces", () => {
	const enc = (t: string) => new TextEncoder().encode(t);
	const text = async (id: string, n: number) => (await env.R2_BUCKET.get(exportPieceKey(id, n)))?.text();

	it("is idempotent: a retried step after its write leaves the page once", async () => {
		const id = buildExportId(new Date(), "appendaa");
		await env.R2_BUCKET.put(exportPieceKey(id, 0), "head\r\n");
		const first = await appendExportPage(store(), id, [6], enc("a;1\r\n"), 100, "text/csv");
		expect(first).toEqual([11]);
		// The same step again (its result was lost): same input sizes, same page.
		expect(await appendExportPage(store(), id, [6], enc("a;1\r\n"), 100, "text/csv")).toEqual([11]);
		expect(await text(id, 0)).toBe("head\r\na;1\r\n");
		// A page that would pass the bound begins the next piece; retried, it is written once too.
		const big = enc("b".repeat(95) + "\r\n");
		expect(await appendExportPage(store(), id, first, big, 100, "text/csv")).toEqual([11, 97]);
		expect(await appendExportPage(store(), id, first, big, 100, "text/csv")).toEqual([11, 97]);
		expect(await text(id, 1)).toBe("b".repeat(95) + "\r\n");
		expect(await text(id, 0)).toBe("head\r\na;1\r\n");
	});

	it("refuses a piece shorter than recorded (lost bytes are never papered over)", async () => {
		const id = buildExportId(new Date(), "appendbb");
		await env.R2_BUCKET.put(exportPieceKey(id, 0), "he");
		await expect(appendExportPage(store(), id, [6], enc("x\r\n"), 100, "text/csv")).rejects.toThrow(/piece 0 is shorter than recorded/);
	});
});

describe("export API refusals", () => {
	it("400 for a bad body, naming the field; 415 without JSON", async () => {
		for (const [body, field] of [
			[{ kind: "pdf" }, "kind"],
			[{ kind: "csv", format: "xlsx" }, "format"],
			[{ kind: "csv", lang: "de" }, "lang"],
			[{ kind: "csv", extra: 1 }, "extra"],
			[{}, "kind"],
		] as const) {
			const res = await postExport(body);
			expect(res.status, JSON.stringify(body)).toBe(400);
			const err = await res.json<{ error: { code: string; fields: Record<string, string> } }>();
			expect(err.error.code).toBe("invalid_request");
			expect(Object.keys(err.error.fields)).toContain(field);
		}
		const res = await api("/api/admin/exports", { method: "POST", headers: { "Content-Type": "text/plain" }, body: "csv" });
		expect(res.status).toBe(415);
	});

	it("404 with a sentence for an unknown id, 400 for something that is not an id", async () => {
		const id = buildExportId(new Date(), "zzzzzzzz");
		for (const path of [`/api/admin/exports/${id}`, `/api/admin/exports/${id}/file`]) {
			const res = await api(path);
			expect(res.status, path).toBe(404);
			const body = await res.json<{ error: { code: string; message: string } }>();
			expect(body.error.code).toBe("export_not_found");
			expect(body.error.message).toMatch(new RegExp(`^No export ${id}`));
		}
		const bad = await api("/api/admin/exports/not-an-id/file");
		expect(bad.status).toBe(400);
		expect(await bad.json()).toMatchObject({ error: { code: "invalid_id" } });
	});

	it("401 without the token", async () => {
		const res = await exports.default.fetch(`${BASE}/api/admin/exports`, { method: "POST", body: "{}" });
		expect(res.status).toBe(401);
	});

	it("409 for the file of an export that is not finished, and of one that failed", async () => {
		const id = buildExportId(new Date(), "abcdefgh");
		const progress = {
			id,
			kind: "csv",
			format: "excel",
			locale: "fr",
			timeZone: "Europe/Paris",
			requestedAt: new Date().toISOString(),
			fileName: "reponses-x.csv",
			status: "running",
			rows: 12,
			rowsTotal: 40,
			parts: 1,
			bytes: 100,
			instance: id,
			finishedAt: null,
			error: null,
		};
		await env.R2_BUCKET.put(exportProgressKey(id), JSON.stringify(progress));
		const res = await api(`/api/admin/exports/${id}/file`);
		expect(res.status).toBe(409);
		expect(await res.json()).toMatchObject({ error: { code: "export_not_ready", message: expect.stringMatching(/not finished yet \(12 rows/) } });
		// Its instance does not exist: the status still reads (unknown instance is not a verdict).
		expect(await (await api(`/api/admin/exports/${id}`)).json()).toMatchObject({ status: "running", progress: { rows: 12, rowsTotal: 40 } });
		await env.R2_BUCKET.put(exportProgressKey(id), JSON.stringify({ ...progress, status: "failed", error: "boom" }));
		const failed = await api(`/api/admin/exports/${id}/file`);
		expect(failed.status).toBe(409);
		expect(await failed.json()).toMatchObject({ error: { code: "export_not_ready", message: expect.stringMatching(/failed/) } });
	});

	it("a step that keeps failing ends the job as failed, recorded, with no manifest", async () => {
		await submit();
		await using introspector = await introspectWorkflow(env.EXPORT_WORKFLOW);
		await introspector.modifyAll(async (m) => {
			await m.disableRetryDelays();
			await m.mockStepError({ name: "page 1" }, new Error("R2 is down"));
		});
		const job = await startCsvExport(env, { format: "excel", locale: "fr", timeZone: "Europe/Paris" }, new Date());
		const view = await waitForExport(job.id);
		expect(view.status).toBe("failed");
		expect(view.error).toMatch(/R2 is down/);
		expect(await env.R2_BUCKET.head(exportManifestKey(job.id))).toBeNull();
		expect((await api(`/api/admin/exports/${job.id}/file`)).status).toBe(409);
	});
});

describe("export objects are not snapshots", () => {
	it("are not listed, kept, verified or collected as snapshots", async () => {
		for (const t of TRICKY.slice(0, 2)) await submit(t);
		await runBackup("manual-exports-test", { trigger: "manual", requestedAt: Date.now() - 3 * 86_400_000 });
		const job = await startCsvExport(env, { format: "excel", locale: "fr", timeZone: "Europe/Paris" }, new Date(), { pageRows: 1 });
		await waitForExport(job.id);
		const exportKeys = async () => (await env.R2_BUCKET.list({ prefix: "exports/" })).objects.map((o) => o.key).sort();
		const before = await exportKeys();
		expect(before.length).toBe(3); // progress, one piece (header and 2 pages), manifest

		const folders = await listSnapshotFolders(store());
		expect(folders.length).toBe(1);
		expect(folders.some((f) => f.includes("csv-"))).toBe(false);
		expect((await listManifests(store())).map((m) => m.snapshotId)).toEqual(folders);
		for (const id of folders) {
			const meta = await checkSnapshotMetadata(store(), id, { signingKey: TEST_SIGNING_KEY });
			expect(meta?.problems).toEqual([]);
			expect(meta?.target).not.toBeNull();
		}
		const retention = await runRetention(env, { now: new Date(Date.now() + 400 * 86_400_000), backupStatus: "complete", dryRun: false });
		expect(retention.snapshots.map((d) => d.id)).toEqual(folders);
		expect(retention.unreadable).toEqual([]);
		expect(await removeIncompleteSnapshots(store(), new Date(Date.now() + 30 * 86_400_000), "none")).toEqual([]);
		expect(await exportKeys()).toEqual(before);
	});
});

describe("clean-up of old exports", () => {
	it("plans exports older than the week, oldest first, bounded, ignoring other names (pure)", () => {
		const now = new Date("2026-12-10T12:00:00Z");
		const ids = [
			buildExportId(new Date("2026-12-03T11:59:00Z"), "aaaaaaaa"),
			buildExportId(new Date("2026-12-01T00:00:00Z"), "bbbbbbbb"),
			buildExportId(new Date("2026-12-03T12:01:00Z"), "cccccccc"),
			"2026-11-01T020000Z-snapshot",
			"junk",
		];
		expect(planExportCleanup(ids, now)).toEqual([ids[1], ids[0]]);
		expect(planExportCleanup(ids, now, 7, 1)).toEqual([ids[1]]);
		expect(planExportCleanup([], now)).toEqual([]);
	});

	it("deletes every object of old exports, keeps recent ones and never touches snapshots", async () => {
		const now = new Date();
		const old = buildExportId(new Date(now.getTime() - 8 * 86_400_000), "oldoldol");
		const recent = buildExportId(new Date(now.getTime() - 6 * 86_400_000), "recentre");
		for (const id of [old, recent]) {
			await env.R2_BUCKET.put(exportPieceKey(id, 0), "\uFEFFa;b\r\n");
			await env.R2_BUCKET.put(exportPieceKey(id, 1), "1;2\r\n");
			await env.R2_BUCKET.put(exportManifestKey(id), "{}");
		}
		await env.R2_BUCKET.put("snapshots/2026-11-01T020000Z-abc123/manifest.json", "{}");
		expect(await cleanupExports(env, now)).toEqual([old]);
		const keys = (await env.R2_BUCKET.list()).objects.map((o) => o.key);
		expect(keys.filter((k) => k.includes(old))).toEqual([]);
		expect(keys.filter((k) => k.includes(recent)).length).toBe(3);
		expect(keys).toContain("snapshots/2026-11-01T020000Z-abc123/manifest.json");
		// Nothing left to do: idempotent.
		expect(await cleanupExports(env, now)).toEqual([]);
	});

	it("runs with every hourly cron delivery", async () => {
		const scheduledTime = Date.parse("2026-12-10T10:00:00Z");
		const old = buildExportId(new Date(scheduledTime - 7 * 86_400_000 - 60_000), "cronolda");
		const kept = buildExportId(new Date(scheduledTime - 7 * 86_400_000 + 60_000), "cronkept");
		for (const id of [old, kept]) await env.R2_BUCKET.put(exportPieceKey(id, 0), "x");
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime, cron: HOURLY_CRON }), env, ctx);
		await waitOnExecutionContext(ctx);
		expect(await env.R2_BUCKET.head(exportPieceKey(old, 0))).toBeNull();
		expect(await env.R2_BUCKET.head(exportPieceKey(kept, 0))).not.toBeNull();
	});
});

describe("local times in the export (one Intl call per quarter hour, cached)", () => {
	/** The reference: Intl for every instant, as the export did before the cache. */
	const formats = new Map<string, Intl.DateTimeFormat>();
	function reference(iso: string, timeZone: string, locale: "fr" | "en"): string {
		const f = formats.get(timeZone) ?? formats.set(timeZone, new Intl.DateTimeFormat("en-GB", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" })).get(timeZone)!;
		const p = Object.fromEntries(f.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
		const time = `${p.hour}:${p.minute}:${p.second}`;
		return locale === "fr" ? `${p.day}/${p.month}/${p.year} ${time}` : `${p.year}-${p.month}-${p.day} ${time}`;
	}

	it.each(["Europe/Paris", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham", "UTC"])(
		"equals Intl around every change of offset in 2026, %s",
		(tz) => {
			// Every 7 minutes 13.5 seconds over the year: every quarter hour sees several instants,
			// both sides of each change of offset included.
			const start = Date.UTC(2026, 0, 1);
			let checked = 0;
			const wrong: string[] = [];
			for (let t = start; t < Date.UTC(2027, 0, 1); t += 433_500) {
				const iso = new Date(t).toISOString();
				const locale = checked % 2 ? "fr" : "en";
				if (formatLocalDateTime(iso, tz, locale) !== reference(iso, tz, locale)) wrong.push(iso);
				checked++;
			}
			expect(wrong).toEqual([]);
			expect(checked).toBeGreaterThan(70_000);
		},
	);

	it("keeps text that is not a date, and old dates through Intl", () => {
		expect(formatLocalDateTime("pas une date", "Europe/Paris", "fr")).toBe("pas une date");
		expect(formatLocalDateTime("1975-06-01T12:00:00.999Z", "Europe/Paris", "fr")).toBe(reference("1975-06-01T12:00:00.999Z", "Europe/Paris", "fr"));
	});
});
