// The audit_log table: one line per administrative action that changed data (an erasure, a
// restore, an undo), with a small JSON detail of ids and counts, never personal data.

export type AuditAction = "erasure" | "restore" | "restore_undo";

/** One audit line, as a statement for the batch that does the action (so both land or neither). */
export function buildAuditStatement(
	db: D1Database,
	at: string,
	action: AuditAction,
	detail: Record<string, unknown>,
): D1PreparedStatement {
	return db.prepare(`INSERT INTO audit_log (at, action, detail) VALUES (?1, ?2, ?3)`).bind(at, action, JSON.stringify(detail));
}
