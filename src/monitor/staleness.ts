// Dead man's switch, pure part: how old is the newest verified snapshot, and is that too old?
// Computed from the caller's time (the cron's scheduled time or the request time), never the clock.

export type NewestSnapshot = { snapshotId: string; finishedAt: string };

export type Staleness = {
	/** True when the alert condition holds (see computeStaleness). */
	stale: boolean;
	/** Age of the newest verified snapshot in hours (one decimal), null when there is none. */
	ageHours: number | null;
	/** Hours used for the decision: the snapshot's age, or how long the monitor has watched without one. */
	effectiveAgeHours: number;
	thresholdHours: number;
	newest: NewestSnapshot | null;
};

const HOUR_MS = 3_600_000;

/** Hours between two times, one decimal, never negative (a snapshot "from the future" counts as 0). */
export function hoursBetween(from: Date, to: Date): number {
	return Math.max(0, Math.floor(((to.getTime() - from.getTime()) / HOUR_MS) * 10) / 10);
}

/**
 * Stale when the newest verified snapshot finished more than `maxAgeHours` before `now`.
 * With no snapshot at all, the reference is when the monitor started watching (`watchingSince`):
 * a fresh deployment is not alarmed before its first backup had a chance to run, but a
 * deployment that never produces one is, `maxAgeHours` later.
 */
export function computeStaleness(input: {
	newest: NewestSnapshot | null;
	watchingSince: Date | null;
	now: Date;
	maxAgeHours: number;
}): Staleness {
	const { newest, now, maxAgeHours } = input;
	const finished = newest ? new Date(newest.finishedAt) : null;
	const reference = finished && !Number.isNaN(finished.getTime()) ? finished : (input.watchingSince ?? now);
	const effectiveAgeHours = hoursBetween(reference, now);
	return {
		stale: now.getTime() - reference.getTime() > maxAgeHours * HOUR_MS,
		ageHours: newest ? effectiveAgeHours : null,
		effectiveAgeHours,
		thresholdHours: maxAgeHours,
		newest,
	};
}
