// The one hourly cron trigger of wrangler.jsonc and the jobs each delivery starts: the hourly
// check always, the daily backup at SCHEDULE_BACKUP, the weekly verification on Monday 03:00 UTC;
// duplicate deliveries start nothing twice.
import { createExecutionContext, createScheduledController, introspectWorkflowInstance, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { HOURLY_CRON, isDueWithinHour, planScheduledJobs } from "../src/jobs/cron";
import { VERIFY_CRON } from "../src/jobs/verify-workflow";
import { parseConfig } from "../src/config";
import worker from "../src/worker";
import { resetStorage } from "./backup-helpers";

const crons = JSON.parse(env.TEST_WRANGLER_CRONS) as string[];
const at = (iso: string) => Date.parse(iso);

beforeEach(async () => {
	await resetStorage();
});

describe("wrangler.jsonc crons", () => {
	it("hold exactly one trigger, hourly (1 of the 5 cron triggers of a Free account)", () => {
		expect(crons).toEqual([HOURLY_CRON]);
		expect(HOURLY_CRON).toBe("0 * * * *");
	});

	it("SCHEDULE_BACKUP is 02:00 UTC by default and is served by the hourly trigger", () => {
		const schedule = parseConfig({ ...env }).SCHEDULE_BACKUP;
		expect(schedule).toBe("0 2 * * *");
		expect(planScheduledJobs(HOURLY_CRON, at("2026-12-01T02:00:00Z"), schedule)).toContain("backup");
	});
});

describe("planScheduledJobs (pure)", () => {
	const cases: Array<[string, string, string, string[]]> = [
		// cron, scheduled time, SCHEDULE_BACKUP, jobs
		[HOURLY_CRON, "2026-12-01T02:00:00Z", "0 2 * * *", ["monitor", "backup"]], // Tuesday 02:00
		[HOURLY_CRON, "2026-12-01T03:00:00Z", "0 2 * * *", ["monitor"]],
		[HOURLY_CRON, "2026-12-07T03:00:00Z", "0 2 * * *", ["monitor", "verify"]], // Monday 03:00
		[HOURLY_CRON, "2026-12-07T02:00:00Z", "0 2 * * *", ["monitor", "backup"]], // Monday 02:00
		[HOURLY_CRON, "2026-12-08T03:00:00Z", "0 2 * * *", ["monitor"]], // Tuesday 03:00: no verification
		[HOURLY_CRON, "2026-12-01T10:00:00Z", "0 2 * * *", ["monitor"]],
		[HOURLY_CRON, "2026-12-01T00:00:00Z", "0 2 * * *", ["monitor"]],
		// A schedule off the hour: the next hourly delivery, never an earlier one.
		[HOURLY_CRON, "2026-12-01T04:00:00Z", "30 4 * * *", ["monitor"]],
		[HOURLY_CRON, "2026-12-01T05:00:00Z", "30 4 * * *", ["monitor", "backup"]],
		// The backup moved onto the verification's hour: both.
		[HOURLY_CRON, "2026-12-07T03:00:00Z", "0 3 * * *", ["monitor", "backup", "verify"]],
		// Configurations from before the single trigger.
		[VERIFY_CRON, "2026-12-07T03:00:00Z", "0 2 * * *", ["verify"]],
		["0 2 * * *", "2026-12-01T02:00:00Z", "0 2 * * *", ["backup"]],
		["30 4 * * *", "2026-12-01T04:30:00Z", "0 2 * * *", ["backup"]],
	];
	for (const [cron, time, schedule, jobs] of cases) {
		it(`"${cron}" at ${time} with SCHEDULE_BACKUP "${schedule}": ${jobs.join(" + ")}`, () => {
			expect(planScheduledJobs(cron, at(time), schedule)).toEqual(jobs);
		});
	}

	it("isDueWithinHour: the hour ending at the delivery, bounds included on the right only", () => {
		expect(isDueWithinHour("0 2 * * *", at("2026-12-01T02:00:00Z"))).toBe(true);
		expect(isDueWithinHour("0 2 * * *", at("2026-12-01T02:59:59Z"))).toBe(true);
		expect(isDueWithinHour("0 2 * * *", at("2026-12-01T03:00:00Z"))).toBe(false);
		expect(isDueWithinHour("0 2 * * *", at("2026-12-01T01:59:59Z"))).toBe(false);
		expect(isDueWithinHour("not a cron", at("2026-12-01T02:00:00Z"))).toBe(false);
	});
});

describe("the scheduled handler", () => {
	it("the 02:00 delivery runs the hourly check and starts the day's backup; a duplicate delivery starts nothing more", async () => {
		const scheduledTime = at("2026-12-01T02:00:00Z");
		const instance = await introspectWorkflowInstance(env.BACKUP_WORKFLOW, "scheduled-2026-12-01");
		try {
			await instance.modify(async (m) => m.disableRetryDelays());
			const deliver = async () => {
				const ctx = createExecutionContext();
				await worker.scheduled(createScheduledController({ scheduledTime, cron: HOURLY_CRON }), env, ctx);
				await waitOnExecutionContext(ctx);
			};
			await Promise.all([deliver(), deliver()]);
			await instance.waitForStatus("complete");
			await deliver();
		} finally {
			await instance.dispose();
		}
		const { results } = await env.DB.prepare("SELECT id, status, trigger, snapshot_id FROM backup_runs").all();
		expect(results).toHaveLength(1);
		expect(results[0]).toMatchObject({ id: "scheduled-2026-12-01", status: "complete", trigger: "scheduled" });
		expect(String(results[0]!.snapshot_id)).toMatch(/^2026-12-01T020000Z-/);
		// The hourly check ran too (its alert state is created on its first run).
		expect(await env.DB.prepare("SELECT count(*) AS n FROM alert_state WHERE key = 'backup_stale'").first("n")).toBe(1);
	});

	it("a delivery at another hour starts no backup and no verification", async () => {
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: at("2026-12-01T10:00:00Z"), cron: HOURLY_CRON }), env, ctx);
		await waitOnExecutionContext(ctx);
		expect(await env.DB.prepare("SELECT count(*) AS n FROM backup_runs").first("n")).toBe(0);
		await expect(env.VERIFY_WORKFLOW.get("verify-2026-12-01")).rejects.toThrow();
		await expect(env.BACKUP_WORKFLOW.get("scheduled-2026-12-01")).rejects.toThrow();
	});

	it("a moved backup (SCHEDULE_BACKUP only) starts at the first hourly delivery after it", async () => {
		const moved = { ...env, SCHEDULE_BACKUP: "30 4 * * *" };
		const deliver = async (iso: string) => {
			const ctx = createExecutionContext();
			await worker.scheduled(createScheduledController({ scheduledTime: at(iso), cron: HOURLY_CRON }), moved, ctx);
			await waitOnExecutionContext(ctx);
		};
		await deliver("2026-12-02T02:00:00Z");
		await deliver("2026-12-02T04:00:00Z");
		expect(await env.DB.prepare("SELECT count(*) AS n FROM backup_runs").first("n")).toBe(0);
		const instance = await introspectWorkflowInstance(env.BACKUP_WORKFLOW, "scheduled-2026-12-02");
		try {
			await instance.modify(async (m) => m.disableRetryDelays());
			await deliver("2026-12-02T05:00:00Z");
			await instance.waitForStatus("complete");
		} finally {
			await instance.dispose();
		}
		const run = await env.DB.prepare("SELECT status, snapshot_id FROM backup_runs WHERE id = 'scheduled-2026-12-02'").first();
		expect(run).toMatchObject({ status: "complete" });
		// The snapshot is named by the delivery that started it.
		expect(String(run?.snapshot_id)).toMatch(/^2026-12-02T050000Z-/);
	});
});
