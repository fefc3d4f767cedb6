// The audit_log table: one line per administrative action that changed data (an erasure, a
// restore, an undo), with a small JSON detail of ids and counts, never personal data.

export type AuditAction = "erasure" | "restore" | "restore_undo" | "restore_unsigned_override" | "snapshot_import";

/** One audit line, as a statement for the batch that does the action (so both land or neither). */
export function buildAuditStatement(
	db: D1Database,
	at: string,
	action: AuditAction,
	detail: Record<string, unknown>,
): D1PreparedStatement {
	return db.prepare(`INSERT INTO audit_log (at, action, detail) VALUES (?1, ?2, ?3)`).bind(at, action, JSON.stringify(detail));
}

/** Append one audit line on its own (for an action that has no batch of its own, e.g. an override). */
export async function insertAuditEntry(
	db: D1Database,
	entry: { at: string; action: AuditAction; details: Record<string, unknown> },
): Promise<void> {
	await buildAuditStatement(db, entry.at, entry.action, entry.details).run();
}
