// The retention_pins table (migrations/0005): snapshots held by retention after a data loss,
// until an administrator releases them. Every creation and release also writes one audit_log
// line in the same batch (ids and counts only). The R2 mirror lives in src/retention/pins.ts.

/** What one table lost (the detector's TableLoss in src/retention/policy.ts, same shape). */
export type StoredTableLoss = { table: string; fromSnapshot: string; from: number; to: number; erased: number; lost: number };

/** A stored pin: what the detector found (its PinDraft), plus its life cycle. Times are ISO 8601. */
export type PinRecord = {
	id: string;
	detectedIn: string;
	lastBefore: string;
	/** Oldest first. */
	snapshotIds: string[];
	tables: StoredTableLoss[];
	reason: string;
	createdAt: string;
	/** When the retention_frozen alert was delivered; null until then (the next run retries). */
	alertedAt: string | null;
	/** Null while the pin holds. */
	releasedAt: string | null;
};

type PinRow = {
	id: string;
	created_at: string;
	detected_in: string;
	last_before: string;
	snapshot_ids: string;
	tables: string;
	reason: string;
	alerted_at: string | null;
	released_at: string | null;
};

function toRecord(r: PinRow): PinRecord {
	return {
		id: r.id,
		createdAt: r.created_at,
		detectedIn: r.detected_in,
		lastBefore: r.last_before,
		snapshotIds: JSON.parse(r.snapshot_ids) as string[],
		tables: JSON.parse(r.tables) as StoredTableLoss[],
		reason: r.reason,
		alertedAt: r.alerted_at,
		releasedAt: r.released_at,
	};
}

/** Every pin, released ones included, newest first. */
export async function fetchPins(db: D1Database): Promise<PinRecord[]> {
	const { results } = await db.prepare("SELECT * FROM retention_pins ORDER BY created_at DESC, id DESC").all<PinRow>();
	return results.map(toRecord);
}

export async function fetchPin(db: D1Database, id: string): Promise<PinRecord | null> {
	const row = await db.prepare("SELECT * FROM retention_pins WHERE id = ?").bind(id).first<PinRow>();
	return row ? toRecord(row) : null;
}

/**
 * Store a pin and its "retention_pin_created" audit line, in one batch. Idempotent: a pin that
 * exists is left as it is, and the audit line is written once per pin (a retried Workflow step,
 * or a pin brought back from the R2 mirror after losing D1, `source` "mirror").
 */
export async function insertPin(db: D1Database, pin: PinRecord, source: "detected" | "mirror" = "detected"): Promise<void> {
	const detail = JSON.stringify({
		pinId: pin.id,
		detectedIn: pin.detectedIn,
		snapshots: pin.snapshotIds.length,
		tables: pin.tables.map((t) => ({ table: t.table, lost: t.lost })),
		...(source === "mirror" ? { source } : {}),
	});
	await db.batch([
		db
			.prepare(
				`INSERT OR IGNORE INTO retention_pins
				 (id, created_at, detected_in, last_before, snapshot_ids, tables, reason, alerted_at, released_at)
				 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`,
			)
			.bind(
				pin.id,
				pin.createdAt,
				pin.detectedIn,
				pin.lastBefore,
				JSON.stringify(pin.snapshotIds),
				JSON.stringify(pin.tables),
				pin.reason,
				pin.alertedAt,
				pin.releasedAt,
			),
		db
			.prepare(
				`INSERT INTO audit_log (at, action, detail)
				 SELECT ?1, 'retention_pin_created', ?2
				 WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE action = 'retention_pin_created' AND json_extract(detail, '$.pinId') = ?3)`,
			)
			.bind(pin.createdAt, detail, pin.id),
	]);
}

export async function markPinAlerted(db: D1Database, id: string, at: string): Promise<void> {
	await db.prepare("UPDATE retention_pins SET alerted_at = ?2 WHERE id = ?1 AND alerted_at IS NULL").bind(id, at).run();
}

export type ReleaseOutcome = "released" | "already_released" | "not_found";

/**
 * Release a pin and write its "retention_pin_released" audit line, in one batch: the line is
 * written only by the call that actually released it (the update sets `released_at` = `at`).
 */
export async function releasePinRow(db: D1Database, id: string, at: string, source: "admin" | "mirror" = "admin"): Promise<ReleaseOutcome> {
	const [update] = await db.batch([
		db.prepare("UPDATE retention_pins SET released_at = ?2 WHERE id = ?1 AND released_at IS NULL").bind(id, at),
		db
			.prepare(
				`INSERT INTO audit_log (at, action, detail)
				 SELECT ?2, 'retention_pin_released',
				        json_object('pinId', id, 'snapshots', json_array_length(snapshot_ids), 'by', ?3)
				 FROM retention_pins WHERE id = ?1 AND released_at = ?2
				 AND NOT EXISTS (SELECT 1 FROM audit_log WHERE action = 'retention_pin_released' AND json_extract(detail, '$.pinId') = ?1)`,
			)
			.bind(id, at, source),
	]);
	if ((update?.meta.changes ?? 0) > 0) return "released";
	const exists = await db.prepare("SELECT 1 AS x FROM retention_pins WHERE id = ?").bind(id).first();
	return exists ? "already_released" : "not_found";
}
