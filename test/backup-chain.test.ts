// Following a chained backup run to its last instance (src/backup/chain.ts): what the GC and the
// stale-run reconciliation ask. A test double of the Workflow binding freezes a chain mid-way,
// which the real local engine cannot do on demand.
import { describe, expect, it } from "vitest";
import { buildContinuationId, fetchRunWorkflowStatus } from "../src/backup/chain";

function fakeWorkflow(instances: Record<string, { status: string; output?: unknown }>): Workflow {
	return {
		get: async (id: string) => {
			const inst = instances[id];
			if (!inst) throw new Error("instance.not_found");
			return { id, status: async () => ({ status: inst.status, output: inst.output }) };
		},
	} as unknown as Workflow;
}

const run = "scheduled-2026-12-01";
const part = (k: number) => buildContinuationId(run, k);

describe("fetchRunWorkflowStatus", () => {
	it("is the first instance's status when it did not hand over", async () => {
		expect(await fetchRunWorkflowStatus(fakeWorkflow({ [run]: { status: "running" } }), run)).toBe("running");
		expect(await fetchRunWorkflowStatus(fakeWorkflow({ [run]: { status: "complete", output: { status: "complete" } } }), run)).toBe("complete");
		expect(await fetchRunWorkflowStatus(fakeWorkflow({ [run]: { status: "errored" } }), run)).toBe("errored");
	});

	it("follows hand-overs to the last instance: still running, errored, or complete", async () => {
		const chain = (last: string) =>
			fakeWorkflow({
				[run]: { status: "complete", output: { status: "continued", next: part(2) } },
				[part(2)]: { status: "complete", output: { status: "continued", next: part(3) } },
				[part(3)]: { status: last },
			});
		expect(await fetchRunWorkflowStatus(chain("running"), run)).toBe("running");
		expect(await fetchRunWorkflowStatus(chain("errored"), run)).toBe("errored");
		expect(await fetchRunWorkflowStatus(chain("complete"), run)).toBe("complete");
	});

	it("throws when an instance of the chain cannot be read (the caller decides), and stops on a loop", async () => {
		const broken = fakeWorkflow({ [run]: { status: "complete", output: { status: "continued", next: part(2) } } });
		await expect(fetchRunWorkflowStatus(broken, run)).rejects.toThrow(/not_found/);
		const loop = fakeWorkflow({ [run]: { status: "complete", output: { status: "continued", next: run } } });
		expect(await fetchRunWorkflowStatus(loop, run, 5)).toBe("unknown");
	});

	it("names the parts after the run", () => {
		expect(part(2)).toBe("scheduled-2026-12-01-part2");
		expect(buildContinuationId("manual-20261125T020000Z-abc123", 10)).toBe("manual-20261125T020000Z-abc123-part10");
	});
});
