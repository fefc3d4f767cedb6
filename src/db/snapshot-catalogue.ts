// The snapshot_catalogue table: what each committed snapshot's manifest says (counts, sizes,
// signature state), recorded once so that status, the hourly check, retention and the snapshot
// list read one D1 query instead of every manifest. The bucket stays the source of truth.

export type SignatureState = "valid" | "unsigned" | "invalid" | "other-key" | "no-key";

export type CatalogueEntry = {
	snapshotId: string;
	startedAt: string;
	finishedAt: string;
	trigger: "scheduled" | "manual";
	formatVersion: number;
	bytes: number;
	rows: number;
	/** Rows per table. */
	tables: Record<string, number>;
	chunks: number;
	encrypted: boolean;
	signature: SignatureState;
	/** Public id of the signing key the signature was checked with (null: no key configured). */
	keyId: string | null;
	manifestSha256: string;
	cataloguedAt: string;
	checkedAt: string;
	/** Set when the manifest was found missing from the bucket. */
	goneAt: string | null;
};

type CatalogueRow = {
	snapshot_id: string;
	started_at: string;
	finished_at: string;
	trigger: string;
	format_version: number;
	bytes: number;
	rows: number;
	tables: string;
	chunks: number;
	encrypted: number;
	signature: string;
	key_id: string | null;
	manifest_sha256: string;
	catalogued_at: string;
	checked_at: string;
	gone_at: string | null;
};

function toEntry(r: CatalogueRow): CatalogueEntry {
	return {
		snapshotId: r.snapshot_id,
		startedAt: r.started_at,
		finishedAt: r.finished_at,
		trigger: r.trigger === "scheduled" ? "scheduled" : "manual",
		formatVersion: r.format_version,
		bytes: r.bytes,
		rows: r.rows,
		tables: JSON.parse(r.tables) as Record<string, number>,
		chunks: r.chunks,
		encrypted: r.encrypted === 1,
		signature: r.signature as SignatureState,
		keyId: r.key_id,
		manifestSha256: r.manifest_sha256,
		cataloguedAt: r.catalogued_at,
		checkedAt: r.checked_at,
		goneAt: r.gone_at,
	};
}

/** The upsert of one entry (a manifest read again replaces what was known, and clears gone_at). */
export function buildCatalogueUpsertStatement(db: D1Database, e: CatalogueEntry): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO snapshot_catalogue (snapshot_id, started_at, finished_at, trigger, format_version, bytes, rows, tables,
			 chunks, encrypted, signature, key_id, manifest_sha256, catalogued_at, checked_at, gone_at)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, NULL)
			 ON CONFLICT (snapshot_id) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at,
			 trigger = excluded.trigger, format_version = excluded.format_version, bytes = excluded.bytes, rows = excluded.rows,
			 tables = excluded.tables, chunks = excluded.chunks, encrypted = excluded.encrypted, signature = excluded.signature,
			 key_id = excluded.key_id, manifest_sha256 = excluded.manifest_sha256, checked_at = excluded.checked_at, gone_at = NULL`,
		)
		.bind(
			e.snapshotId,
			e.startedAt,
			e.finishedAt,
			e.trigger,
			e.formatVersion,
			e.bytes,
			e.rows,
			JSON.stringify(e.tables),
			e.chunks,
			e.encrypted ? 1 : 0,
			e.signature,
			e.keyId,
			e.manifestSha256,
			e.cataloguedAt,
			e.checkedAt,
		);
}

/** Record entries (one batch: one query for D1's per-invocation count). */
export async function upsertCatalogueEntries(db: D1Database, entries: readonly CatalogueEntry[]): Promise<void> {
	if (entries.length === 0) return;
	await db.batch(entries.map((e) => buildCatalogueUpsertStatement(db, e)));
}

/** Every entry, gone ones included, newest first. */
export async function fetchCatalogue(db: D1Database): Promise<CatalogueEntry[]> {
	const { results } = await db.prepare("SELECT * FROM snapshot_catalogue ORDER BY snapshot_id DESC").all<CatalogueRow>();
	return results.map(toEntry);
}

/** Mark entries as seen in the bucket (checked_at) and others as gone, in one batch. */
export async function updateCatalogueChecks(
	db: D1Database,
	changes: { seen: readonly string[]; gone: readonly string[]; at: Date },
): Promise<void> {
	const at = changes.at.toISOString();
	const statements: D1PreparedStatement[] = [];
	for (const id of changes.seen) {
		statements.push(db.prepare("UPDATE snapshot_catalogue SET checked_at = ?2 WHERE snapshot_id = ?1").bind(id, at));
	}
	for (const id of changes.gone) {
		statements.push(
			db.prepare("UPDATE snapshot_catalogue SET gone_at = ?2, checked_at = ?2 WHERE snapshot_id = ?1 AND gone_at IS NULL").bind(id, at),
		);
	}
	if (statements.length > 0) await db.batch(statements);
}

/** Forget entries (a snapshot deleted by retention or an administrator). */
export async function deleteCatalogueEntries(db: D1Database, ids: readonly string[]): Promise<void> {
	if (ids.length === 0) return;
	await db.batch(ids.map((id) => db.prepare("DELETE FROM snapshot_catalogue WHERE snapshot_id = ?1").bind(id)));
}
