// Benchmark hook: with BENCH_CPU_MARKS="1" (set only by bench/cpu.mjs, never in production), every
// Workflow step logs one line when it starts and one when it ends, so that the isolate's V8 CPU
// profile can be cut into steps (see docs/BENCHMARKS.md, "Isolate CPU"). Otherwise a no-op.
import type { WorkflowStep } from "cloudflare:workers";

/** The marker line's first word; the bench reads `cpu-mark <start|end> <workflow> <instance> <step>`. */
export const CPU_MARK = "cpu-mark";

function isMarking(env: unknown): boolean {
	return (env as { BENCH_CPU_MARKS?: unknown }).BENCH_CPU_MARKS === "1";
}

/**
 * `step` itself, or (benchmark only) a step whose `do` wraps each callback between two marker log
 * lines. Only `do` runs code in this isolate; `sleep` and `waitForEvent` pass through.
 */
export function markSteps(step: WorkflowStep, env: unknown, workflow: string, instance: string): WorkflowStep {
	if (!isMarking(env)) return step;
	// A function declaration keeps its name in CPU profiles: the bench leaves out the samples taken
	// inside it (logging with an inspector attached is costly and is no part of the step).
	function cpuMark(phase: "start" | "end", name: string) {
		console.log(`${CPU_MARK} ${phase} ${workflow} ${instance} ${name}`);
	}
	type Callback = (ctx: unknown) => Promise<unknown>;
	// Called as a method: locally `step` is an RPC stub, which has no `bind`.
	const target = step as unknown as { do(name: string, ...rest: unknown[]): Promise<unknown> };
	const marked = {
		// The callback is the argument after the optional config; rollback options pass through.
		do: (name: string, ...rest: unknown[]) => {
			const i = rest.findIndex((x) => typeof x === "function");
			const callback = rest[i] as Callback;
			rest[i] = async (ctx: unknown) => {
				cpuMark("start", name);
				try {
					return await callback(ctx);
				} finally {
					cpuMark("end", name);
				}
			};
			return target.do(name, ...rest);
		},
		sleep: (...args: Parameters<WorkflowStep["sleep"]>) => step.sleep(...args),
		sleepUntil: (...args: Parameters<WorkflowStep["sleepUntil"]>) => step.sleepUntil(...args),
		waitForEvent: (...args: Parameters<WorkflowStep["waitForEvent"]>) => step.waitForEvent(...args),
	};
	return marked as unknown as WorkflowStep;
}
