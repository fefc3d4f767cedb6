// A backup run that needs more Workflow steps than one instance may take (1,024 on Free) goes on
// in a chained instance of the same run: `<runId>`, then `<runId>-part2`, `-part3`… Each instance
// but the last ends with the output { status: "continued", next }; the run's own record (its
// backup_runs row, its snapshot) keeps the first id. Who asks "has this run's Workflow ended?"
// follows the chain to its last instance.

/** What an instance that handed the run over returns (its Workflow output). */
export type ContinuedOutput = { status: "continued"; next: string };

/** Pure: the instance id of part `index` (2, 3, …) of run `runId`. */
export function buildContinuationId(runId: string, index: number): string {
	return `${runId}-part${index}`;
}

function isContinued(output: unknown): output is ContinuedOutput {
	const o = output as Partial<ContinuedOutput> | null;
	return typeof o === "object" && o !== null && o.status === "continued" && typeof o.next === "string";
}

/**
 * The Workflow status of a backup run: its first instance's, or, when that one handed over, the
 * status of the last instance of the chain (at most `maxParts` hops). Throws when an instance
 * cannot be read (callers decide what an unknown status means).
 */
export async function fetchRunWorkflowStatus(workflow: Workflow, runId: string, maxParts = 1000): Promise<string> {
	let id = runId;
	for (let hop = 0; hop < maxParts; hop++) {
		const { status, output } = await (await workflow.get(id)).status();
		if (status !== "complete" || !isContinued(output)) return status;
		id = output.next;
	}
	return "unknown";
}
