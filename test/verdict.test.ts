// The verdict rules of docs/verdict.md, one row each: the level, the reason codes, and the words
// (local dates, channel names, « personne ne sera prévenu »), on plain values.
import { describe, expect, it } from "vitest";
import { buildVerdict, channelLabel, type VerdictInput } from "../src/monitor/verdict";

const NOW = "2026-12-03T10:00:00.000Z";
const H = 3_600_000;
const ago = (hours: number) => new Date(Date.parse(NOW) - hours * H).toISOString();
const ch = (channel: string, health: string, configured = true) => ({ channel, configured, health, lastAttemptAt: ago(5) });

/** Everything fine: a fresh backup, a recent verification, a working e-mail, signed, no copy. */
const GOOD: VerdictInput = {
	now: NOW,
	timeZone: "Europe/Paris",
	thresholdHours: 26,
	lastRun: { status: "complete", startedAt: ago(8), finishedAt: ago(8) },
	newestSnapshot: { finishedAt: ago(8) },
	stale: false,
	oldestFinishedAt: ago(24 * 30),
	verification: { status: "ok", finishedAt: ago(48), snapshotsCorrupt: 0, drillStatus: "ok" },
	channels: [ch("resend", "ok"), ch("heartbeat", "ok")],
	offsite: null,
	signing: { configured: true },
};

type Row = { name: string; input: Partial<VerdictInput>; level: "ok" | "warning" | "problem"; codes: string[]; fr?: RegExp };

const ROWS: Row[] = [
	{ name: "all well", input: {}, level: "ok", codes: [] },
	{
		name: "fresh install: no run, no backup, not yet stale",
		input: { lastRun: null, newestSnapshot: null, oldestFinishedAt: null, verification: null },
		level: "warning",
		codes: ["no_backup"],
		fr: /^Aucune sauvegarde pour l’instant\.$/,
	},
	{
		name: "first backup running",
		input: { lastRun: { status: "running", startedAt: ago(0.1), finishedAt: null }, newestSnapshot: null, verification: null, oldestFinishedAt: null },
		level: "warning",
		codes: ["no_backup"],
		fr: /la première est en cours/,
	},
	{
		name: "never any backup, watched past the threshold",
		input: { lastRun: null, newestSnapshot: null, stale: true, verification: null, oldestFinishedAt: null },
		level: "problem",
		codes: ["no_backup_stale"],
		fr: /plus de 26 heures/,
	},
	{
		name: "newest verified backup too old",
		input: { newestSnapshot: { finishedAt: "2026-12-01T02:00:00.000Z" }, stale: true, lastRun: { status: "complete", startedAt: ago(56), finishedAt: "2026-12-01T02:00:00.000Z" } },
		level: "problem",
		codes: ["stale"],
		fr: /date du mardi 1 décembre 2026 à 3\u00a0h\u00a000/,
	},
	{
		name: "last run failed, previous backup fresh: warning naming the intact backup",
		input: {
			lastRun: { status: "failed", startedAt: "2026-12-03T02:00:00.000Z", finishedAt: "2026-12-03T02:05:00.000Z" },
			newestSnapshot: { finishedAt: "2026-12-02T02:03:00.000Z" },
		},
		level: "warning",
		codes: ["last_run_failed"],
		fr: /sauvegarde du jeudi 3 décembre 2026 à 3\u00a0h\u00a000 a échoué ; celle du mercredi 2 décembre 2026 à 3\u00a0h\u00a003 est intacte/,
	},
	{
		name: "last run failed, no backup at all",
		input: { lastRun: { status: "failed", startedAt: ago(1), finishedAt: ago(1) }, newestSnapshot: null, verification: null, oldestFinishedAt: null },
		level: "problem",
		codes: ["last_run_failed"],
		fr: /aucune sauvegarde réussie/,
	},
	{
		name: "last run failed and backups stale: both, problems",
		input: { lastRun: { status: "failed", startedAt: ago(1), finishedAt: ago(1) }, newestSnapshot: { finishedAt: ago(50) }, stale: true },
		level: "problem",
		codes: ["stale", "last_run_failed"],
	},
	{
		name: "weekly verification found damage",
		input: { verification: { status: "failed", finishedAt: ago(30), snapshotsCorrupt: 2, drillStatus: "ok" } },
		level: "problem",
		codes: ["verification_failed"],
		fr: /a trouvé 2 sauvegardes endommagées/,
	},
	{
		name: "weekly restore drill failed",
		input: { verification: { status: "failed", finishedAt: ago(30), snapshotsCorrupt: 0, drillStatus: "mismatch" } },
		level: "problem",
		codes: ["verification_failed"],
		fr: /exercice de restauration/,
	},
	{
		name: "weekly verification could not run",
		input: { verification: { status: "error", finishedAt: ago(30), snapshotsCorrupt: 0, drillStatus: null } },
		level: "warning",
		codes: ["verification_error"],
	},
	{
		name: "weekly verification overdue (last one 9 days ago)",
		input: { verification: { status: "ok", finishedAt: ago(24 * 9), snapshotsCorrupt: 0, drillStatus: "ok" } },
		level: "warning",
		codes: ["verification_overdue"],
	},
	{
		name: "verification never ran after 8 days of backups",
		input: { verification: null, oldestFinishedAt: ago(24 * 8 + 1) },
		level: "warning",
		codes: ["verification_missing"],
		fr: /jamais été vérifiées/,
	},
	{ name: "verification never ran, backups 7 days old: not yet", input: { verification: null, oldestFinishedAt: ago(24 * 7) }, level: "ok", codes: [] },
	{
		name: "no alert channel: personne ne sera prévenu",
		input: { channels: [] },
		level: "warning",
		codes: ["no_channel"],
		fr: /personne ne sera prévenu/,
	},
	{ name: "only the heartbeat: nobody told in words", input: { channels: [ch("heartbeat", "ok")] }, level: "warning", codes: ["no_channel"] },
	{
		name: "one of two channels failing",
		input: { channels: [ch("resend", "ok"), ch("webhook", "failing")] },
		level: "warning",
		codes: ["channel_failing"],
		fr: /^Le dernier envoi par Webhook, le jeudi 3 décembre 2026 à 6\u00a0h\u00a000, a échoué\.$/,
	},
	{
		name: "every channel failing or misconfigured: problem",
		input: { channels: [ch("resend", "failing"), ch("cloudflare_email", "misconfigured", false), ch("webhook", "misconfigured")] },
		level: "problem",
		codes: ["channels_all_failing", "channel_failing", "channel_misconfigured", "channel_misconfigured"],
	},
	{ name: "a channel unused so far is fine", input: { channels: [ch("resend", "unused")] }, level: "ok", codes: [] },
	{
		name: "off-site copy out of date",
		input: { offsite: { newest: { at: "2026-11-28T02:30:00.000Z" }, stale: true, error: null } },
		level: "warning",
		codes: ["offsite_stale"],
		fr: /copie hors Cloudflare date du samedi 28 novembre 2026 à 3\u00a0h\u00a030/,
	},
	{ name: "off-site copy empty", input: { offsite: { newest: null, stale: true, error: null } }, level: "warning", codes: ["offsite_stale"], fr: /vide/ },
	{ name: "off-site copy unreadable", input: { offsite: { newest: null, stale: true, error: "HTTP 403" } }, level: "warning", codes: ["offsite_unreadable"] },
	{
		name: "off-site copy empty on a fresh install: only the missing backup is said",
		input: { lastRun: null, newestSnapshot: null, verification: null, oldestFinishedAt: null, offsite: { newest: null, stale: true, error: null } },
		level: "warning",
		codes: ["no_backup"],
	},
	{
		name: "off-site copy behind stale backups: only the stale backups are said",
		input: { newestSnapshot: { finishedAt: ago(40) }, stale: true, offsite: { newest: { at: ago(40) }, stale: true, error: null } },
		level: "problem",
		codes: ["stale"],
	},
	{
		name: "copying the backup just made outside Cloudflare failed",
		input: { offsite: { newest: null, stale: true, error: "HTTP 500", copyFailed: true } },
		level: "warning",
		codes: ["offsite_copy_failed"],
		fr: /n’a pas pu être faite/,
	},
	{ name: "off-site copy fresh", input: { offsite: { newest: { at: ago(8) }, stale: false, error: null } }, level: "ok", codes: [] },
	{ name: "signing key missing", input: { signing: { configured: false } }, level: "warning", codes: ["signing_missing"] },
	{
		name: "unknown inputs (an e-mail knows less) give no reason",
		input: { verification: undefined, channels: undefined, offsite: undefined, signing: undefined, oldestFinishedAt: undefined },
		level: "ok",
		codes: [],
	},
];

describe("buildVerdict: one row per rule (docs/verdict.md)", () => {
	for (const row of ROWS) {
		it(row.name, () => {
			const v = buildVerdict({ ...GOOD, ...row.input });
			expect(v.level).toBe(row.level);
			expect(v.reasons.map((r) => r.code)).toEqual(row.codes);
			expect(v.label.fr).toBe({ ok: "Tout va bien", warning: "Attention", problem: "Problème" }[row.level]);
			if (row.fr) expect(v.reasons[0]!.text.fr).toMatch(row.fr);
			for (const r of v.reasons) {
				// Every reason says what is wrong and what to do, in both languages, and never an id.
				for (const s of [r.text.fr, r.text.en, r.action.fr, r.action.en]) {
					expect(s.length).toBeGreaterThan(10);
					expect(s).not.toMatch(/\d{4}-\d{2}-\d{2}T|[a-z]+_[a-z]+/);
				}
			}
			expect(v.summary.fr).toBe(v.reasons[0]?.text.fr ?? v.summary.fr);
		});
	}

	it("all well: the summary names the newest backup by its local date, in the configured time zone", () => {
		const v = buildVerdict({ ...GOOD, newestSnapshot: { finishedAt: "2026-12-03T02:04:00.000Z" } });
		expect(v.summary).toEqual({
			fr: "Dernière sauvegarde vérifiée : jeudi 3 décembre 2026 à 3\u00a0h\u00a004.",
			en: "Newest verified backup: Thursday 3 December 2026 at 03:04.",
		});
		const ny = buildVerdict({ ...GOOD, timeZone: "America/New_York", newestSnapshot: { finishedAt: "2026-12-03T02:04:00.000Z" } });
		expect(ny.summary.en).toBe("Newest verified backup: Wednesday 2 December 2026 at 21:04.");
	});

	it("problems come before warnings", () => {
		const v = buildVerdict({ ...GOOD, channels: [], signing: { configured: false }, stale: true });
		expect(v.reasons.map((r) => [r.code, r.level])).toEqual([
			["stale", "problem"],
			["no_channel", "warning"],
			["signing_missing", "warning"],
		]);
	});

	it("channels are named by what they are", () => {
		expect(channelLabel("resend").fr).toBe("E-mail (Resend)");
		expect(channelLabel("webhook").fr).toBe("Webhook");
		expect(channelLabel("something_new").fr).toBe("something_new");
	});
});

describe("the verdict's way into the backup notice", () => {
	it("the replicate hook's result becomes what the notice knows of the off-site copy", async () => {
		const { offsiteFromReplication } = await import("../src/jobs/verdict-hook");
		const at = "2026-12-03T02:05:00.000Z";
		expect(offsiteFromReplication(false, { skipped: "no off-site replica configured" }, at)).toBeNull();
		expect(offsiteFromReplication(true, { error: "HTTP 403" }, at)).toEqual({ newest: null, stale: true, error: "HTTP 403", copyFailed: true });
		expect(offsiteFromReplication(true, { snapshotId: "x", copied: true, objects: 2, bytes: 10, encrypted: true, removed: [] }, at)).toEqual({
			newest: { at },
			stale: false,
			error: null,
		});
		// Skipped after a failed backup, or missing: not known, so no reason from it.
		expect(offsiteFromReplication(true, { skipped: "the backup failed: nothing to copy" }, at)).toBeUndefined();
		expect(offsiteFromReplication(true, undefined, at)).toBeUndefined();
	});

	it("the notice takes the verdict hook's result only when it is a verdict", async () => {
		const { parseVerdict } = await import("../src/notify/backup-hook");
		const v = buildVerdict(GOOD);
		expect(parseVerdict(v)).toEqual(v);
		for (const bad of [null, undefined, { error: "D1 down" }, { level: "fine", reasons: [] }, "ok"]) expect(parseVerdict(bad)).toBeUndefined();
	});
});
