// The audit log: one row per administrative action that changes data or overrides a safeguard.
// Ids, counts and reasons only: never an answer's content or an e-mail address.

export type AuditEntry = { at: string; action: string; details: Record<string, unknown> };

/** Append one entry (JSON details). */
export async function insertAuditEntry(db: D1Database, entry: AuditEntry): Promise<void> {
	await db
		.prepare(`INSERT INTO audit_log (at, action, detail) VALUES (?1, ?2, ?3)`)
		.bind(entry.at, entry.action, JSON.stringify(entry.details))
		.run();
}
