// The retention policy (restic's ApplyPolicy style) and its safety rules. Pure: snapshots, policy
// and "now" in, a keep/remove decision with its reasons out. The job (retention-job.ts) does the I/O.

/** What the policy knows about one snapshot (read from its manifest in R2). */
export type SnapshotFacts = {
	id: string;
	time: Date;
	/** Complete manifest, and not found corrupt by the latest weekly verification. */
	verified: boolean;
	/** Rows of `submissions` in the snapshot, or null when unknown. */
	submissions: number | null;
};

export type RetentionPolicy = { keepDaily: number; keepWeekly: number; keepMonthly: number };

export type SafetyLimits = {
	/** At most this percentage of the snapshots is removed in one run. */
	maxRemovePct: number;
	/** Freeze when the newest snapshot has more than this percentage fewer submissions than the previous one. */
	freezeDropPct: number;
};

/** One snapshot's fate and every reason behind it (several rules may keep the same snapshot). */
export type Decision = { id: string; time: string; keep: boolean; reasons: string[] };

export type Freeze = { reason: string; dropPct: number; newest: string; previous: string; from: number; to: number };

export type RetentionPlan = {
	/** Newest first. */
	decisions: Decision[];
	/** Set when pruning is frozen by a suspicious drop (nothing is removed, an alert is due). */
	frozen: Freeze | null;
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
 * snapshot: the newest verified one of the period, else its newest. Like restic, a gap in the
 * history (days without backups) does not use up the quota, so an outage never shortens what is
 * kept. Snapshots dated after `now` (clock trouble) are kept and stay out of the periods.
 */
export function applyPolicy(snapshots: readonly SnapshotFacts[], policy: RetentionPolicy, now: Date): Decision[] {
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
			const chosen = group.find((s) => s.verified) ?? group[0]!;
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
// Safety rules: each takes decisions and returns new ones, only ever turning "remove" into "keep".

function keepWith(d: Decision, reason: string): Decision {
	return d.keep ? { ...d, reasons: [...d.reasons, reason] } : { id: d.id, time: d.time, keep: true, reasons: [reason] };
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
 * Pure: the drop between the newest snapshot (not future-dated) and the one before it, when it is
 * more than `freezeDropPct` percent of the previous count. Integer arithmetic, no rounding surprises.
 */
export function findSuspiciousDrop(snapshots: readonly SnapshotFacts[], freezeDropPct: number, now: Date): Freeze | null {
	const [newest, previous] = newestFirst(snapshots).filter((s) => !isFuture(s, now));
	if (!newest || !previous || newest.submissions === null || previous.submissions === null) return null;
	const from = previous.submissions;
	const to = newest.submissions;
	if (from <= 0 || (from - to) * 100 <= freezeDropPct * from) return null;
	const dropPct = Math.round(((from - to) * 1000) / from) / 10;
	return {
		reason: `submissions fell by ${dropPct}% (${from} → ${to}) between ${previous.id} and ${newest.id}`,
		dropPct,
		newest: newest.id,
		previous: previous.id,
		from,
		to,
	};
}

/** Freeze: when the data shrank suspiciously, keep everything (old snapshots are precious now). */
export function freezeOnDrop(decisions: Decision[], freeze: Freeze | null): Decision[] {
	if (!freeze) return decisions;
	return decisions.map((d) => (d.keep ? d : keepWith(d, `frozen: ${freeze.reason}`)));
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

/** The whole plan: policy, then every safety rule in order. */
export function planRetention(input: {
	snapshots: readonly SnapshotFacts[];
	policy: RetentionPolicy;
	limits: SafetyLimits;
	now: Date;
	backupStatus: "complete" | "failed";
}): RetentionPlan {
	const { snapshots, policy, limits, now, backupStatus } = input;
	let decisions = applyPolicy(snapshots, policy, now);
	decisions = keepNewestVerified(decisions, snapshots, now);
	decisions = holdAfterFailure(decisions, backupStatus);
	const frozen = findSuspiciousDrop(snapshots, limits.freezeDropPct, now);
	decisions = freezeOnDrop(decisions, frozen);
	decisions = capRemovals(decisions, limits.maxRemovePct);
	return { decisions, frozen, held: backupStatus === "failed" ? "the last backup failed" : null };
}
