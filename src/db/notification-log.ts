// The notification_log table: one row per delivery attempt to a channel (e-mail provider, webhook,
// heartbeat), with its outcome; read for the channels' health on the status page, pruned hourly.
// Channel names, event types, run ids and error messages only: never a recipient or a body.

export type DeliveryRow = {
	channel: string;
	eventType: string;
	runId: string | null;
	ok: boolean;
	attempts: number;
	durationMs: number;
	error: string | null;
};

/** One row per delivery, in ONE batch, all stamped `at`. */
export async function insertDeliveries(db: D1Database, rows: readonly DeliveryRow[], at: Date): Promise<void> {
	const stmt = db.prepare(
		"INSERT INTO notification_log (at, channel, event_type, run_id, ok, attempts, duration_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	);
	await db.batch(
		rows.map((r) =>
			stmt.bind(at.toISOString(), r.channel, r.eventType, r.runId, r.ok ? 1 : 0, r.attempts, Math.round(r.durationMs), r.error),
		),
	);
}

/** What the log says of each channel, read in one batch. */
export type ChannelLog = {
	/** The latest row of each channel. */
	latest: Array<{ channel: string; at: string; ok: number; error: string | null; event_type: string }>;
	/** The latest successful delivery of each channel. */
	lastSuccess: Array<{ channel: string; at: string }>;
	/** Failed deliveries of each channel since `failuresSince`. */
	failures: Array<{ channel: string; n: number }>;
};

export async function fetchChannelLog(db: D1Database, failuresSince: string): Promise<ChannelLog> {
	const [latest, lastSuccess, failures] = await db.batch([
		db.prepare(
			"SELECT channel, at, ok, error, event_type FROM notification_log WHERE seq IN (SELECT MAX(seq) FROM notification_log GROUP BY channel)",
		),
		db.prepare("SELECT channel, MAX(at) AS at FROM notification_log WHERE ok = 1 GROUP BY channel"),
		db.prepare("SELECT channel, COUNT(*) AS n FROM notification_log WHERE ok = 0 AND at >= ? GROUP BY channel").bind(failuresSince),
	]);
	return {
		latest: (latest?.results ?? []) as ChannelLog["latest"],
		lastSuccess: (lastSuccess?.results ?? []) as ChannelLog["lastSuccess"],
		failures: (failures?.results ?? []) as ChannelLog["failures"],
	};
}

/** Delete the rows older than `cutoff` (ISO); returns how many went. */
export async function deleteDeliveriesBefore(db: D1Database, cutoff: string): Promise<number> {
	const res = await db.prepare("DELETE FROM notification_log WHERE at < ?").bind(cutoff).run();
	return res.meta.changes;
}
