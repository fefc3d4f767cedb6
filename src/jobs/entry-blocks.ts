// How many chunks' entries (with their parts lists) one Workflow step reads from a manifest and
// returns: the verification and the restore list them a block at a time, so that no step result
// holds a whole large manifest (1 MiB limit) and no step parses it more than once.

/** Most parts and chunks whose entries one "entries" step returns (a result well under 1 MiB). */
export const ENTRY_BLOCK_PARTS = 1000;
export const ENTRY_BLOCK_CHUNKS = 64;

/** Pure: how many of `chunks` from index k (consecutive numbers only) one "entries" step lists. */
export function buildEntryBlock(chunks: readonly number[], k: number, partsPerChunk: readonly number[]): number {
	let parts = 0;
	let n = 0;
	while (k + n < chunks.length && n < ENTRY_BLOCK_CHUNKS) {
		if (n > 0 && chunks[k + n] !== chunks[k + n - 1]! + 1) break;
		const p = partsPerChunk[chunks[k + n]! - 1] ?? 1;
		if (n > 0 && parts + p > ENTRY_BLOCK_PARTS) break;
		parts += p;
		n++;
	}
	return Math.max(1, n);
}

