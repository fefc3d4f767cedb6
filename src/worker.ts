// Worker entry: wires fetch to the HTTP app, scheduled to the jobs, and exports Workflow classes
// (each metered: its usage is counted for the status's platform budget, src/jobs/metering.ts).
import { app } from "./http/app";
import { runScheduled } from "./jobs/cron";
import { BackupWorkflow as BackupSteps } from "./jobs/backup-workflow";
import { ExportWorkflow as ExportSteps } from "./jobs/export-workflow";
import { ImportWorkflow as ImportSteps } from "./jobs/import-workflow";
import { meteredWorkflow, runMetered } from "./jobs/metering";
import { RestoreWorkflow as RestoreSteps } from "./jobs/restore-workflow";
import { VerifyWorkflow as VerifySteps } from "./jobs/verify-workflow";

export const BackupWorkflow = meteredWorkflow(BackupSteps, "backup");
export const RestoreWorkflow = meteredWorkflow(RestoreSteps, "restore");
export const VerifyWorkflow = meteredWorkflow(VerifySteps, "verify");
export const ExportWorkflow = meteredWorkflow(ExportSteps, "export");
export const ImportWorkflow = meteredWorkflow(ImportSteps, "import");

export default {
	fetch: app.fetch,
	async scheduled(controller, env, ctx) {
		await runMetered(env, () => new Date(controller.scheduledTime), (metered) => runScheduled(controller, metered, ctx));
	},
} satisfies ExportedHandler<Env>;
