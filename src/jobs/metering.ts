// Usage accounting wired around each invocation: a request (src/http/metering.ts), a cron
// invocation and every Workflow step get a metered env (src/platform/usage-meter.ts), and what
// they used is written ONCE at their end, in one upsert of today's platform_usage row.
// A failed flush is logged and dropped: accounting never fails the work it counts.
import type { WorkflowEntrypoint, WorkflowStep } from "cloudflare:workers";
import { meterD1 } from "../db/metered";
import { buildUsageUpsert } from "../db/platform-usage";
import { describeError, logError } from "../log";
import { USAGE_METER, UsageMeter, usageDay, type MeteredWorkflow } from "../platform/usage-meter";

/** `env` with its D1 binding metered and the meter attached (for the R2 adapter). */
export function meteredEnv<E extends { DB: D1Database }>(env: E, meter: UsageMeter): E {
	return { ...env, DB: meterD1(env.DB, meter), [USAGE_METER]: meter };
}

const shared = new WeakMap<object, { env: object; meter: UsageMeter }>();

/**
 * The metered env of requests and cron invocations: ONE per env object (per isolate), so that what
 * is cached per env (the configuration, /api/health's answer) stays cached. Its meter is shared by
 * the invocations running at the same time: each flush writes everything counted so far, so the
 * day's totals are exact even though one flush may carry part of another invocation's count.
 */
export function sharedMeteredEnv<E extends { DB: D1Database }>(env: E): { env: E; meter: UsageMeter } {
	let entry = shared.get(env);
	if (!entry) {
		const meter = new UsageMeter();
		entry = { env: meteredEnv(env, meter), meter };
		shared.set(env, entry);
	}
	return entry as { env: E; meter: UsageMeter };
}

/** Write what `meter` counted since its last flush (nothing when it counted nothing). `now` dates it. */
export async function flushUsage(db: D1Database, meter: UsageMeter, now: Date): Promise<void> {
	const delta = meter.take();
	if (!delta) return;
	try {
		await buildUsageUpsert(db, usageDay(now), delta).run();
	} catch (err) {
		logError("usage_flush_failed", { error: describeError(err) });
	}
}

/** Run `job` with the metered env, then flush the usage (also when it throws). */
export async function runMetered<T>(env: Env, now: () => Date, job: (env: Env) => Promise<T>): Promise<T> {
	const metered = sharedMeteredEnv(env);
	try {
		return await job(metered.env);
	} finally {
		await flushUsage(env.DB, metered.meter, now());
	}
}

/**
 * `step` whose every `do` counts the step (by name: a replayed step counts once) and flushes the
 * usage of its callback at the callback's end, inside the step (one more D1 statement per step).
 */
export function meterSteps(step: WorkflowStep, meter: UsageMeter, db: D1Database): WorkflowStep {
	type Callback = (ctx: unknown) => Promise<unknown>;
	// Called as a method: locally `step` is an RPC stub, which has no `bind`.
	const target = step as unknown as { do(name: string, ...rest: unknown[]): Promise<unknown> };
	const metered = {
		do: (name: string, ...rest: unknown[]) => {
			meter.countStep(name);
			const i = rest.findIndex((x) => typeof x === "function");
			const callback = rest[i] as Callback;
			rest[i] = async (ctx: unknown) => {
				try {
					return await callback(ctx);
				} finally {
					await flushUsage(db, meter, new Date());
				}
			};
			return target.do(name, ...rest);
		},
		sleep: (...args: Parameters<WorkflowStep["sleep"]>) => step.sleep(...args),
		sleepUntil: (...args: Parameters<WorkflowStep["sleepUntil"]>) => step.sleepUntil(...args),
		waitForEvent: (...args: Parameters<WorkflowStep["waitForEvent"]>) => step.waitForEvent(...args),
	};
	return metered as unknown as WorkflowStep;
}

// A mixin's constructor takes any arguments (TypeScript requires `any[]` there).
type WorkflowClass = abstract new (...args: any[]) => WorkflowEntrypoint<Env, any>;

/**
 * The Workflow class `Base`, metered: its `this.env` is a metered env and its steps go through
 * meterSteps. Exported from src/worker.ts under the class name wrangler.jsonc binds.
 */
export function meteredWorkflow<C extends WorkflowClass>(Base: C, workflow: MeteredWorkflow): C {
	abstract class Metered extends Base {
		readonly #meter: UsageMeter;
		readonly #db: D1Database;
		// A mixin's constructor takes any arguments (TypeScript requires `any[]` there).
		constructor(...args: any[]) {
			const [ctx, env] = args as [ExecutionContext, Env];
			const meter = new UsageMeter(workflow);
			super(ctx, meteredEnv(env, meter));
			this.#meter = meter;
			this.#db = env.DB;
		}
		override run(event: Parameters<InstanceType<C>["run"]>[0], step: WorkflowStep) {
			return super.run(event, meterSteps(step, this.#meter, this.#db));
		}
	}
	return Metered;
}
