// Pure rendering of notification events into a subject, plain text and simple HTML, in French
// (default) or English. Only the event's counts, ids, sizes and times are ever printed.
import type { NotifyEvent } from "./events";

export type Locale = "fr" | "en";

export type RenderedMessage = { subject: string; text: string; html: string };

/** Product name shown in every subject, so that filters and humans recognise the sender. */
const PRODUCT = "Cafés partenaires";

// ---------------------------------------------------------------------------------------------
// Small pure formatters (exported for tests)

/** 1536 -> "1,5 Kio" (fr) / "1.5 KiB" (en). Binary units, like `ls -h`. */
export function formatBytes(bytes: number, locale: Locale): string {
	const units = locale === "fr" ? ["o", "Kio", "Mio", "Gio", "Tio"] : ["B", "KiB", "MiB", "GiB", "TiB"];
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

/** ISO time -> "2026-11-25 02:00 UTC" (same in both languages: unambiguous). */
export function formatTime(iso: string): string {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return iso;
	return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
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
// Document model: a message is a title, lines of key/value facts and paragraphs. Both text and
// HTML are produced from the same model, so they can never say different things.

type Block =
	| { kind: "p"; text: string }
	| { kind: "facts"; rows: Array<[string, string]> }
	| { kind: "list"; items: string[] };

type Doc = { subject: string; title: string; blocks: Block[] };

function toText(doc: Doc, locale: Locale): string {
	// French typography puts a (thin) space before the colon; English does not.
	const colon = locale === "fr" ? " :" : ":";
	const out: string[] = [doc.title, ""];
	for (const b of doc.blocks) {
		if (b.kind === "p") out.push(b.text, "");
		else if (b.kind === "facts") {
			for (const [k, v] of b.rows) out.push(`${k}${colon} ${v}`);
			out.push("");
		} else {
			for (const item of b.items) out.push(`- ${item}`);
			out.push("");
		}
	}
	return `${out.join("\n").trimEnd()}\n`;
}

function toHtml(doc: Doc, locale: Locale): string {
	const parts: string[] = [
		`<!doctype html><html lang="${locale}"><head><meta charset="utf-8"><title>${escapeHtml(doc.subject)}</title></head>`,
		'<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#222">',
		`<h1 style="font-size:1.25em">${escapeHtml(doc.title)}</h1>`,
	];
	for (const b of doc.blocks) {
		if (b.kind === "p") parts.push(`<p>${escapeHtml(b.text)}</p>`);
		else if (b.kind === "facts") {
			parts.push('<table style="border-collapse:collapse">');
			for (const [k, v] of b.rows) {
				parts.push(
					`<tr><th style="text-align:left;padding:2px 12px 2px 0">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`,
				);
			}
			parts.push("</table>");
		} else {
			parts.push(`<ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join("")}</ul>`);
		}
	}
	parts.push("</body></html>");
	return parts.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Wording

const T = {
	fr: {
		ok: "OK",
		none: "aucune",
		yes: "oui",
		no: "non",
		succeededSubject: "Sauvegarde réussie",
		succeededTitle: "La sauvegarde a réussi et a été vérifiée.",
		snapshot: "Instantané",
		trigger: "Déclenchement",
		scheduled: "planifié",
		manual: "manuel",
		size: "Taille",
		duration: "Durée",
		rowsPerTable: "Lignes par table",
		newSubmissions: "Nouvelles réponses depuis la sauvegarde précédente",
		firstSnapshot: "première sauvegarde",
		retention: "Conservation",
		retentionLine: (kept: string, removed: string, frozen: boolean) =>
			`${kept} instantané(s) conservé(s), ${removed} supprimé(s)${frozen ? " (sauvegardes d'avant une baisse des données épinglées)" : ""}`,
		retentionNone: "non exécutée",
		failedSubject: "ÉCHEC de la sauvegarde",
		failedTitle: "La sauvegarde a échoué : aucune nouvelle copie des données n'a été enregistrée.",
		stage: "Étape",
		error: "Erreur",
		attempt: "Tentative",
		whatToDo: "Que faire ?",
		staleSubject: "ALERTE : aucune sauvegarde récente",
		staleTitle: (h: string, t: string) =>
			`Aucune sauvegarde vérifiée depuis ${h} heures (seuil : ${t} heures).`,
		staleTitleNone: (h: string) => `Aucune sauvegarde vérifiée n'existe (surveillance depuis ${h} heures).`,
		newest: "Dernière sauvegarde vérifiée",
		staleAdvice:
			"Ouvrez la page d'état de l'administration pour voir la dernière exécution. Si elle a échoué, lancez une sauvegarde manuelle ; si rien n'a été exécuté, transmettez ce message au développeur (les tâches planifiées du Worker ne tournent peut-être plus). Ce rappel est envoyé au plus une fois par jour tant que la situation dure.",
		recoveredSubject: "Sauvegardes rétablies",
		recoveredTitle: "Une sauvegarde vérifiée récente existe de nouveau.",
		staleSince: "Alerte en cours depuis",
		age: "Âge",
		hours: (h: string) => `${h} h`,
		weeklySubject: "Rapport hebdomadaire des sauvegardes",
		weeklyTitle: "Rapport hebdomadaire de vérification des sauvegardes.",
		checked: "Instantanés vérifiés",
		intact: "Intacts",
		corrupt: "Objets corrompus",
		drill: "Exercice de restauration",
		drillOk: (rows: string, d: string, id: string) => `réussi (${rows} lignes en ${d}, instantané ${id})`,
		drillFailed: (e: string) => `ÉCHEC : ${e}`,
		drillNotRun: "non exécuté",
		totalSnapshots: "Instantanés conservés",
		totalSize: "Taille totale",
		submissions: "Réponses",
		weeklyProblem:
			"Des problèmes ont été trouvés : transmettez ce rapport au développeur. Les instantanés intacts restent utilisables pour une restauration.",
		weeklyAllGood: "Tout est en ordre : aucune action n'est nécessaire.",
		manifest: "manifeste",
		frozenSubject: "Conservation gelée : aucune sauvegarde supprimée",
		frozenTitle: "La suppression des anciennes sauvegardes a été gelée par précaution.",
		reason: "Raison",
		drop: "Baisse du nombre de réponses",
		frozenReasons: {
			submissions_drop: "le nombre de réponses a baissé anormalement depuis la sauvegarde précédente",
			max_remove: "trop d'instantanés auraient été supprimés en une fois",
			data_loss:
				"des données ont disparu sans demande d'effacement : les sauvegardes d'avant la baisse sont épinglées (jamais supprimées) jusqu'à ce qu'un administrateur les libère depuis le tableau de bord ou avec « npm run admin -- pins »",
		} as Record<string, string>,
		frozenAdvice:
			"Aucune donnée n'a été supprimée. Vérifiez que la baisse est voulue (par exemple des effacements demandés). Si ce n'est pas le cas, une restauration depuis un instantané précédent est possible.",
		replicaStaleSubject: "ALERTE : la copie hors Cloudflare n'est plus à jour",
		replicaStaleTitle: (h: string | null, t: string) =>
			h === null
				? "La copie hors Cloudflare est introuvable ou illisible."
				: `La copie hors Cloudflare la plus récente date de ${h} heures (seuil : ${t} heures).`,
		replicaStaleAdvice:
			"Les sauvegardes dans Cloudflare ne sont pas concernées. Vérifiez l'abonnement et les identifiants du stockage externe ; si cela continue, transmettez ce message au développeur.",
		replicationFailedSubject: "ALERTE : la copie hors Cloudflare a échoué",
		replicationFailedTitle: "La sauvegarde a réussi, mais sa copie hors Cloudflare n'a pas pu être faite.",
		replicationFailedAdvice:
			"La sauvegarde elle-même est complète et vérifiée dans Cloudflare : rien n'est perdu. Tant que la copie échoue, il n'existe pas de copie à jour hors de Cloudflare. Si l'échec se répète demain, transmettez ce message au développeur (identifiants ou adresse du stockage externe à vérifier).",
		verifyFailedSubject: "ALERTE : sauvegarde corrompue détectée",
		verifyFailedTitle: "Un instantané de sauvegarde ne correspond plus à ses sommes de contrôle.",
		verifyFailedAdvice:
			"Cet instantané ne doit pas être utilisé pour une restauration. Les autres instantanés ne sont pas concernés. Transmettez ce message au développeur.",
		object: "Objet",
		advice: {
			default:
				"Si la prochaine sauvegarde planifiée réussit, aucune action n'est nécessaire. Si l'échec se répète, lancez une sauvegarde manuelle depuis la page d'administration et, en cas de nouvel échec, transmettez ce message au développeur.",
			config:
				"La configuration du Worker est invalide : transmettez ce message au développeur (variable ou secret à corriger).",
			verify:
				"Les données relues depuis le stockage ne correspondent pas à ce qui a été écrit : cette sauvegarde n'est pas considérée comme valide. Lancez une sauvegarde manuelle ; si l'échec se répète, transmettez ce message au développeur.",
			lock:
				"Une restauration ou l'annulation d'un remplacement modifiait les données pendant toute l'attente : cette sauvegarde n'a pas été faite, pour ne pas enregistrer un état à moitié modifié. Quand la restauration est terminée (page d'administration, partie Données), lancez une sauvegarde manuelle.",
		} as Record<string, string>,
	},
	en: {
		ok: "OK",
		none: "none",
		yes: "yes",
		no: "no",
		succeededSubject: "Backup succeeded",
		succeededTitle: "The backup succeeded and was verified.",
		snapshot: "Snapshot",
		trigger: "Trigger",
		scheduled: "scheduled",
		manual: "manual",
		size: "Size",
		duration: "Duration",
		rowsPerTable: "Rows per table",
		newSubmissions: "New submissions since the previous backup",
		firstSnapshot: "first backup",
		retention: "Retention",
		retentionLine: (kept: string, removed: string, frozen: boolean) =>
			`${kept} snapshot(s) kept, ${removed} removed${frozen ? " (backups from before a data drop pinned)" : ""}`,
		retentionNone: "did not run",
		failedSubject: "Backup FAILED",
		failedTitle: "The backup failed: no new copy of the data was saved.",
		stage: "Stage",
		error: "Error",
		attempt: "Attempt",
		whatToDo: "What to do:",
		staleSubject: "ALERT: no recent backup",
		staleTitle: (h: string, t: string) => `No verified backup for ${h} hours (threshold: ${t} hours).`,
		staleTitleNone: (h: string) => `No verified backup exists (watched for ${h} hours).`,
		newest: "Newest verified backup",
		staleAdvice:
			"Open the admin status page to see the last run. If it failed, start a manual backup; if nothing ran at all, forward this message to the developer (the Worker's scheduled jobs may have stopped). This reminder is sent at most once a day while the problem lasts.",
		recoveredSubject: "Backups are back",
		recoveredTitle: "A recent verified backup exists again.",
		staleSince: "Alert active since",
		age: "Age",
		hours: (h: string) => `${h} h`,
		weeklySubject: "Weekly backup report",
		weeklyTitle: "Weekly backup verification report.",
		checked: "Snapshots checked",
		intact: "Intact",
		corrupt: "Corrupt objects",
		drill: "Restore drill",
		drillOk: (rows: string, d: string, id: string) => `succeeded (${rows} rows in ${d}, snapshot ${id})`,
		drillFailed: (e: string) => `FAILED: ${e}`,
		drillNotRun: "did not run",
		totalSnapshots: "Snapshots kept",
		totalSize: "Total size",
		submissions: "Submissions",
		weeklyProblem:
			"Problems were found: forward this report to the developer. Intact snapshots remain usable for a restore.",
		weeklyAllGood: "Everything is in order: no action needed.",
		manifest: "manifest",
		frozenSubject: "Retention frozen: no backup deleted",
		frozenTitle: "Deleting old backups was frozen as a precaution.",
		reason: "Reason",
		drop: "Drop in submissions",
		frozenReasons: {
			submissions_drop: "the number of submissions dropped abnormally since the previous backup",
			max_remove: "too many snapshots would have been removed at once",
			data_loss:
				"data disappeared without an erasure request: the backups from before the drop are pinned (never deleted) until an administrator releases them from the dashboard or with \"npm run admin -- pins\"",
		} as Record<string, string>,
		frozenAdvice:
			"No data was deleted. Check that the drop is expected (for example requested erasures). If it is not, a restore from an earlier snapshot is possible.",
		replicaStaleSubject: "ALERT: the copy outside Cloudflare is out of date",
		replicaStaleTitle: (h: string | null, t: string) =>
			h === null ? "The copy outside Cloudflare cannot be found or read." : `The newest copy outside Cloudflare is ${h} hours old (threshold: ${t} hours).`,
		replicaStaleAdvice:
			"The backups inside Cloudflare are not affected. Check the external storage's subscription and credentials; if this goes on, forward this message to the developer.",
		replicationFailedSubject: "ALERT: the copy outside Cloudflare failed",
		replicationFailedTitle: "The backup succeeded, but its copy outside Cloudflare could not be made.",
		replicationFailedAdvice:
			"The backup itself is complete and verified in Cloudflare: nothing is lost. While the copy fails, there is no up-to-date copy outside Cloudflare. If the failure repeats tomorrow, forward this message to the developer (the external storage's credentials or address need checking).",
		verifyFailedSubject: "ALERT: corrupt backup detected",
		verifyFailedTitle: "A backup snapshot no longer matches its checksums.",
		verifyFailedAdvice:
			"Do not use this snapshot for a restore. Other snapshots are not affected. Forward this message to the developer.",
		object: "Object",
		advice: {
			default:
				"If the next scheduled backup succeeds, nothing needs to be done. If the failure repeats, start a manual backup from the admin page and, if that fails too, forward this message to the developer.",
			config: "The Worker's configuration is invalid: forward this message to the developer (a variable or secret must be fixed).",
			verify:
				"The data read back from storage does not match what was written: this backup is not considered valid. Start a manual backup; if the failure repeats, forward this message to the developer.",
			lock:
				"A restore or the undo of a replace was changing the data for the whole wait: this backup was not taken, so as not to record a half-changed state. Once the restore has finished (admin page, Data section), start a manual backup.",
		} as Record<string, string>,
	},
} as const;

// ---------------------------------------------------------------------------------------------
// Event -> document

function buildDoc(event: NotifyEvent, locale: Locale): Doc {
	const t = T[locale];
	const n = (x: number) => formatCount(x, locale);
	switch (event.type) {
		case "backup_succeeded": {
			const tableRows = Object.entries(event.tables)
				.sort(([a], [b]) => a.localeCompare(b))
				.map(([table, rows]): [string, string] => [table, n(rows)]);
			const fresh =
				event.newSubmissions === null
					? t.firstSnapshot
					: `${event.newSubmissions > 0 ? "+" : ""}${n(event.newSubmissions)}`;
			const retention = event.retention
				? t.retentionLine(n(event.retention.kept), n(event.retention.removed), event.retention.frozen)
				: t.retentionNone;
			return {
				subject: `[${PRODUCT}] ${t.succeededSubject} — ${event.snapshotId}`,
				title: t.succeededTitle,
				blocks: [
					{
						kind: "facts",
						rows: [
							[t.snapshot, event.snapshotId],
							[t.trigger, event.trigger === "manual" ? t.manual : t.scheduled],
							[t.newSubmissions, fresh],
							[t.size, formatBytes(event.bytes, locale)],
							[t.duration, formatDuration(event.durationMs, locale)],
							[t.retention, retention],
						],
					},
					{ kind: "p", text: `${t.rowsPerTable}${locale === "fr" ? " :" : ":"}` },
					{ kind: "facts", rows: tableRows },
				],
			};
		}
		case "backup_failed": {
			const advice = event.advice ?? t.advice[event.stage] ?? t.advice.default!;
			return {
				subject: `[${PRODUCT}] ${t.failedSubject} (${event.stage})`,
				title: t.failedTitle,
				blocks: [
					{
						kind: "facts",
						rows: [
							[t.stage, event.stage],
							[t.error, event.error],
							[t.attempt, String(event.attempt)],
							[t.trigger, event.trigger === "manual" ? t.manual : t.scheduled],
							["Run", event.runId],
						],
					},
					{ kind: "p", text: `${t.whatToDo} ${advice}` },
				],
			};
		}
		case "backup_stale": {
			const h = n(event.ageHours);
			return {
				subject: `[${PRODUCT}] ${t.staleSubject} (${t.hours(h)})`,
				title: event.newest ? t.staleTitle(h, n(event.thresholdHours)) : t.staleTitleNone(h),
				blocks: [
					{
						kind: "facts",
						rows: [
							[
								t.newest,
								event.newest
									? `${event.newest.snapshotId} (${formatTime(event.newest.finishedAt)})`
									: t.none,
							],
						],
					},
					{ kind: "p", text: t.staleAdvice },
				],
			};
		}
		case "backup_recovered":
			return {
				subject: `[${PRODUCT}] ${t.recoveredSubject}`,
				title: t.recoveredTitle,
				blocks: [
					{
						kind: "facts",
						rows: [
							[t.newest, `${event.newest.snapshotId} (${formatTime(event.newest.finishedAt)})`],
							[t.age, t.hours(n(event.ageHours))],
							...(event.staleSince ? [[t.staleSince, formatTime(event.staleSince)] as [string, string]] : []),
						],
					},
				],
			};
		case "weekly_report": {
			const d = event.drill;
			const drill = !d
				? t.drillNotRun
				: d.ok
					? t.drillOk(n(d.rows ?? 0), formatDuration(d.durationMs ?? 0, locale), d.snapshotId ?? "?")
					: t.drillFailed(d.error ?? "?");
			const problems = event.corrupt.length > 0 || (d !== null && !d.ok);
			const blocks: Block[] = [
				{
					kind: "facts",
					rows: [
						[t.checked, n(event.snapshotsChecked)],
						[t.intact, n(event.snapshotsOk)],
						[t.corrupt, n(event.corrupt.length)],
						[t.drill, drill],
						[t.totalSnapshots, n(event.counts.snapshots)],
						[t.totalSize, formatBytes(event.counts.totalBytes, locale)],
						...(event.counts.submissions === null
							? []
							: [[t.submissions, n(event.counts.submissions)] as [string, string]]),
					],
				},
			];
			if (event.corrupt.length > 0) {
				blocks.push({
					kind: "list",
					items: event.corrupt.map((c) => `${c.snapshotId} / ${c.chunk ?? t.manifest}${locale === "fr" ? " :" : ":"} ${c.reason}`),
				});
			}
			blocks.push({ kind: "p", text: problems ? t.weeklyProblem : t.weeklyAllGood });
			return {
				subject: `[${PRODUCT}] ${t.weeklySubject}${problems ? " — !" : ""}`,
				title: t.weeklyTitle,
				blocks,
			};
		}
		case "retention_frozen":
			return {
				subject: `[${PRODUCT}] ${t.frozenSubject}`,
				title: t.frozenTitle,
				blocks: [
					{
						kind: "facts",
						rows: [
							[t.reason, t.frozenReasons[event.reason] ?? event.reason],
							...(event.dropPct === null
								? []
								: [[t.drop, `${formatCount(Math.round(event.dropPct), locale)} %`] as [string, string]]),
							...(event.snapshotId ? [[t.snapshot, event.snapshotId] as [string, string]] : []),
						],
					},
					{ kind: "p", text: t.frozenAdvice },
				],
			};
		case "replica_stale":
			return {
				subject: `[${PRODUCT}] ${t.replicaStaleSubject}`,
				title: t.replicaStaleTitle(event.ageHours === null ? null : n(event.ageHours), n(event.thresholdHours)),
				blocks: [
					{
						kind: "facts",
						rows: [
							[t.newest, event.newest ? formatTime(event.newest.at) : t.none],
							...(event.error ? [[t.error, event.error] as [string, string]] : []),
						],
					},
					{ kind: "p", text: t.replicaStaleAdvice },
				],
			};
		case "replication_failed":
			return {
				subject: `[${PRODUCT}] ${t.replicationFailedSubject}`,
				title: t.replicationFailedTitle,
				blocks: [
					{
						kind: "facts",
						rows: [
							[t.snapshot, event.snapshotId],
							[t.error, event.error],
						],
					},
					{ kind: "p", text: t.replicationFailedAdvice },
				],
			};
		case "verification_failed":
			return {
				subject: `[${PRODUCT}] ${t.verifyFailedSubject} — ${event.snapshotId}`,
				title: t.verifyFailedTitle,
				blocks: [
					{
						kind: "facts",
						rows: [
							[t.snapshot, event.snapshotId],
							[t.object, event.chunk ?? t.manifest],
							[t.reason, event.reason],
						],
					},
					{ kind: "p", text: t.verifyFailedAdvice },
				],
			};
	}
}

/** Render an event for humans: subject line, plain text and HTML saying the same thing. */
export function renderEvent(event: NotifyEvent, locale: Locale): RenderedMessage {
	const doc = buildDoc(event, locale);
	return { subject: doc.subject, text: toText(doc, locale), html: toHtml(doc, locale) };
}
