// The privacy scanner: one respondent with distinctive values (name, e-mail, comment, role label)
// goes through everything that logs or sends a message — a backup, a failed backup, a dry run, a
// merge, a replace and its undo, an erasure by e-mail, the weekly verification and the hourly
// monitor — while every console line is captured; then every console line and every message the
// local receiver got (e-mail APIs, webhook, heartbeat) is searched. One hit fails the run.
// (test/notify-privacy.test.ts is the smaller, backup-only version of this scanner.)
import { introspectWorkflowInstance } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runHourlyMonitor } from "../src/monitor/hourly";
import { ADMIN, resetStorage, runBackup, snapshotIdOfRun } from "./backup-helpers";
import { api, runRestore, wipe } from "./helpers/restore-snapshot";
import { postJson, validAnswers } from "./helpers/submissions";
import { fetchCaptured } from "./receiver/client";

const EMAIL = "heloise.canari-5150@repondante-exemple.org";
const NAME = "Héloïse Dupontel-Canari";
const COMMENT = `Je suis ${NAME}, mon fils Anatole a la grippe, le patron me paie au noir 5150`;
const ROLE = "Gérante Dupontel du Bistrot Confidentiel 5150";
/** What must never appear (compared case-insensitively, also in the role key's spelling). */
const NEEDLES = [EMAIL, "canari-5150", "repondante-exemple", NAME, "Dupontel", "Anatole", "au noir 5150", ROLE, "Bistrot Confidentiel", "bistrot-confidentiel"];

afterEach(() => vi.restoreAllMocks());

describe("privacy scanner: backup, restore, erasure and notifications", () => {
	it("no log line and no message holds the respondent's name, e-mail, comment or role label", async () => {
		await resetStorage();
		await wipe(env.DB);
		await env.DB.prepare("DELETE FROM alert_state").run();

		const lines: string[] = [];
		const capture = (...args: unknown[]) => void lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a) ?? String(a))).join(" "));
		for (const level of ["log", "error", "warn", "info", "debug"] as const) vi.spyOn(console, level).mockImplementation(capture);

		// The respondent, through the real form API; and one other answer that stays.
		const posted = await postJson({ answers: validAnswers({ cafe: `Chez ${NAME}`, role: ROLE, email: EMAIL, commentaire: COMMENT }) });
		expect(posted.status).toBe(201);
		expect((await postJson({ answers: validAnswers({ cafe: "Le Café Neutre" }) })).status).toBe(201);
		const t = Date.now();

		// A backup (success notices), then a failed one (failure notices with the error text).
		const okRun = "manual-20261125T020000Z-privok";
		await runBackup(okRun, { trigger: "manual", requestedAt: t });
		const snapshotId = await snapshotIdOfRun(okRun);
		const failedRun = "manual-20261125T030000Z-privko";
		await runBackup(failedRun, { trigger: "manual", requestedAt: t + 1000 }, async (m) => {
			await m.mockStepError({ name: "export part 1" }, new Error("D1_ERROR: disk I/O error"));
		}, "errored");

		// Restores of the snapshot holding the respondent: dry run, merge, replace and undo.
		expect((await runRestore(snapshotId, "dry-run")).status).toBe("complete");
		expect((await runRestore(snapshotId, "merge")).status).toBe("complete");
		expect((await runRestore(snapshotId, "replace")).status).toBe("complete");
		expect((await api("/api/admin/restore/undo", { method: "POST" })).status).toBe(200);

		// The erasure by e-mail; then a backup and the weekly verification over the erased state.
		const erasure = await api("/api/admin/erasures", { method: "POST", json: { email: EMAIL } });
		expect(erasure.status).toBe(201);
		const erasureText = await erasure.text();
		const afterRun = "manual-20261125T040000Z-privaf";
		await runBackup(afterRun, { trigger: "manual", requestedAt: t + 2000 });
		const verifyId = `verify-privacy-${crypto.randomUUID().slice(0, 6)}`;
		const verify = await introspectWorkflowInstance(env.VERIFY_WORKFLOW, verifyId);
		try {
			await verify.modify(async (m) => m.disableRetryDelays());
			await env.VERIFY_WORKFLOW.create({ id: verifyId, params: { scheduledTime: t + 3000 } });
			await verify.waitForStatus("complete");
		} finally {
			await verify.dispose();
		}
		// The hourly monitor, fresh and then 40 h later (the stale alert), and the admin status.
		await runHourlyMonitor(env, new Date(t + 3_600_000));
		await runHourlyMonitor(env, new Date(t + 40 * 3_600_000));
		const statusText = await (await exports.default.fetch("http://example.com/api/admin/status", { headers: ADMIN })).text();
		vi.restoreAllMocks();

		// The scan is only meaningful if each kind of event was really captured.
		for (const event of ["backup_complete", "restore_complete", "restore_undone", "erasure_recorded", "notify_sent", "verify_done", "monitor_checked"]) {
			expect(lines.some((l) => l.includes(`"event":"${event}"`)), event).toBe(true);
		}
		const captured = await fetchCaptured("/");
		const webhookTypes = new Set(
			captured.filter((r) => r.path === "/global/webhook").map((r) => (JSON.parse(r.body) as { type: string }).type),
		);
		for (const type of ["backup_succeeded", "backup_failed", "weekly_report", "backup_stale"]) expect(webhookTypes.has(type), type).toBe(true);
		expect(captured.some((r) => r.path.startsWith("/global/resend") && r.body.includes(failedRun))).toBe(true);
		// The respondent really went through: erased by e-mail, their role gone from the public list.
		expect(JSON.parse(erasureText).erasedSubmissions).toHaveLength(1);
		const roles = await (await exports.default.fetch("http://example.com/api/roles")).text();
		expect(roles.toLowerCase()).not.toContain("dupontel");

		const haystacks = [...captured.map((r) => `${r.path}\n${JSON.stringify(r.headers)}\n${r.body}`), ...lines, statusText, erasureText];
		for (const needle of NEEDLES) {
			const hits = haystacks.filter((h) => h.toLowerCase().includes(needle.toLowerCase()));
			expect(hits.map((h) => h.slice(0, 300)), `"${needle}" leaked`).toEqual([]);
		}
	});
});
