// The retention policy (restic's ApplyPolicy style), the data-loss detector that pins snapshots,
// and the safety rules. Pure: snapshots, pins, erasures, readers, policy and "now" in; a
// keep/remove decision for every snapshot with ALL its reasons out. The job (job.ts) does the I/O.
import { parseSnapshotTime } from "../snapshots/format.ts";

/** What the policy knows about one snapshot (read from its manifest in R2). */
export type SnapshotFacts = {
	id: string;
	/** The time in the snapshot id (when the backup was requested): periods are computed on it. */
	time: Date;
	/** Complete manifest, and not found corrupt by the latest weekly verification. */
	verified: boolean;
	/** Rows per table, from the manifest. A table the manifest does not list is absent (unknown). */
	tables: Readonly<Record<string, number>>;
	/**
	 * When the backup started and finished reading D1 (manifest `startedAt`/`finishedAt`, the
	 * Worker's clock, like erasure times). Default: `time`. Used to match erasures with snapshots.
	 */
	startedAt?: Date;
	finishedAt?: Date;
};

export type RetentionPolicy = { keepDaily: number; keepWeekly: number; keepMonthly: number };

export type SafetyLimits = {
	/** At most this percentage of the snapshots is removed in one run. */
	maxRemovePct: number;
};

/** One snapshot's fate and every reason behind it (several rules may keep the same snapshot). */
export type Decision = { id: string; time: string; keep: boolean; reasons: string[] };

/** Submissions erased on request at one moment (erased_submissions grouped by erased_at). */
export type ErasureEvent = { at: Date; submissions: number };

/** What the detector found missing in one table. */
export type TableLoss = {
	table: string;
	/** The snapshot that held the most rows (erasures taken into account): `from` is its count. */
	fromSnapshot: string;
	from: number;
	/** Rows in the snapshot that revealed the loss. */
	to: number;
	/** Part of the drop explained by erasures recorded in between (submissions only). */
	erased: number;
	/** from - to - erased: rows gone without an explanation. */
	lost: number;
};

/** A pin the detector wants created: every snapshot before the loss, held until released. */
export type PinDraft = {
	/** `pin-<detectedIn>`: one pin per snapshot that revealed a loss (idempotent re-runs). */
	id: string;
	/** The newest snapshot when the loss was seen: the first one without the lost rows. */
	detectedIn: string;
	/** The newest snapshot that still held the lost rows. */
	lastBefore: string;
	/** Every snapshot up to `lastBefore`, oldest first. */
	snapshotIds: string[];
	tables: TableLoss[];
	/** One line (English), e.g. "data loss seen in <id>: submissions 40 → 10 (30 missing)". */
	reason: string;
};

/** A pin known to the job (D1 or its R2 mirror), released or not. */
export type KnownPin = Pick<PinDraft, "id" | "detectedIn" | "reason" | "snapshotIds"> & { released: boolean };

/**
 * A run reading snapshots now (D1 restore_runs / verification_runs still queued or running).
 * `snapshotId` null: it may read any snapshot (a verification's plan is not recorded in D1).
 */
export type SnapshotReader = { kind: "restore" | "verification"; runId: string; snapshotId: string | null };

export type RetentionPlan = {
	/** Newest first. */
	decisions: Decision[];
	/** A loss seen in this run that no pin covers yet: the job stores it (a dry run only shows it). */
	newPin: PinDraft | null;
	/** Set when pruning is refused because the backup that triggered it failed. */
	held: string | null;
};

// ---------------------------------------------------------------------------------------------
// Periods (UTC)

/** `2026-11-25`. */
export function buildDayKey(t: Date): string {
	return t.toISOString().slice(0, 10);
}

/** `2026-11`. */
export function buildMonthKey(t: Date): string {
	return t.toISOString().slice(0, 7);
}

/** ISO-8601 week, `2026-W48`: weeks start on Monday, week 1 holds the year's first Thursday. */
export function buildWeekKey(t: Date): string {
	const day = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
	const weekday = (day.getUTCDay() + 6) % 7; // Monday = 0
	day.setUTCDate(day.getUTCDate() + 3 - weekday); // the Thursday of this week decides the year
	const year = day.getUTCFullYear();
	const week = 1 + Math.floor((day.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 / 7);
	return `${year}-W${String(week).padStart(2, "0")}`;
}

const PERIODS = [
	{ name: "daily", key: buildDayKey, count: (p: RetentionPolicy) => p.keepDaily },
	{ name: "weekly", key: buildWeekKey, count: (p: RetentionPolicy) => p.keepWeekly },
	{ name: "monthly", key: buildMonthKey, count: (p: RetentionPolicy) => p.keepMonthly },
] as const;

function newestFirst(snapshots: readonly SnapshotFacts[]): SnapshotFacts[] {
	return [...snapshots].sort((a, b) => b.time.getTime() - a.time.getTime() || (b.id < a.id ? -1 : 1));
}

function isFuture(s: SnapshotFacts, now: Date): boolean {
	return s.time.getTime() > now.getTime();
}

// ---------------------------------------------------------------------------------------------
// The policy

/**
 * For each kind (daily, weekly, monthly), the newest N periods THAT HAVE A SNAPSHOT each keep one
 * snapshot. Like restic, a gap in the history (days without backups) does not use up the quota,
 * so an outage never shortens what is kept. Snapshots dated after `now` (clock trouble) are kept
 * and stay out of the periods.
 *
 * Which snapshot holds a period's slot: a PINNED one first (a snapshot from before a data loss is
 * never passed over for a later one that lacks the data), verified before corrupt, newest first;
 * then the newest verified one; then the newest.
 */
export function applyPolicy(
	snapshots: readonly SnapshotFacts[],
	policy: RetentionPolicy,
	now: Date,
	pinned: ReadonlySet<string> = new Set(),
): Decision[] {
	const sorted = newestFirst(snapshots);
	const reasons = new Map<string, string[]>(sorted.map((s) => [s.id, []]));
	const past = sorted.filter((s) => !isFuture(s, now));
	for (const s of sorted) if (isFuture(s, now)) reasons.get(s.id)!.push("future-dated: kept");

	for (const period of PERIODS) {
		const groups = new Map<string, SnapshotFacts[]>(); // insertion order = newest period first
		for (const s of past) {
			const key = period.key(s.time);
			const group = groups.get(key) ?? [];
			group.push(s);
			groups.set(key, group);
		}
		let left = period.count(policy);
		for (const [key, group] of groups) {
			if (left <= 0) break;
			const chosen =
				group.find((s) => pinned.has(s.id) && s.verified) ??
				group.find((s) => pinned.has(s.id)) ??
				group.find((s) => s.verified) ??
				group[0]!;
			reasons.get(chosen.id)!.push(`${period.name} ${key}`);
			left--;
		}
	}
	return sorted.map((s) => {
		const r = reasons.get(s.id)!;
		return {
			id: s.id,
			time: s.time.toISOString(),
			keep: r.length > 0,
			reasons: r.length > 0 ? r : ["outside the daily, weekly and monthly slots"],
		};
	});
}

// ---------------------------------------------------------------------------------------------
// Data-loss detection

/**
 * The tables whose row count must never go down, and how a drop may be explained. The
 * organisation deletes answers only through erasure requests; roles are only ever added;
 * erasures, erased_submissions and audit_log are append-only. So ONE row missing without a
 * recorded erasure is a loss (`minLost` 1). Not watched: counters (derived, rebuilt by a
 * restore) and backup_runs (operational). See docs/retention-and-verification.md.
 */
export const WATCHED_TABLES: readonly { table: string; adjust: "erasures" | null; minLost: number }[] = [
	{ table: "submissions", adjust: "erasures", minLost: 1 },
	{ table: "roles", adjust: null, minLost: 1 },
	{ table: "erasures", adjust: null, minLost: 1 },
	{ table: "erased_submissions", adjust: null, minLost: 1 },
	{ table: "audit_log", adjust: null, minLost: 1 },
];

/** Submissions erased strictly before `before`, and (when given) within [from, to], bounds included. */
function countErased(erasures: readonly ErasureEvent[], before: Date, from?: Date, to?: Date): { before: number; during: number } {
	let b = 0;
	let d = 0;
	for (const e of erasures) {
		const at = e.at.getTime();
		if (at < before.getTime()) b += e.submissions;
		else if (from && to && at >= from.getTime() && at <= to.getTime()) d += e.submissions;
	}
	return { before: b, during: d };
}

/**
 * Pure: has data disappeared? The NEWEST snapshot (not future-dated) is compared, table by table,
 * with EVERY snapshot of the window (those taken since the newest pin's `detectedIn`, released or
 * not: a released pin is the administrator's "this level is the new normal", and an existing pin
 * already covers its loss). A drop of more than one backup, or one spread over several backups,
 * is seen as long as the fuller snapshot is retained.
 *
 * Submissions are compared "erasure-adjusted": count + submissions erased before the backup
 * started reading. Erasures recorded while the newest backup was running may or may not be in it:
 * they are given the benefit of the doubt. So a drop explained by erasures is not a loss, and a
 * drop of ONE unexplained row is.
 *
 * When something is missing, every snapshot up to the newest one that still held it is to be
 * pinned (older ones too: they all hold the lost rows, or older versions of them).
 */
export function findDataLoss(input: {
	snapshots: readonly SnapshotFacts[];
	erasures?: readonly ErasureEvent[];
	pins?: readonly Pick<KnownPin, "detectedIn">[];
	now: Date;
}): PinDraft | null {
	const erasures = input.erasures ?? [];
	const past = newestFirst(input.snapshots).filter((s) => !isFuture(s, input.now));
	const newest = past[0];
	if (!newest) return null;
	let since = -Infinity;
	for (const p of input.pins ?? []) since = Math.max(since, parseSnapshotTime(p.detectedIn)?.getTime() ?? -Infinity);
	if (newest.time.getTime() < since) return null;
	const window = past.slice(1).filter((s) => s.time.getTime() >= since);

	const losses: TableLoss[] = [];
	let lastBeforeIndex = Infinity; // index in `past` of the newest snapshot that still held lost rows
	const newestErased = countErased(erasures, newest.startedAt ?? newest.time, newest.startedAt ?? newest.time, newest.finishedAt ?? newest.time);
	for (const rule of WATCHED_TABLES) {
		const to = newest.tables[rule.table];
		if (to === undefined) continue;
		const adjusted = (s: SnapshotFacts, rows: number) =>
			rule.adjust === "erasures" ? rows + countErased(erasures, s.startedAt ?? s.time).before : rows;
		// The newest's best case: every erasure that might be reflected in it counts as such.
		const ceiling = adjusted(newest, to) + (rule.adjust === "erasures" ? newestErased.during : 0);
		let worst: { s: SnapshotFacts; lost: number } | null = null;
		for (const s of window) {
			const rows = s.tables[rule.table];
			if (rows === undefined) continue;
			const lost = adjusted(s, rows) - ceiling;
			if (lost < rule.minLost) continue;
			if (!worst || lost > worst.lost) worst = { s, lost };
			lastBeforeIndex = Math.min(lastBeforeIndex, past.indexOf(s));
		}
		if (!worst) continue;
		const from = worst.s.tables[rule.table]!;
		losses.push({ table: rule.table, fromSnapshot: worst.s.id, from, to, erased: from - to - worst.lost, lost: worst.lost });
	}
	if (losses.length === 0) return null;
	const lastBefore = past[lastBeforeIndex]!;
	const details = losses
		.map((l) => `${l.table} ${l.from} → ${l.to} (${l.lost} missing${l.erased > 0 ? `, ${l.erased} erased on request` : ""})`)
		.join("; ");
	return {
		id: `pin-${newest.id}`,
		detectedIn: newest.id,
		lastBefore: lastBefore.id,
		snapshotIds: past.slice(lastBeforeIndex).map((s) => s.id).reverse(),
		tables: losses,
		reason: `data loss seen in ${newest.id}: ${details}`,
	};
}

// ---------------------------------------------------------------------------------------------
// Safety rules: each takes decisions and returns new ones, only ever turning "remove" into "keep"
// (and adding its reason to snapshots already kept, so every reason is visible).

function keepWith(d: Decision, reason: string): Decision {
	return d.keep ? { ...d, reasons: [...d.reasons, reason] } : { id: d.id, time: d.time, keep: true, reasons: [reason] };
}

/** Every snapshot of an unreleased pin is kept, whatever the policy says: `pinned: <reason>`. */
export function keepPinned(decisions: Decision[], pins: readonly Pick<KnownPin, "reason" | "snapshotIds" | "released">[]): Decision[] {
	const why = new Map<string, string[]>();
	for (const p of pins) {
		if (p.released) continue;
		for (const id of p.snapshotIds) why.set(id, [...(why.get(id) ?? []), `pinned: ${p.reason}`]);
	}
	return decisions.map((d) => (why.get(d.id) ?? []).reduce(keepWith, d));
}

/**
 * A snapshot a running restore or verification may be reading is never removed: deleting it
 * under the reader would fail the restore, or raise a false corruption alarm.
 */
export function keepInUse(decisions: Decision[], readers: readonly SnapshotReader[]): Decision[] {
	return decisions.map((d) =>
		readers
			.filter((r) => r.snapshotId === null || r.snapshotId === d.id)
			.map((r) => `in use: ${r.kind} ${r.runId} is reading ${r.snapshotId === null ? "the snapshots" : "this snapshot"}`)
			.reduce(keepWith, d),
	);
}

/** The newest verified snapshot (not future-dated) is never removed, whatever the policy says. */
export function keepNewestVerified(decisions: Decision[], snapshots: readonly SnapshotFacts[], now: Date): Decision[] {
	const newest = newestFirst(snapshots).find((s) => s.verified && !isFuture(s, now));
	if (!newest) return decisions;
	return decisions.map((d) => (d.id === newest.id ? keepWith(d, "newest verified") : d));
}

/** No pruning after a failed backup: the snapshots we have may be the only good ones left. */
export function holdAfterFailure(decisions: Decision[], backupStatus: "complete" | "failed"): Decision[] {
	if (backupStatus === "complete") return decisions;
	return decisions.map((d) => (d.keep ? d : keepWith(d, "held: the last backup failed, nothing is pruned")));
}

/**
 * At most `maxRemovePct` percent of all snapshots (rounded down) removed in one run; the oldest
 * go first, the rest wait for a later run. With fewer than 100/maxRemovePct snapshots nothing is
 * removed: the bound is strict.
 */
export function capRemovals(decisions: Decision[], maxRemovePct: number): Decision[] {
	const allowed = Math.floor((decisions.length * maxRemovePct) / 100);
	const removals = decisions
		.filter((d) => !d.keep)
		.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1));
	const deferred = new Set(removals.slice(allowed).map((d) => d.id));
	return decisions.map((d) =>
		deferred.has(d.id) ? keepWith(d, `deferred: at most ${maxRemovePct}% of snapshots removed per run`) : d,
	);
}

/**
 * The whole plan: detect a new loss, then the policy (slots filled with pins in mind), then every
 * safety rule in order. A loss found now pins at once, in this very plan (and in a dry run).
 */
export function planRetention(input: {
	snapshots: readonly SnapshotFacts[];
	policy: RetentionPolicy;
	limits: SafetyLimits;
	now: Date;
	backupStatus: "complete" | "failed";
	/** Every pin known, released ones included (they set the detector's baseline). */
	pins?: readonly KnownPin[];
	erasures?: readonly ErasureEvent[];
	readers?: readonly SnapshotReader[];
}): RetentionPlan {
	const { snapshots, policy, limits, now, backupStatus } = input;
	const known = input.pins ?? [];
	const newPin = findDataLoss({ snapshots, erasures: input.erasures, pins: known, now });
	const pins: KnownPin[] = newPin && !known.some((p) => p.id === newPin.id) ? [...known, { ...newPin, released: false }] : [...known];
	const pinned = new Set(pins.filter((p) => !p.released).flatMap((p) => p.snapshotIds));
	let decisions = applyPolicy(snapshots, policy, now, pinned);
	decisions = keepPinned(decisions, pins);
	decisions = keepInUse(decisions, input.readers ?? []);
	decisions = keepNewestVerified(decisions, snapshots, now);
	decisions = holdAfterFailure(decisions, backupStatus);
	decisions = capRemovals(decisions, limits.maxRemovePct);
	return { decisions, newPin, held: backupStatus === "failed" ? "the last backup failed" : null };
}
