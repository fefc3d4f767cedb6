// Pure rendering of notification events into a subject, plain text and simple HTML, in French
// (default) or English, for an administrator who is not an engineer: local dates and times (no
// ids in subjects), what changed in words ("12 nouvelles réponses"), the dashboard's vocabulary
// ("sauvegarde") and a link to it. Only counts, sizes, times and technical references are printed.
import type { NotifyEvent, TableCounts, Verdict } from "./events";
import { describeFailureCause } from "../backup/explain";

export type Locale = "fr" | "en";

export type RenderedMessage = { subject: string; text: string; html: string };

/** Where and when the reader is: the organisation's time zone, and the dashboard's address. */
export type RenderContext = {
	/** IANA time zone of every date and time shown (TIMEZONE). */
	timeZone: string;
	/** The administrator dashboard (DASHBOARD_URL, or derived from a request); no link without it. */
	dashboardUrl?: string;
};

export const DEFAULT_CONTEXT: RenderContext = { timeZone: "Europe/Paris" };

/** Product name shown in every subject, so that filters and humans recognise the sender. */
const PRODUCT = "Cafés partenaires";

// ---------------------------------------------------------------------------------------------
// Small pure formatters (exported for tests)

/** 1536 -> "1,5 Ko" (fr) / "1.5 KB" (en): powers of 1024, with the unit names people know. */
export function formatBytes(bytes: number, locale: Locale): string {
	const units = locale === "fr" ? ["o", "Ko", "Mo", "Go", "To"] : ["B", "KB", "MB", "GB", "TB"];
	let value = Math.max(0, bytes);
	let i = 0;
	while (value >= 1024 && i < units.length - 1) {
		value /= 1024;
		i++;
	}
	const text = i === 0 ? String(Math.round(value)) : value.toFixed(1);
	return `${locale === "fr" ? text.replace(".", ",") : text} ${units[i]}`;
}

/** 125000 -> "2 min 5 s"; under a second -> "0,4 s" / "0.4 s". */
export function formatDuration(ms: number, locale: Locale): string {
	if (ms < 1000) {
		const s = (Math.max(0, ms) / 1000).toFixed(1);
		return `${locale === "fr" ? s.replace(".", ",") : s} s`;
	}
	const total = Math.round(ms / 1000);
	const h = Math.floor(total / 3600);
	const m = Math.floor((total % 3600) / 60);
	const s = total % 60;
	const parts: string[] = [];
	if (h) parts.push(`${h} h`);
	if (m) parts.push(`${m} min`);
	if (s || parts.length === 0) parts.push(`${s} s`);
	return parts.join(" ");
}

/** Thousands separators: 12345 -> "12 345" (fr) / "12,345" (en). */
export function formatCount(n: number, locale: Locale): string {
	const sign = n < 0 ? "-" : "";
	const digits = String(Math.abs(Math.trunc(n)));
	const sep = locale === "fr" ? "\u202f" : ",";
	return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

/** ISO time -> "2026-11-25 02:00 UTC": for technical references only (people get formatDateTime). */
export function formatTime(iso: string): string {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return iso;
	return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * One formatter per language and time zone, kept for the isolate's life: building one costs about a
 * millisecond of CPU, using it a few microseconds (the verdict formats several dates per request).
 */
const DATE_TIME_FORMATS = new Map<string, Intl.DateTimeFormat>();
function dateTimeFormat(locale: Locale, timeZone: string): Intl.DateTimeFormat {
	const key = `${locale} ${timeZone}`;
	let f = DATE_TIME_FORMATS.get(key);
	if (!f) {
		f = new Intl.DateTimeFormat(locale === "fr" ? "fr-FR" : "en-GB", {
			timeZone,
			weekday: "long",
			day: "numeric",
			month: "long",
			year: "numeric",
			hour: "2-digit",
			minute: "2-digit",
			hourCycle: "h23",
		});
		DATE_TIME_FORMATS.set(key, f);
	}
	return f;
}

/**
 * ISO time -> a local date and time a person reads at once, in `timeZone`:
 * "mercredi 25 novembre 2026 à 3 h 00" / "Wednesday 25 November 2026 at 03:00"; without the
 * year when `withYear` is false (subjects). An unreadable time is returned as it came.
 */
export function formatDateTime(iso: string, locale: Locale, timeZone: string, withYear = true): string {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return iso;
	const parts = dateTimeFormat(locale, timeZone).formatToParts(d);
	const p = (type: Intl.DateTimeFormatPartTypes) => parts.find((x) => x.type === type)?.value ?? "";
	const date = [p("weekday"), p("day"), p("month"), ...(withYear ? [p("year")] : [])].join(" ");
	// "3 h 00" never breaks over two lines: no-break spaces.
	return locale === "fr" ? `${date} à ${Number(p("hour"))}\u00a0h\u00a0${p("minute")}` : `${date} at ${p("hour")}:${p("minute")}`;
}

/** The time zone's name in words: "heure d’Europe centrale" / "Central European Time". */
export function formatTimeZoneName(locale: Locale, timeZone: string, at: Date): string {
	const parts = new Intl.DateTimeFormat(locale === "fr" ? "fr-FR" : "en-GB", { timeZone, timeZoneName: "longGeneric" }).formatToParts(at);
	return parts.find((x) => x.type === "timeZoneName")?.value ?? timeZone;
}

export function escapeHtml(s: string): string {
	return s
		.replace(/&/g, "&amp;")
		.replace(/</g, "&lt;")
		.replace(/>/g, "&gt;")
		.replace(/"/g, "&quot;")
		.replace(/'/g, "&#39;");
}

// ---------------------------------------------------------------------------------------------
// What changed, in words. Only the tables a person cares about are named; the others (counters,
// audit log, run history, erased ids) are internal and never shown.

type Noun = { one: string; many: string; feminine: boolean };

/** The tables named in e-mails, in this order, with their French and English names. */
const TABLE_NOUNS: Record<Locale, Record<string, Noun>> = {
	fr: {
		submissions: { one: "réponse", many: "réponses", feminine: true },
		roles: { one: "rôle", many: "rôles", feminine: false },
		erasures: { one: "demande d’effacement", many: "demandes d’effacement", feminine: true },
	},
	en: {
		submissions: { one: "answer", many: "answers", feminine: false },
		roles: { one: "role", many: "roles", feminine: false },
		erasures: { one: "erasure request", many: "erasure requests", feminine: false },
	},
};

/** "1 réponse", "12 réponses" (French: 0 and 1 are singular). */
export function formatQuantity(n: number, noun: Noun, locale: Locale): string {
	const plural = locale === "fr" ? Math.abs(n) >= 2 : Math.abs(n) !== 1;
	return `${formatCount(n, locale)} ${plural ? noun.many : noun.one}`;
}

/**
 * Pure: what changed between two snapshots' row counts, in words, e.g. "12 nouvelles réponses,
 * 1 nouveau rôle" or "3 réponses en moins". Null without a previous snapshot; "aucun changement"
 * when the named tables did not move. Internal tables are never mentioned.
 */
export function describeChanges(current: TableCounts, previous: TableCounts | null, locale: Locale): string | null {
	if (!previous) return null;
	const parts: string[] = [];
	for (const [table, noun] of Object.entries(TABLE_NOUNS[locale])) {
		const delta = (current[table] ?? 0) - (previous[table] ?? 0);
		if (delta === 0) continue;
		const count = Math.abs(delta);
		const plural = locale === "fr" ? count >= 2 : count !== 1;
		if (delta > 0) {
			const adjective =
				locale === "en" ? "new" : noun.feminine ? (plural ? "nouvelles" : "nouvelle") : plural ? "nouveaux" : "nouveau";
			parts.push(`${formatCount(count, locale)} ${adjective} ${plural ? noun.many : noun.one}`);
		} else if (locale === "fr") {
			parts.push(`${formatCount(count, locale)} ${plural ? noun.many : noun.one} en moins`);
		} else {
			parts.push(`${formatCount(count, locale)} fewer ${plural ? noun.many : noun.one}`);
		}
	}
	if (parts.length === 0) return locale === "fr" ? "aucun changement" : "no change";
	return parts.join(", ");
}

// ---------------------------------------------------------------------------------------------
// Document model: a message is a title, lines of key/value facts, paragraphs and links. Both text
// and HTML are produced from the same model, so they can never say different things.

type Block =
	| { kind: "p"; text: string }
	| { kind: "facts"; rows: Array<[string, string]> }
	| { kind: "list"; items: string[] }
	| { kind: "link"; label: string; href: string };

/** `verdict`: the state of the whole backup system, shown before everything else (verdictLines). */
type Doc = { subject: string; title: string; blocks: Block[]; verdict?: Verdict };

/** Colours of the verdict's left border in HTML; the word always says the level too. */
const VERDICT_COLOURS: Record<Verdict["level"], string> = { ok: "#1e6b35", warning: "#8a5300", problem: "#b3261e" };

/**
 * Pure: the verdict as lines — "État général : Attention", then "- <reason>" and "  À faire : <action>"
 * for each reason; "État général : Tout va bien — <summary>" when there is none.
 */
export function verdictLines(verdict: Verdict, locale: Locale): { head: string; reasons: Array<{ text: string; action: string }> } {
	const t = EMAIL_TEXTS[locale];
	const label = verdict.label[locale];
	return {
		head: verdict.reasons.length === 0 ? `${t.verdictHead(label)} — ${verdict.summary[locale]}` : t.verdictHead(label),
		reasons: verdict.reasons.map((r) => ({ text: r.text[locale], action: `${t.verdictTodo}${locale === "fr" ? "\u202f:" : ":"} ${r.action[locale]}` })),
	};
}

function toText(doc: Doc, locale: Locale): string {
	// French typography puts a (narrow no-break) space before the colon; English does not.
	const colon = locale === "fr" ? "\u202f:" : ":";
	const out: string[] = [];
	if (doc.verdict) {
		const v = verdictLines(doc.verdict, locale);
		out.push(v.head);
		for (const r of v.reasons) out.push(`- ${r.text}`, `  ${r.action}`);
		out.push("");
	}
	out.push(doc.title, "");
	for (const b of doc.blocks) {
		if (b.kind === "p") out.push(b.text, "");
		else if (b.kind === "facts") {
			for (const [k, v] of b.rows) out.push(`${k}${colon} ${v}`);
			out.push("");
		} else if (b.kind === "list") {
			for (const item of b.items) out.push(`- ${item}`);
			out.push("");
		} else {
			out.push(`${b.label}${colon} ${b.href}`, "");
		}
	}
	return `${out.join("\n").trimEnd()}\n`;
}

function toHtml(doc: Doc, locale: Locale): string {
	const parts: string[] = [
		`<!doctype html><html lang="${locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(doc.subject)}</title></head>`,
		'<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#222;max-width:40rem;margin:0 auto;padding:1rem">',
	];
	if (doc.verdict) {
		const v = verdictLines(doc.verdict, locale);
		parts.push(
			`<div data-verdict="${doc.verdict.level}" style="border-left:6px solid ${VERDICT_COLOURS[doc.verdict.level]};padding:.25em .75em;margin-bottom:1em">`,
			`<p style="margin:0;font-weight:bold">${escapeHtml(v.head)}</p>`,
			...(v.reasons.length ? [`<ul style="margin:.25em 0">${v.reasons.map((r) => `<li>${escapeHtml(r.text)}<br>${escapeHtml(r.action)}</li>`).join("")}</ul>`] : []),
			"</div>",
		);
	}
	parts.push(`<h1 style="font-size:1.25em">${escapeHtml(doc.title)}</h1>`);
	for (const b of doc.blocks) {
		if (b.kind === "p") parts.push(`<p>${escapeHtml(b.text)}</p>`);
		else if (b.kind === "facts") {
			parts.push('<table style="border-collapse:collapse">');
			for (const [k, v] of b.rows) {
				parts.push(
					`<tr><th style="text-align:left;vertical-align:top;padding:2px 12px 2px 0">${escapeHtml(k)}</th><td style="overflow-wrap:anywhere">${escapeHtml(v)}</td></tr>`,
				);
			}
			parts.push("</table>");
		} else if (b.kind === "list") {
			parts.push(`<ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join("")}</ul>`);
		} else {
			parts.push(
				`<p><a href="${escapeHtml(b.href)}" style="display:inline-block;padding:.5em 1em;background:#0b4f8a;color:#fff;border-radius:.4em;text-decoration:none">${escapeHtml(b.label)}</a></p>`,
			);
		}
	}
	parts.push("</body></html>");
	return parts.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Wording. The French catalogue is the reference; every word a French e-mail shows comes from it
// (or is a number, a date, a size, or a technical reference marked as such).

const fr = {
	none: "aucune",
	succeededSubject: (when: string) => `Sauvegarde réussie — ${when}`,
	succeededSubjectNoDate: "Sauvegarde réussie",
	succeededTitle: (when: string) => `La sauvegarde du ${when} a réussi et a été vérifiée.`,
	succeededTitleNoDate: "La sauvegarde a réussi et a été vérifiée.",
	totalAnswers: "Réponses enregistrées",
	changes: "Depuis la sauvegarde précédente",
	firstBackup: "c’est la première sauvegarde",
	origin: "Origine",
	scheduled: "automatique",
	manual: "manuelle",
	size: "Taille",
	duration: "Durée",
	retention: "Conservation",
	retentionLine: (kept: number, removed: number, frozen: boolean, n: (x: number) => string) =>
		`${n(kept)} ${kept >= 2 ? "sauvegardes gardées" : "sauvegarde gardée"}, ${
			removed === 0 ? "aucune supprimée" : `${n(removed)} ${removed >= 2 ? "supprimées" : "supprimée"}`
		}${frozen ? " (suppression gelée par précaution)" : ""}`,
	retentionNone: "pas faite cette fois",
	reference: "Référence technique",
	failedSubject: (when: string) => `ÉCHEC de la sauvegarde du ${when}`,
	failedSubjectNoDate: "ÉCHEC de la sauvegarde",
	failedTitle: (when: string) => `La sauvegarde du ${when} a échoué : aucune nouvelle copie des données n’a été faite.`,
	failedTitleNoDate: "La sauvegarde a échoué : aucune nouvelle copie des données n’a été faite.",
	lastGood: (when: string, answers: string | null) =>
		`La dernière sauvegarde réussie, celle du ${when}${answers ? ` (${answers})` : ""}, n’est pas touchée par cet échec et reste utilisable.`,
	noGood: "Il n’existe encore aucune sauvegarde réussie.",
	stage: "Étape en échec",
	stages: {
		start: "lancement de la sauvegarde",
		queued: "mise en attente",
		begin: "préparation",
		export: "copie des données",
		verify: "vérification de la copie",
		manifest: "écriture du sommaire de la sauvegarde",
		finish: "finalisation",
	} as Record<string, string>,
	attempts: "Tentatives",
	technical: "Détail technique (pour le développeur)",
	whatToDo: "Que faire ?",
	advice: {
		default:
			"Si la prochaine sauvegarde automatique réussit, rien n’est à faire. Si l’échec se répète, lancez une sauvegarde depuis le tableau de bord et, si elle échoue aussi, transférez ce message au développeur.",
		config: "La configuration du service est incorrecte : transférez ce message au développeur (un réglage est à corriger).",
		verify:
			"Les données relues ne correspondent pas à ce qui a été écrit : cette sauvegarde n’est pas considérée comme valable. Lancez une sauvegarde depuis le tableau de bord ; si l’échec se répète, transférez ce message au développeur.",
	} as Record<string, string>,
	staleSubject: "ALERTE : aucune sauvegarde récente",
	staleTitle: (h: string, t: string) => `Aucune sauvegarde vérifiée depuis ${h} heures (seuil : ${t} heures).`,
	staleTitleNone: (h: string) => `Aucune sauvegarde vérifiée n’existe (surveillance depuis ${h} heures).`,
	newest: "Sauvegarde vérifiée la plus récente",
	staleAdvice:
		"Ouvrez le tableau de bord pour voir la dernière sauvegarde. Si elle a échoué, lancez-en une ; si rien n’a été lancé, transférez ce message au développeur (les tâches automatiques ne tournent peut-être plus). Ce rappel est envoyé au plus une fois par jour tant que la situation dure.",
	recoveredSubject: "Sauvegardes rétablies",
	recoveredTitle: "Une sauvegarde vérifiée récente existe de nouveau.",
	staleSince: "Alerte en cours depuis le",
	age: "Âge",
	hours: (h: string) => `${h} h`,
	weeklySubject: "Rapport hebdomadaire des sauvegardes",
	weeklySubjectProblem: "Rapport hebdomadaire des sauvegardes : problème trouvé",
	weeklyTitle: "Vérification hebdomadaire des sauvegardes.",
	checked: "Sauvegardes relues",
	intact: "Intactes",
	damaged: "Fichiers endommagés",
	drill: "Exercice de restauration",
	drillOk: (rows: string, d: string, when: string) => `réussi (${rows} lignes en ${d}, sauvegarde du ${when})`,
	drillFailed: "en échec (le détail technique suit)",
	drillNotRun: "pas fait cette fois",
	totalBackups: "Sauvegardes gardées",
	totalSize: "Taille totale",
	answers: "Réponses",
	weeklyProblem:
		"Des problèmes ont été trouvés : transférez ce rapport au développeur. Les sauvegardes intactes restent utilisables pour une restauration.",
	weeklyAllGood: "Tout est en ordre : rien n’est à faire.",
	summaryFile: "sommaire",
	damagedItem: (when: string, what: string) => `sauvegarde du ${when}, ${what}`,
	frozenSubject: "Conservation gelée : aucune sauvegarde supprimée",
	frozenTitle: "La suppression des anciennes sauvegardes a été gelée par précaution.",
	reason: "Raison",
	drop: "Baisse du nombre de réponses",
	frozenReasons: {
		submissions_drop: "le nombre de réponses a baissé anormalement depuis la sauvegarde précédente",
		max_remove: "trop de sauvegardes auraient été supprimées en une fois",
		data_loss:
			"des données ont disparu sans demande d’effacement : les sauvegardes d’avant la baisse sont épinglées (jamais supprimées) jusqu’à ce qu’un administrateur les libère depuis le tableau de bord ou avec « npm run admin -- pins »",
	} as Record<string, string>,
	concerned: "Sauvegarde concernée",
	frozenAdvice:
		"Aucune donnée n’a été supprimée. Vérifiez que la baisse est voulue (par exemple des effacements demandés). Sinon, une restauration depuis une sauvegarde précédente est possible depuis le tableau de bord.",
	replicaStaleSubject: "ALERTE : la copie hors Cloudflare n’est plus à jour",
	replicaStaleTitle: (age: string | null, threshold: string) =>
		age === null
			? "La copie hors Cloudflare est introuvable ou illisible."
			: `La copie hors Cloudflare la plus récente date de ${age} (seuil : ${threshold}).`,
	replicaStaleAdvice:
		"Les sauvegardes dans Cloudflare ne sont pas concernées. Vérifiez l’abonnement et les identifiants du stockage externe ; si cela continue, transférez ce message au développeur.",
	replicaNewest: "Copie la plus récente",
	replicationFailedSubject: "ALERTE : la copie hors Cloudflare a échoué",
	replicationFailedTitle: "La sauvegarde a réussi, mais sa copie hors Cloudflare n’a pas pu être faite.",
	replicationFailedAdvice:
		"La sauvegarde elle-même est complète et vérifiée dans Cloudflare : rien n’est perdu. Tant que la copie échoue, il n’existe pas de copie à jour hors de Cloudflare. Si l’échec se répète demain, transférez ce message au développeur (identifiants ou adresse du stockage externe à vérifier).",
	verifyFailedSubject: (when: string) => `ALERTE : la sauvegarde du ${when} est endommagée`,
	verifyFailedSubjectNoDate: "ALERTE : sauvegarde endommagée",
	verifyFailedTitle: "Une sauvegarde ne correspond plus à ses sommes de contrôle.",
	verifyFailedAdvice:
		"Cette sauvegarde ne doit pas être utilisée pour une restauration. Les autres sauvegardes ne sont pas concernées. Transférez ce message au développeur.",
	file: "Fichier",
	dashboard: "Ouvrir le tableau de bord",
	timesIn: (zone: string) => `Heures indiquées : ${zone}.`,
	verdictHead: (label: string) => `État général : ${label}`,
	verdictTodo: "À faire",
};

const en: typeof fr = {
	none: "none",
	succeededSubject: (when: string) => `Backup succeeded — ${when}`,
	succeededSubjectNoDate: "Backup succeeded",
	succeededTitle: (when: string) => `The backup of ${when} succeeded and was verified.`,
	succeededTitleNoDate: "The backup succeeded and was verified.",
	totalAnswers: "Answers stored",
	changes: "Since the previous backup",
	firstBackup: "this is the first backup",
	origin: "Started",
	scheduled: "automatically",
	manual: "by hand",
	size: "Size",
	duration: "Duration",
	retention: "Retention",
	retentionLine: (kept: number, removed: number, frozen: boolean, n: (x: number) => string) =>
		`${n(kept)} ${kept === 1 ? "backup" : "backups"} kept, ${removed === 0 ? "none" : n(removed)} removed${frozen ? " (removal frozen as a precaution)" : ""}`,
	retentionNone: "not done this time",
	reference: "Technical reference",
	failedSubject: (when: string) => `Backup of ${when} FAILED`,
	failedSubjectNoDate: "Backup FAILED",
	failedTitle: (when: string) => `The backup of ${when} failed: no new copy of the data was made.`,
	failedTitleNoDate: "The backup failed: no new copy of the data was made.",
	lastGood: (when: string, answers: string | null) =>
		`The last successful backup, from ${when}${answers ? ` (${answers})` : ""}, is not affected by this failure and remains usable.`,
	noGood: "There is no successful backup yet.",
	stage: "Failed step",
	stages: {
		start: "starting the backup",
		queued: "queueing",
		begin: "preparation",
		export: "copying the data",
		verify: "checking the copy",
		manifest: "writing the backup's summary",
		finish: "finishing",
	},
	attempts: "Attempts",
	technical: "Technical detail (for the developer)",
	whatToDo: "What to do:",
	advice: {
		default:
			"If the next automatic backup succeeds, nothing needs to be done. If the failure repeats, start a backup from the dashboard and, if that fails too, forward this message to the developer.",
		config: "The service's configuration is wrong: forward this message to the developer (a setting must be fixed).",
		verify:
			"The data read back does not match what was written: this backup is not considered valid. Start a backup from the dashboard; if the failure repeats, forward this message to the developer.",
	},
	staleSubject: "ALERT: no recent backup",
	staleTitle: (h: string, t: string) => `No verified backup for ${h} hours (threshold: ${t} hours).`,
	staleTitleNone: (h: string) => `No verified backup exists (watched for ${h} hours).`,
	newest: "Newest verified backup",
	staleAdvice:
		"Open the dashboard to see the last backup. If it failed, start one; if nothing was started at all, forward this message to the developer (the automatic jobs may have stopped). This reminder is sent at most once a day while the problem lasts.",
	recoveredSubject: "Backups are back",
	recoveredTitle: "A recent verified backup exists again.",
	staleSince: "Alert active since",
	age: "Age",
	hours: (h: string) => `${h} h`,
	weeklySubject: "Weekly backup report",
	weeklySubjectProblem: "Weekly backup report: problem found",
	weeklyTitle: "Weekly check of the backups.",
	checked: "Backups re-read",
	intact: "Intact",
	damaged: "Damaged files",
	drill: "Restore drill",
	drillOk: (rows: string, d: string, when: string) => `succeeded (${rows} rows in ${d}, backup of ${when})`,
	drillFailed: "failed (technical detail below)",
	drillNotRun: "not done this time",
	totalBackups: "Backups kept",
	totalSize: "Total size",
	answers: "Answers",
	weeklyProblem: "Problems were found: forward this report to the developer. Intact backups remain usable for a restore.",
	weeklyAllGood: "Everything is in order: nothing needs to be done.",
	summaryFile: "summary",
	damagedItem: (when: string, what: string) => `backup of ${when}, ${what}`,
	frozenSubject: "Retention frozen: no backup deleted",
	frozenTitle: "Deleting old backups was frozen as a precaution.",
	reason: "Reason",
	drop: "Drop in answers",
	frozenReasons: {
		submissions_drop: "the number of answers dropped abnormally since the previous backup",
		max_remove: "too many backups would have been removed at once",
		data_loss:
			"data disappeared without an erasure request: the backups from before the drop are pinned (never deleted) until an administrator releases them from the dashboard or with \"npm run admin -- pins\"",
	},
	concerned: "Backup concerned",
	frozenAdvice:
		"No data was deleted. Check that the drop is expected (for example requested erasures). If it is not, a restore from an earlier backup is possible from the dashboard.",
	replicaStaleSubject: "ALERT: the copy outside Cloudflare is out of date",
	replicaStaleTitle: (age: string | null, threshold: string) =>
		age === null ? "The copy outside Cloudflare cannot be found or read." : `The newest copy outside Cloudflare is ${age} old (threshold: ${threshold}).`,
	replicaStaleAdvice:
		"The backups inside Cloudflare are not affected. Check the external storage's subscription and credentials; if this goes on, forward this message to the developer.",
	replicaNewest: "Newest copy",
	replicationFailedSubject: "ALERT: the copy outside Cloudflare failed",
	replicationFailedTitle: "The backup succeeded, but its copy outside Cloudflare could not be made.",
	replicationFailedAdvice:
		"The backup itself is complete and verified in Cloudflare: nothing is lost. While the copy fails, there is no up-to-date copy outside Cloudflare. If the failure repeats tomorrow, forward this message to the developer (the external storage's credentials or address need checking).",
	verifyFailedSubject: (when: string) => `ALERT: the backup of ${when} is damaged`,
	verifyFailedSubjectNoDate: "ALERT: damaged backup",
	verifyFailedTitle: "A backup no longer matches its checksums.",
	verifyFailedAdvice: "Do not use this backup for a restore. Other backups are not affected. Forward this message to the developer.",
	file: "File",
	dashboard: "Open the dashboard",
	timesIn: (zone: string) => `Times shown: ${zone}.`,
	verdictHead: (label: string) => `Overall: ${label}`,
	verdictTodo: "What to do",
};

/** The e-mail wording, by language (exported for the test that keeps French e-mails French). */
export const EMAIL_TEXTS: Record<Locale, typeof fr> = { fr, en };

// ---------------------------------------------------------------------------------------------
// Event -> document

/** Pure: the snapshot's time from its id ("2026-11-25T020000Z-abc"), as ISO, or undefined. */
function snapshotTime(snapshotId: string): string | undefined {
	const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(snapshotId);
	return m ? `${m[1]}T${m[2]}:${m[3]}:${m[4]}Z` : undefined;
}

/** The time an event is about (for the subject and the time zone line), when it has one. */
function eventTime(event: NotifyEvent): string | undefined {
	switch (event.type) {
		case "backup_succeeded":
			return event.startedAt ?? snapshotTime(event.snapshotId);
		case "backup_failed":
			return event.at;
		case "verification_failed":
		case "replication_failed":
			return snapshotTime(event.snapshotId);
		case "backup_stale":
			return event.newest?.finishedAt;
		case "backup_recovered":
			return event.newest.finishedAt;
		case "replica_stale":
			return event.newest?.at;
		default:
			return undefined;
	}
}

function buildDoc(event: NotifyEvent, locale: Locale, ctx: RenderContext): Doc {
	const t = EMAIL_TEXTS[locale];
	const n = (x: number) => formatCount(x, locale);
	const colon = locale === "fr" ? "\u202f:" : ":";
	/** A long local date and time; `short` drops the year (subjects). */
	const when = (iso: string, short = false) => formatDateTime(iso, locale, ctx.timeZone, !short);
	const snapshotWhen = (id: string) => {
		const iso = snapshotTime(id);
		return iso ? when(iso) : id;
	};
	const answers = (x: number) => formatQuantity(x, TABLE_NOUNS[locale].submissions!, locale);
	switch (event.type) {
		case "backup_succeeded": {
			const at = eventTime(event);
			const changes = describeChanges(event.tables, event.previousTables ?? null, locale);
			const retention = event.retention
				? t.retentionLine(event.retention.kept, event.retention.removed, event.retention.frozen, n)
				: t.retentionNone;
			return {
				subject: at ? t.succeededSubject(when(at, true)) : t.succeededSubjectNoDate,
				title: at ? t.succeededTitle(when(at)) : t.succeededTitleNoDate,
				blocks: [
					{
						kind: "facts",
						rows: [
							[t.totalAnswers, n(event.tables.submissions ?? 0)],
							[t.changes, changes ?? (event.newSubmissions === null ? t.firstBackup : describeChanges({ submissions: event.newSubmissions }, { submissions: 0 }, locale)!)],
							[t.origin, event.trigger === "manual" ? t.manual : t.scheduled],
							[t.size, formatBytes(event.bytes, locale)],
							[t.duration, formatDuration(event.durationMs, locale)],
							[t.retention, retention],
							[t.reference, event.snapshotId],
						],
					},
				],
			};
		}
		case "backup_failed": {
			const at = event.at;
			const advice = event.advice ?? t.advice[event.stage] ?? t.advice.default!;
			const lastGood =
				event.lastGood === undefined
					? undefined
					: event.lastGood === null
						? t.noGood
						: t.lastGood(when(event.lastGood.finishedAt), event.lastGood.submissions === null ? null : answers(event.lastGood.submissions));
			return {
				subject: at ? t.failedSubject(when(at, true)) : t.failedSubjectNoDate,
				title: at ? t.failedTitle(when(at)) : t.failedTitleNoDate,
				blocks: [
					// What could not be done, in words (an R2 write, a D1 read…): src/backup/explain.ts.
					{ kind: "p" as const, text: describeFailureCause(event.stage, event.failedStep ?? null, event.error)[locale] },
					...(lastGood ? [{ kind: "p" as const, text: lastGood }] : []),
					{ kind: "p", text: `${t.whatToDo} ${advice}` },
					{
						kind: "facts",
						rows: [
							[t.stage, t.stages[event.stage] ?? event.stage],
							[t.origin, event.trigger === "manual" ? t.manual : t.scheduled],
							[t.attempts, n(event.attempt)],
							[t.technical, `${event.stage} — ${event.error}`],
							[t.reference, event.runId],
						],
					},
				],
			};
		}
		case "backup_stale": {
			const h = n(event.ageHours);
			return {
				subject: `${t.staleSubject} (${t.hours(h)})`,
				title: event.newest ? t.staleTitle(h, n(event.thresholdHours)) : t.staleTitleNone(h),
				blocks: [
					{ kind: "facts", rows: [[t.newest, event.newest ? when(event.newest.finishedAt) : t.none]] },
					{ kind: "p", text: t.staleAdvice },
				],
			};
		}
		case "backup_recovered":
			return {
				subject: t.recoveredSubject,
				title: t.recoveredTitle,
				blocks: [
					{
						kind: "facts",
						rows: [
							[t.newest, when(event.newest.finishedAt)],
							[t.age, t.hours(n(event.ageHours))],
							...(event.staleSince ? [[t.staleSince, when(event.staleSince)] as [string, string]] : []),
						],
					},
				],
			};
		case "weekly_report": {
			const d = event.drill;
			const drill = !d
				? t.drillNotRun
				: d.ok
					? t.drillOk(n(d.rows ?? 0), formatDuration(d.durationMs ?? 0, locale), d.snapshotId ? snapshotWhen(d.snapshotId) : "?")
					: t.drillFailed;
			const problems = event.corrupt.length > 0 || (d !== null && !d.ok);
			const blocks: Block[] = [
				{
					kind: "facts",
					rows: [
						[t.checked, n(event.snapshotsChecked)],
						...(event.coverage ? [[locale === "en" ? "Chunks re-read" : "Morceaux relus", event.coverage[locale === "en" ? "en" : "fr"]] as [string, string]] : []),
						[t.intact, n(event.snapshotsOk)],
						[t.damaged, n(event.corrupt.length)],
						[t.drill, drill],
						[t.totalBackups, n(event.counts.snapshots)],
						[t.totalSize, formatBytes(event.counts.totalBytes, locale)],
						...(event.counts.submissions === null ? [] : [[t.answers, n(event.counts.submissions)] as [string, string]]),
					],
				},
				{ kind: "p", text: problems ? t.weeklyProblem : t.weeklyAllGood },
			];
			if (event.corrupt.length > 0 || (d && !d.ok)) {
				blocks.push({ kind: "p", text: `${t.technical}${colon}` });
				blocks.push({
					kind: "list",
					items: [
						...event.corrupt.map((c) => `${t.damagedItem(snapshotWhen(c.snapshotId), c.chunk ?? t.summaryFile)}${colon} ${c.reason}`),
						...(d && !d.ok ? [`${t.drill}${colon} ${d.error ?? "?"}`] : []),
					],
				});
			}
			return { subject: problems ? t.weeklySubjectProblem : t.weeklySubject, title: t.weeklyTitle, blocks };
		}
		case "retention_frozen":
			return {
				subject: t.frozenSubject,
				title: t.frozenTitle,
				blocks: [
					{
						kind: "facts",
						rows: [
							[t.reason, t.frozenReasons[event.reason] ?? event.reason],
							...(event.dropPct === null ? [] : [[t.drop, `${formatCount(Math.round(event.dropPct), locale)} %`] as [string, string]]),
							...(event.snapshotId ? [[t.concerned, snapshotWhen(event.snapshotId)] as [string, string]] : []),
						],
					},
					{ kind: "p", text: t.frozenAdvice },
				],
			};
		case "replica_stale":
			return {
				subject: t.replicaStaleSubject,
				title: t.replicaStaleTitle(event.ageHours === null ? null : t.hours(n(event.ageHours)), t.hours(n(event.thresholdHours))),
				blocks: [
					{ kind: "facts", rows: [[t.replicaNewest, event.newest ? when(event.newest.at) : t.none]] },
					{ kind: "p", text: t.replicaStaleAdvice },
					...(event.error ? [{ kind: "facts" as const, rows: [[t.technical, event.error]] as [string, string][] }] : []),
				],
			};
		case "replication_failed":
			return {
				subject: t.replicationFailedSubject,
				title: t.replicationFailedTitle,
				blocks: [
					{ kind: "facts", rows: [[t.concerned, snapshotWhen(event.snapshotId)]] },
					{ kind: "p", text: t.replicationFailedAdvice },
					{ kind: "facts", rows: [[t.technical, event.error], [t.reference, event.snapshotId]] },
				],
			};
		case "verification_failed": {
			const at = snapshotTime(event.snapshotId);
			return {
				subject: at ? t.verifyFailedSubject(when(at, true)) : t.verifyFailedSubjectNoDate,
				title: t.verifyFailedTitle,
				blocks: [
					{ kind: "facts", rows: [[t.concerned, snapshotWhen(event.snapshotId)], [t.file, event.chunk ?? t.summaryFile]] },
					{ kind: "p", text: t.verifyFailedAdvice },
					{ kind: "facts", rows: [[t.technical, event.reason], [t.reference, event.snapshotId]] },
				],
			};
		}
	}
}

/**
 * Render an event for humans: subject line, plain text and HTML saying the same thing. Every
 * message ends with the link to the dashboard (when its address is known) and the time zone of
 * the times it shows.
 */
export function renderEvent(event: NotifyEvent, locale: Locale, context: RenderContext = DEFAULT_CONTEXT): RenderedMessage {
	const doc = buildDoc(event, locale, context);
	if ("verdict" in event && event.verdict) doc.verdict = event.verdict;
	const t = EMAIL_TEXTS[locale];
	if (context.dashboardUrl) doc.blocks.push({ kind: "link", label: t.dashboard, href: context.dashboardUrl });
	const at = eventTime(event);
	doc.blocks.push({ kind: "p", text: t.timesIn(formatTimeZoneName(locale, context.timeZone, at ? new Date(at) : new Date(0))) });
	const subject = `[${PRODUCT}] ${doc.subject}`;
	return { subject, text: toText(doc, locale), html: toHtml({ ...doc, subject }, locale) };
}
