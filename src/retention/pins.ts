// Where pins live: D1 (retention_pins, with audit_log lines) and a mirror in R2
// (`retention-pins/<id>.json`, one small JSON object per pin), so that losing D1 never releases a
// pin. Reads merge both; the retention job writes back whatever one side lacks.
import { isSnapshotId } from "../snapshots/format";
import { fetchPin, fetchPins, insertPin, releasePinRow, type PinRecord, type ReleaseOutcome } from "../db/retention-pins";
import { describeError, logError } from "../log";
import { listKeys, type SnapshotStore } from "../snapshots/store";

export const PIN_MIRROR_PREFIX = "retention-pins/";

export function pinMirrorKey(id: string): string {
	return `${PIN_MIRROR_PREFIX}${id}.json`;
}

/** `pin-<snapshot id>`. */
export function isPinId(id: string): boolean {
	return id.startsWith("pin-") && isSnapshotId(id.slice(4));
}

/** Pure: does a parsed mirror object look like a pin? (It is ours, but a bucket is shared ground.) */
function parseMirroredPin(value: unknown): PinRecord | null {
	const p = value as Partial<PinRecord> | null;
	if (!p || typeof p !== "object" || typeof p.id !== "string" || !isPinId(p.id)) return null;
	if (typeof p.detectedIn !== "string" || typeof p.lastBefore !== "string" || typeof p.reason !== "string") return null;
	if (!Array.isArray(p.snapshotIds) || !p.snapshotIds.every((s) => typeof s === "string")) return null;
	if (!Array.isArray(p.tables) || typeof p.createdAt !== "string") return null;
	return {
		id: p.id,
		createdAt: p.createdAt,
		detectedIn: p.detectedIn,
		lastBefore: p.lastBefore,
		snapshotIds: p.snapshotIds,
		tables: p.tables,
		reason: p.reason,
		alertedAt: typeof p.alertedAt === "string" ? p.alertedAt : null,
		releasedAt: typeof p.releasedAt === "string" ? p.releasedAt : null,
	};
}

/** Every pin in the R2 mirror. An unreadable object is logged and skipped (D1 still has the pin). */
export async function fetchMirroredPins(store: SnapshotStore): Promise<PinRecord[]> {
	const keys = await listKeys(store, PIN_MIRROR_PREFIX);
	const pins: PinRecord[] = [];
	for (const key of keys) {
		const obj = await store.get(key);
		if (!obj) continue;
		let pin: PinRecord | null = null;
		try {
			pin = parseMirroredPin(JSON.parse(new TextDecoder().decode(obj.bytes)));
		} catch {
			pin = null;
		}
		if (pin) pins.push(pin);
		else logError("retention_pin_mirror_unreadable", { key });
	}
	return pins;
}

export async function putPinMirror(store: SnapshotStore, pin: PinRecord): Promise<void> {
	await store.put(pinMirrorKey(pin.id), JSON.stringify(pin, null, 2), { contentType: "application/json" });
}

export type KnownPins = {
	/** D1 and the mirror merged, newest first: a pin known to either side; released if either says so. */
	pins: PinRecord[];
	/** In the mirror only (D1 lost or rebuilt): to insert into D1. */
	missingInD1: PinRecord[];
	/** Released in the mirror, still holding in D1: to release in D1. */
	releasedInMirrorOnly: PinRecord[];
	/** Missing from the mirror, or different: to (re)write. */
	staleInMirror: PinRecord[];
};

/** Pure: same content, whatever the key order of the JSON it was read from. */
function samePin(a: PinRecord, b: PinRecord): boolean {
	const key = (p: PinRecord) =>
		JSON.stringify([p.id, p.createdAt, p.detectedIn, p.lastBefore, p.snapshotIds, p.reason, p.alertedAt, p.releasedAt,
			p.tables.map((t) => [t.table, t.fromSnapshot, t.from, t.to, t.erased, t.lost])]);
	return key(a) === key(b);
}

/** Read both sides and merge them (no writes). */
export async function fetchKnownPins(store: SnapshotStore, db: D1Database): Promise<KnownPins> {
	const [stored, mirrored] = await Promise.all([fetchPins(db), fetchMirroredPins(store)]);
	const inD1 = new Map(stored.map((p) => [p.id, p]));
	const inMirror = new Map(mirrored.map((p) => [p.id, p]));
	const known: KnownPins = { pins: [], missingInD1: [], releasedInMirrorOnly: [], staleInMirror: [] };
	for (const id of new Set([...inD1.keys(), ...inMirror.keys()])) {
		const d = inD1.get(id);
		const m = inMirror.get(id);
		const base = d ?? m!;
		const merged: PinRecord = {
			...base,
			releasedAt: d?.releasedAt ?? m?.releasedAt ?? null,
			alertedAt: d?.alertedAt ?? m?.alertedAt ?? null,
		};
		known.pins.push(merged);
		if (!d) known.missingInD1.push(merged);
		else if (!d.releasedAt && merged.releasedAt) known.releasedInMirrorOnly.push(merged);
		if (!m || !samePin(m, merged)) known.staleInMirror.push(merged);
	}
	known.pins.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
	return known;
}

/**
 * Make both sides hold the merged pins. D1 first (with its audit lines), then the mirror. A
 * mirror write that fails is logged and retried by the next run: D1 still holds the pin.
 */
export async function syncPins(store: SnapshotStore, db: D1Database, known: KnownPins): Promise<void> {
	for (const pin of known.missingInD1) await insertPin(db, pin, "mirror");
	for (const pin of known.releasedInMirrorOnly) await releasePinRow(db, pin.id, pin.releasedAt!, "mirror");
	for (const pin of known.staleInMirror) {
		try {
			await putPinMirror(store, pin);
		} catch (err) {
			logError("retention_pin_mirror_failed", { pinId: pin.id, error: describeError(err) });
		}
	}
}

/** Store a new pin: D1 (+ audit line), then its mirror. Throws when D1 fails (the caller must not prune). */
export async function storePin(store: SnapshotStore, db: D1Database, pin: PinRecord): Promise<void> {
	await insertPin(db, pin);
	try {
		await putPinMirror(store, (await fetchPin(db, pin.id)) ?? pin);
	} catch (err) {
		logError("retention_pin_mirror_failed", { pinId: pin.id, error: describeError(err) });
	}
}

/**
 * An administrator releases a pin: D1 (+ "retention_pin_released" audit line), then the mirror,
 * so that the next retention run applies the normal policy to its snapshots again. A pin known
 * only to the mirror (D1 lost) is brought back into D1 first.
 */
export async function releasePin(
	store: SnapshotStore,
	db: D1Database,
	id: string,
	now: Date,
): Promise<{ outcome: ReleaseOutcome; pin: PinRecord | null }> {
	if (!(await fetchPin(db, id))) {
		const mirrored = (await fetchMirroredPins(store)).find((p) => p.id === id);
		if (mirrored) await insertPin(db, mirrored, "mirror");
	}
	const outcome = await releasePinRow(db, id, now.toISOString());
	const pin = await fetchPin(db, id);
	if (pin && outcome === "released") {
		try {
			await putPinMirror(store, pin);
		} catch (err) {
			// D1 says released; the next retention run rewrites the mirror from it.
			logError("retention_pin_mirror_failed", { pinId: id, error: describeError(err) });
		}
	}
	return { outcome, pin };
}
