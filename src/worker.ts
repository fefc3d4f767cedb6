// Worker entry: wires fetch to the HTTP app, scheduled to the jobs, and exports Workflow classes.
import { app } from "./http/app";
import { runScheduled } from "./jobs";

export default {
	fetch: app.fetch,
	async scheduled(controller, env, ctx) {
		await runScheduled(controller, env, ctx);
	},
} satisfies ExportedHandler<Env>;
