// The one verdict on the backup system — « Tout va bien » / « Attention » / « Problème » — with
// every reason as one plain sentence and what to do. Pure: the rules are the table of
// docs/verdict.md, computed from what the status already gathers (or, for an e-mail, the part of
// it the sender knows). Backups are named by their local date, channels by what they are.
import type { Bilingual, Verdict } from "../notify/events";
import { formatDateTime } from "../notify/templates";

export type { Verdict };

type Reason = Verdict["reasons"][number];

/** A weekly verification older than this (or missing while backups are this old) is overdue. */
export const VERIFICATION_OVERDUE_DAYS = 8;

/**
 * What the verdict is computed from. A field left `undefined` was not looked up (an e-mail knows
 * less than the dashboard): it gives no reason, rather than a false one.
 */
export type VerdictInput = {
	/** The caller's time (request, cron or run end), ISO 8601. */
	now: string;
	/** TIMEZONE: every date in a sentence is local. */
	timeZone: string;
	thresholdHours: number;
	/** The most recent backup run (any status), null when none was ever recorded. */
	lastRun: { status: string; startedAt: string; finishedAt: string | null } | null;
	/** The newest verified snapshot, null when there is none. */
	newestSnapshot: { finishedAt: string } | null;
	/** The dead man's switch condition (status.stale). */
	stale: boolean;
	/** When the oldest verified snapshot was made (how long backups have existed). */
	oldestFinishedAt?: string | null;
	/** The latest weekly verification (null: never ran). */
	verification?: { status: string; startedAt?: string | null; finishedAt: string | null; snapshotsCorrupt: number; drillStatus: string | null } | null;
	/** Alert channels, configured or seen in the delivery log. */
	channels?: Array<{ channel: string; configured: boolean; health: string; lastAttemptAt: string | null }>;
	/** The copy outside Cloudflare (null: none configured). */
	offsite?: {
		newest: { at: string } | null;
		stale: boolean;
		error: string | null;
		/** True when copying the backup just made failed (an e-mail after a backup knows this). */
		copyFailed?: boolean;
	} | null;
	signing?: { configured: boolean };
};

const LABELS: Record<Verdict["level"], Bilingual> = {
	ok: { fr: "Tout va bien", en: "All is well" },
	warning: { fr: "Attention", en: "Attention" },
	problem: { fr: "Problème", en: "Problem" },
};

/** Channels by what they are, never by their configuration name. */
const CHANNEL_NAMES: Record<string, Bilingual> = {
	emailjs: { fr: "E-mail (EmailJS)", en: "E-mail (EmailJS)" },
	resend: { fr: "E-mail (Resend)", en: "E-mail (Resend)" },
	cloudflare_email: { fr: "E-mail (Cloudflare)", en: "E-mail (Cloudflare)" },
	webhook: { fr: "Webhook", en: "Webhook" },
	heartbeat: { fr: "Surveillance externe (heartbeat)", en: "External monitor (heartbeat)" },
};

/** Pure: a channel's name for people ("E-mail (Resend)", "Webhook"). */
export function channelLabel(channel: string): Bilingual {
	return CHANNEL_NAMES[channel] ?? { fr: channel, en: channel };
}

const DAY_MS = 86_400_000;

function reason(code: string, level: Reason["level"], text: Bilingual, action: Bilingual): Reason {
	return { code, level, text, action };
}

/**
 * Pure: the verdict. The level is the worst reason's; reasons are listed worst first, in the
 * order of the rules. "ok" has no reason, and its summary names the newest intact backup.
 */
export function buildVerdict(input: VerdictInput): Verdict {
	const when = (iso: string): Bilingual => ({
		fr: formatDateTime(iso, "fr", input.timeZone),
		en: formatDateTime(iso, "en", input.timeZone),
	});
	const now = Date.parse(input.now);
	const reasons: Reason[] = [];
	const newest = input.newestSnapshot;
	const run = input.lastRun;
	// A run is named by when it started, as the failure e-mail's subject names it.
	const runAt = run ? run.startedAt : null;

	// 1–2. The newest verified backup: none yet, or too old.
	if (!newest) {
		const running = run?.status === "running" || run?.status === "queued";
		if (input.stale) {
			reasons.push(
				reason(
					"no_backup_stale",
					"problem",
					{
						fr: `Aucune sauvegarde vérifiée n’existe, plus de ${input.thresholdHours} heures après la mise en service.`,
						en: `No verified backup exists, more than ${input.thresholdHours} hours after the service started.`,
					},
					{
						fr: "Lancez une sauvegarde depuis le tableau de bord (« Lancer une sauvegarde ») ; si elle échoue, transférez ce message au développeur.",
						en: "Start a backup from the dashboard (\"Start a backup\"); if it fails, forward this message to the developer.",
					},
				),
			);
		} else if (!(run?.status === "failed")) {
			reasons.push(
				reason(
					"no_backup",
					"warning",
					running
						? { fr: "Aucune sauvegarde pour l’instant : la première est en cours.", en: "No backup yet: the first one is running." }
						: { fr: "Aucune sauvegarde pour l’instant.", en: "No backup yet." },
					running
						? { fr: "Attendez la fin de la sauvegarde puis rechargez cette page.", en: "Wait for the backup to finish, then reload this page." }
						: {
								fr: "La première sauvegarde automatique se fera cette nuit ; vous pouvez aussi en lancer une maintenant depuis le tableau de bord (« Lancer une sauvegarde »).",
								en: "The first automatic backup will run tonight; you can also start one now from the dashboard (\"Start a backup\").",
							},
				),
			);
		}
	} else if (input.stale) {
		const d = when(newest.finishedAt);
		reasons.push(
			reason(
				"stale",
				"problem",
				{
					fr: `La dernière sauvegarde vérifiée date du ${d.fr} : plus de ${input.thresholdHours} heures sans nouvelle sauvegarde.`,
					en: `The newest verified backup is from ${d.en}: more than ${input.thresholdHours} hours without a new backup.`,
				},
				{
					fr: "Lancez une sauvegarde depuis le tableau de bord ; si elle échoue ou si rien ne se lance, transférez ce message au développeur.",
					en: "Start a backup from the dashboard; if it fails or nothing starts, forward this message to the developer.",
				},
			),
		);
	}

	// 3. The last run failed: a warning while an intact backup is fresh, a problem otherwise.
	if (run?.status === "failed" && runAt) {
		const r = when(runAt);
		if (newest && !input.stale) {
			const d = when(newest.finishedAt);
			reasons.push(
				reason(
					"last_run_failed",
					"warning",
					{
						fr: `La sauvegarde du ${r.fr} a échoué ; celle du ${d.fr} est intacte et reste utilisable.`,
						en: `The backup of ${r.en} failed; the one from ${d.en} is intact and still usable.`,
					},
					{
						fr: "Rien à faire si la prochaine sauvegarde réussit. Si l’échec se répète, lancez une sauvegarde depuis le tableau de bord et, si elle échoue aussi, transférez l’e-mail d’échec au développeur.",
						en: "Nothing to do if the next backup succeeds. If the failure repeats, start a backup from the dashboard and, if that fails too, forward the failure e-mail to the developer.",
					},
				),
			);
		} else {
			reasons.push(
				reason(
					"last_run_failed",
					"problem",
					newest
						? { fr: `La sauvegarde du ${r.fr} a échoué.`, en: `The backup of ${r.en} failed.` }
						: {
								fr: `La sauvegarde du ${r.fr} a échoué et il n’existe encore aucune sauvegarde réussie.`,
								en: `The backup of ${r.en} failed and there is no successful backup yet.`,
							},
					{
						fr: "Lancez une sauvegarde depuis le tableau de bord ; si elle échoue aussi, transférez l’e-mail d’échec au développeur.",
						en: "Start a backup from the dashboard; if it fails too, forward the failure e-mail to the developer.",
					},
				),
			);
		}
	}

	// 4–6. The weekly verification: damage found, could not run, or overdue.
	const v = input.verification;
	if (v !== undefined) {
		const vAt = v ? (v.finishedAt ?? v.startedAt ?? null) : null;
		const overdueSince = now - VERIFICATION_OVERDUE_DAYS * DAY_MS;
		if (v && v.status === "failed") {
			const d = vAt ? when(vAt) : null;
			const damaged = v.snapshotsCorrupt;
			reasons.push(
				reason(
					"verification_failed",
					"problem",
					damaged > 0
						? {
								fr: `La vérification hebdomadaire${d ? ` du ${d.fr}` : ""} a trouvé ${damaged} ${damaged >= 2 ? "sauvegardes endommagées" : "sauvegarde endommagée"}.`,
								en: `The weekly verification${d ? ` of ${d.en}` : ""} found ${damaged} damaged ${damaged === 1 ? "backup" : "backups"}.`,
							}
						: {
								fr: `L’exercice de restauration de la vérification hebdomadaire${d ? ` du ${d.fr}` : ""} a échoué.`,
								en: `The restore drill of the weekly verification${d ? ` of ${d.en}` : ""} failed.`,
							},
					{
						fr: "N’utilisez pas une sauvegarde endommagée pour restaurer ; transférez le rapport hebdomadaire au développeur.",
						en: "Do not restore from a damaged backup; forward the weekly report to the developer.",
					},
				),
			);
		} else if (v && v.status === "error") {
			const d = vAt ? when(vAt) : null;
			reasons.push(
				reason(
					"verification_error",
					"warning",
					{
						fr: `La vérification hebdomadaire${d ? ` du ${d.fr}` : ""} n’a pas pu se faire.`,
						en: `The weekly verification${d ? ` of ${d.en}` : ""} could not run.`,
					},
					{
						fr: "Si la prochaine vérification (dans une semaine) échoue aussi, transférez le rapport hebdomadaire au développeur.",
						en: "If next week's verification fails too, forward the weekly report to the developer.",
					},
				),
			);
		} else if (v && v.status !== "running" && vAt && Date.parse(vAt) < overdueSince) {
			const d = when(vAt);
			reasons.push(
				reason(
					"verification_overdue",
					"warning",
					{
						fr: `La vérification hebdomadaire n’a plus eu lieu depuis le ${d.fr}.`,
						en: `The weekly verification has not run since ${d.en}.`,
					},
					{
						fr: "Les tâches automatiques ne tournent peut-être plus : transférez ce message au développeur.",
						en: "The automatic jobs may have stopped: forward this message to the developer.",
					},
				),
			);
		} else if (!v && input.oldestFinishedAt && Date.parse(input.oldestFinishedAt) < overdueSince) {
			reasons.push(
				reason(
					"verification_missing",
					"warning",
					{
						fr: `Les sauvegardes n’ont jamais été vérifiées, alors que la première a plus de ${VERIFICATION_OVERDUE_DAYS} jours.`,
						en: `The backups have never been verified, although the first one is more than ${VERIFICATION_OVERDUE_DAYS} days old.`,
					},
					{
						fr: "La vérification hebdomadaire ne tourne pas : transférez ce message au développeur.",
						en: "The weekly verification is not running: forward this message to the developer.",
					},
				),
			);
		}
	}

	// 7–9. Who will hear about a failure: no channel, a failing or misconfigured one, or none working.
	if (input.channels !== undefined) {
		// The heartbeat pings an outside monitor; it tells nobody by itself what went wrong.
		const people = input.channels.filter((c) => c.configured && c.channel !== "heartbeat");
		const broken = input.channels.filter((c) => (c.configured && c.health === "failing") || c.health === "misconfigured");
		if (people.length === 0) {
			reasons.push(
				reason(
					"no_channel",
					"warning",
					{
						fr: "Aucune alerte par e-mail ni webhook n’est configurée : personne ne sera prévenu en cas d’échec.",
						en: "No e-mail or webhook alert is configured: nobody will be told when a backup fails.",
					},
					{
						fr: "Demandez au développeur de configurer l’envoi des alertes par e-mail (docs/notifications.md).",
						en: "Ask the developer to set up e-mail alerts (docs/notifications.md).",
					},
				),
			);
		} else if (people.every((c) => broken.includes(c))) {
			reasons.push(
				reason(
					"channels_all_failing",
					"problem",
					{
						fr: "Aucun canal d’alerte ne fonctionne : personne ne sera prévenu en cas d’échec.",
						en: "No alert channel works: nobody will be told when a backup fails.",
					},
					{
						fr: "Demandez au développeur de vérifier les réglages des alertes ; en attendant, regardez ce tableau de bord chaque jour.",
						en: "Ask the developer to check the alert settings; meanwhile, look at this dashboard every day.",
					},
				),
			);
		}
		for (const c of broken) {
			const name = channelLabel(c.channel);
			if (c.health === "misconfigured") {
				reasons.push(
					reason(
						"channel_misconfigured",
						"warning",
						{ fr: `${name.fr} est mal configuré : aucun message ne part par ce canal.`, en: `${name.en} is misconfigured: no message goes out through it.` },
						{ fr: "Demandez au développeur de corriger ses réglages.", en: "Ask the developer to fix its settings." },
					),
				);
			} else {
				const d = c.lastAttemptAt ? when(c.lastAttemptAt) : null;
				reasons.push(
					reason(
						"channel_failing",
						"warning",
						{
							fr: `Le dernier envoi par ${name.fr}${d ? `, le ${d.fr},` : ""} a échoué.`,
							en: `The last message sent by ${name.en}${d ? ` on ${d.en}` : ""} failed.`,
						},
						{
							fr: "Vérifiez l’adresse et l’abonnement de ce canal ; si cela continue, transférez ce message au développeur.",
							en: "Check this channel's address and subscription; if it goes on, forward this message to the developer.",
						},
					),
				);
			}
		}
	}

	// 10. The copy outside Cloudflare, when one is configured. Out of date only counts while the
	// backups themselves are fresh (otherwise there is nothing new to copy: rules 1–2 say it all).
	const o = input.offsite;
	if (o?.copyFailed) {
		reasons.push(
			reason(
				"offsite_copy_failed",
				"warning",
				{
					fr: "La copie hors Cloudflare de cette sauvegarde n’a pas pu être faite.",
					en: "This backup could not be copied outside Cloudflare.",
				},
				{
					fr: "La sauvegarde elle-même est intacte dans Cloudflare. Si l’échec se répète demain, transférez ce message au développeur.",
					en: "The backup itself is intact inside Cloudflare. If the failure repeats tomorrow, forward this message to the developer.",
				},
			),
		);
	} else if (o && (o.error || (o.stale && newest && !input.stale))) {
		const action: Bilingual = {
			fr: "Les sauvegardes dans Cloudflare ne sont pas concernées. Vérifiez l’abonnement et les identifiants du stockage externe ; si cela continue, transférez ce message au développeur.",
			en: "The backups inside Cloudflare are not affected. Check the external storage's subscription and credentials; if it goes on, forward this message to the developer.",
		};
		if (o.error) {
			reasons.push(
				reason(
					"offsite_unreadable",
					"warning",
					{ fr: "La copie hors Cloudflare est illisible.", en: "The copy outside Cloudflare cannot be read." },
					action,
				),
			);
		} else {
			const d = o.newest ? when(o.newest.at) : null;
			reasons.push(
				reason(
					"offsite_stale",
					"warning",
					d
						? { fr: `La copie hors Cloudflare date du ${d.fr} : elle n’est plus à jour.`, en: `The copy outside Cloudflare is from ${d.en}: it is out of date.` }
						: { fr: "La copie hors Cloudflare est vide.", en: "The copy outside Cloudflare is empty." },
					action,
				),
			);
		}
	}

	// 11. Unsigned manifests: a planted snapshot could not be told apart.
	if (input.signing && !input.signing.configured) {
		reasons.push(
			reason(
				"signing_missing",
				"warning",
				{
					fr: "Les sauvegardes ne sont pas signées : une sauvegarde déposée par quelqu’un d’autre ne pourrait pas être reconnue.",
					en: "Backups are not signed: a backup planted by someone else could not be told apart.",
				},
				{
					fr: "Demandez au développeur de définir la clé de signature (BACKUP_SIGNING_KEY).",
					en: "Ask the developer to set the signing key (BACKUP_SIGNING_KEY).",
				},
			),
		);
	}

	// Worst first, rule order kept within a level (Array.prototype.sort is stable).
	reasons.sort((a, b) => (a.level === b.level ? 0 : a.level === "problem" ? -1 : 1));
	const level: Verdict["level"] = reasons[0]?.level ?? "ok";
	const summary: Bilingual =
		level === "ok" && newest
			? { fr: `Dernière sauvegarde vérifiée : ${when(newest.finishedAt).fr}.`, en: `Newest verified backup: ${when(newest.finishedAt).en}.` }
			: reasons[0]
				? reasons[0].text
				: { fr: "Aucune sauvegarde pour l’instant.", en: "No backup yet." };
	return { level, label: LABELS[level], summary, reasons };
}
