// Worker entry: wires fetch to the HTTP app, scheduled to the jobs, and exports Workflow classes.
import { app } from "./http/app";
import { runScheduled } from "./jobs";

export { BackupWorkflow } from "./backup/workflow";
export { RestoreWorkflow } from "./backup/restore-workflow";
export { VerifyWorkflow } from "./backup/verify-workflow";

export default {
	fetch: app.fetch,
	async scheduled(controller, env, ctx) {
		await runScheduled(controller, env, ctx);
	},
} satisfies ExportedHandler<Env>;
