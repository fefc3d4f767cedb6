// The verify_cursor table: where the weekly verification's rotating sample stopped (the last
// chunk it read), so that the next week goes on from there and every chunk is read in turn.

/** The last chunk read ("<snapshotId>/<n>"), or null when no sample has been read yet. */
export async function fetchVerifyCursor(db: D1Database, name = "weekly"): Promise<string | null> {
	const row = await db.prepare("SELECT position FROM verify_cursor WHERE name = ?").bind(name).first<{ position: string }>();
	return row?.position ?? null;
}

/** Record where the sample stopped (null: everything was read, start from the beginning). */
export async function saveVerifyCursor(db: D1Database, position: string | null, at: Date, name = "weekly"): Promise<void> {
	if (position === null) {
		await db.prepare("DELETE FROM verify_cursor WHERE name = ?").bind(name).run();
		return;
	}
	await db
		.prepare("INSERT INTO verify_cursor (name, position, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at")
		.bind(name, position, at.toISOString())
		.run();
}
