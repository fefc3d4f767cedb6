// The backup_chunk_parts table: each chunk's parts list (see ChunkEntry.parts) kept in D1 while a
// backup run is exporting, so that a chained instance's hand-over carries the chunks without them.

/** One part of a chunk, as the manifest lists it (ChunkPart in src/snapshots/format.ts, a sibling layer). */
export type ChunkPart = { offset: number; bytes: number; sha256: string; rows: number };

/** Statement recording chunk `n`'s parts for a run (idempotent: a retried step writes the same). */
export function buildChunkPartsStatement(db: D1Database, runId: string, n: number, parts: readonly ChunkPart[]): D1PreparedStatement {
	return db
		.prepare("INSERT INTO backup_chunk_parts (run_id, n, parts) VALUES (?, ?, ?) ON CONFLICT (run_id, n) DO UPDATE SET parts = excluded.parts")
		.bind(runId, n, JSON.stringify(parts));
}

/** Every chunk's parts of a run, by chunk number. */
export async function fetchChunkParts(db: D1Database, runId: string): Promise<Map<number, ChunkPart[]>> {
	const { results } = await db.prepare("SELECT n, parts FROM backup_chunk_parts WHERE run_id = ?").bind(runId).all<{ n: number; parts: string }>();
	return new Map(results.map((r) => [r.n, JSON.parse(r.parts) as ChunkPart[]]));
}

/** Forget a run's parts (its manifest holds them now, or it failed). */
export async function deleteChunkParts(db: D1Database, runId: string): Promise<void> {
	await db.prepare("DELETE FROM backup_chunk_parts WHERE run_id = ?").bind(runId).run();
}
