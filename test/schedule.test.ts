// The crons of wrangler.jsonc and the jobs they start: the backup's cron is the one line to
// change, and SCHEDULE_BACKUP (what the status page shows) must name one of the real crons.
import { createExecutionContext, createScheduledController, introspectWorkflowInstance, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { VERIFY_CRON } from "../src/jobs/verify-workflow";
import { parseConfig } from "../src/config";
import { MONITOR_CRON } from "../src/monitor/hourly";
import worker from "../src/worker";

const crons = JSON.parse(env.TEST_WRANGLER_CRONS) as string[];

describe("wrangler.jsonc crons", () => {
	it("hold the daily backup at 02:00 UTC, the hourly monitor and the weekly verification", () => {
		expect(crons).toContain("0 2 * * *");
		expect(crons).toContain(MONITOR_CRON);
		expect(crons).toContain(VERIFY_CRON);
		expect(new Set(crons).size).toBe(crons.length);
	});

	it("name SCHEDULE_BACKUP as exactly one backup cron (the others belong to monitor and verification)", () => {
		const backupCrons = crons.filter((c) => c !== MONITOR_CRON && c !== VERIFY_CRON);
		expect(backupCrons).toEqual([parseConfig({ ...env }).SCHEDULE_BACKUP]);
	});
});

describe("the scheduled handler", () => {
	it("starts the backup for a moved backup cron (only wrangler.jsonc's line changed)", async () => {
		const scheduledTime = Date.parse("2026-12-01T04:30:00Z");
		const instance = await introspectWorkflowInstance(env.BACKUP_WORKFLOW, "scheduled-2026-12-01");
		try {
			await instance.modify(async (m) => m.disableRetryDelays());
			const ctx = createExecutionContext();
			await worker.scheduled(createScheduledController({ scheduledTime, cron: "30 4 * * *" }), env, ctx);
			await waitOnExecutionContext(ctx);
			await instance.waitForStatus("complete");
		} finally {
			await instance.dispose();
		}
		const run = await env.DB.prepare("SELECT status, trigger, snapshot_id FROM backup_runs WHERE id = 'scheduled-2026-12-01'").first();
		expect(run).toMatchObject({ status: "complete", trigger: "scheduled" });
		expect(String(run?.snapshot_id)).toMatch(/^2026-12-01T043000Z-/);
	});
});
