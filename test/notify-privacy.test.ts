// A respondent's e-mail and comment never appear in any notification or log line: a real backup
// (BackupWorkflow) and the hourly monitor run over a submission holding distinctive values, and
// every captured message body, console line and the status response are searched for them.
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runHourlyMonitor } from "../src/monitor/hourly";
import { ADMIN, resetStorage, runBackup } from "./backup-helpers";
import { fetchCaptured } from "./receiver/client";

const CANARY_EMAIL = "marguerite.canari-7731@exemple-repondant.org";
const CANARY_COMMENT = "Canari confidentiel : le chat orange danse sous la pluie 7731";

afterEach(() => vi.restoreAllMocks());

describe("privacy of notifications and logs", () => {
	it("no message, log line or status field contains the respondent's e-mail or comment", async () => {
		await resetStorage();
		await env.DB.prepare("DELETE FROM alert_state").run();
		await env.DB.prepare(
			`INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation)
			 VALUES ('sub-canary', '2026-11-24T10:00:00Z', '1', 'barista', ?, '{}')`,
		)
			.bind(JSON.stringify({ email: CANARY_EMAIL, commentaire: CANARY_COMMENT, cafe: "Le Canari" }))
			.run();

		const lines: string[] = [];
		const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
		vi.spyOn(console, "log").mockImplementation(capture);
		vi.spyOn(console, "error").mockImplementation(capture);
		vi.spyOn(console, "warn").mockImplementation(capture);
		vi.spyOn(console, "info").mockImplementation(capture);

		const runId = `privacy-${crypto.randomUUID().slice(0, 8)}`;
		const requestedAt = Date.parse("2026-11-25T02:00:00Z");
		await runBackup(runId, { trigger: "manual", requestedAt });
		// The hourly check, once fresh and once 40 h later (stale alert), plus the status page.
		await runHourlyMonitor(env, new Date(requestedAt + 3_600_000));
		await runHourlyMonitor(env, new Date(requestedAt + 40 * 3_600_000));
		const status = await exports.default.fetch("http://example.com/api/admin/status", { headers: ADMIN });
		const statusText = await status.text();
		vi.restoreAllMocks();

		// Every request the receiver got in this test run (all providers, heartbeats, all tests).
		const captured = await fetchCaptured("/");
		const snapshotId = String((await env.DB.prepare("SELECT snapshot_id FROM backup_runs WHERE id = ?").bind(runId).first())?.snapshot_id);
		const mine = captured.filter((r) => r.body.includes(snapshotId));
		// The searches below are only meaningful if the messages and logs were really captured.
		expect([...new Set(mine.map((r) => r.path))].sort()).toEqual(["/global/emailjs/api/v1.0/email/send", "/global/resend/emails", "/global/webhook"]);
		expect(JSON.parse(mine.find((r) => r.path === "/global/webhook" && r.body.includes("backup_succeeded"))!.body)).toMatchObject({ type: "backup_succeeded", tables: { submissions: 1 } });
		expect(lines.some((l) => l.includes('"event":"notify_sent"') && l.includes(runId))).toBe(true);
		expect(lines.some((l) => l.includes('"event":"monitor_checked"'))).toBe(true);
		expect(status.status).toBe(200);

		const haystacks = [...captured.map((r) => `${r.path}\n${JSON.stringify(r.headers)}\n${r.body}`), ...lines, statusText];
		for (const needle of [CANARY_EMAIL, "canari-7731", CANARY_COMMENT, "chat orange", "exemple-repondant"]) {
			const hits = haystacks.filter((h) => h.toLowerCase().includes(needle.toLowerCase()));
			expect(hits, `"${needle}" leaked`).toEqual([]);
		}
	});
});
