// Worker entry: wires fetch to the HTTP app, scheduled to the jobs, and exports Workflow classes.
import { app } from "./http/app";
import { runScheduled } from "./jobs/cron";

export { BackupWorkflow } from "./jobs/backup-workflow";
export { ExportWorkflow } from "./jobs/export-workflow";
export { RestoreWorkflow } from "./jobs/restore-workflow";
export { VerifyWorkflow } from "./jobs/verify-workflow";

export default {
	fetch: app.fetch,
	async scheduled(controller, env, ctx) {
		await runScheduled(controller, env, ctx);
	},
} satisfies ExportedHandler<Env>;
