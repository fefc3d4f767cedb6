// A backup run in words, for the administrator: its progress (stage, rows, chunks, time) and, when
// it failed, one plain sentence — what could not be done, which earlier backup is still good (by
// its local date), what to do next. Pure: the caller reads the run and the previous good run.
import { formatShortDateTime, type Locale } from "../local-time";

export type Words = { fr: string; en: string };

/** What a run looks like to this module (a backup_runs row, see src/db/backup-runs.ts). */
export type RunFacts = {
	status: "queued" | "running" | "complete" | "failed";
	stage: string | null;
	startedAt: string;
	finishedAt: string | null;
	rows: number;
	chunks: number;
	rowsTotal: number | null;
	failedStep: string | null;
	error: string | null;
};

export type RunProgress = {
	stage: string;
	stageText: Words;
	rows: number;
	rowsTotal?: number;
	chunks: number;
	elapsedSeconds: number;
};

/** Stages in words. "done" once complete; a queued run may be "waiting for restore …". */
const STAGES: Record<string, Words> = {
	queued: { fr: "en attente de démarrage", en: "waiting to start" },
	lock: { fr: "attente de l'accès aux données", en: "waiting for access to the data" },
	begin: { fr: "préparation", en: "preparing" },
	export: { fr: "copie des données", en: "copying the data" },
	verify: { fr: "vérification de la copie", en: "checking the copy" },
	manifest: { fr: "écriture du sommaire", en: "writing the summary" },
	finish: { fr: "finalisation", en: "finishing" },
	done: { fr: "terminée", en: "done" },
	start: { fr: "lancement", en: "starting" },
};

/** Pure: a stage in words; "waiting for restore X" (a queued run) reads as waiting for the data. */
export function describeStage(stage: string | null): Words {
	if (!stage) return STAGES.queued!;
	if (stage.startsWith("waiting for ")) return { fr: "attente de la fin d'une restauration ou d'un effacement", en: "waiting for a restore or an erasure to finish" };
	return STAGES[stage] ?? { fr: stage, en: stage };
}

/** Pure: the progress of a run at `now` (elapsed time up to its end once it has ended). */
export function buildRunProgress(run: RunFacts, now: Date): RunProgress {
	const end = run.finishedAt ? Date.parse(run.finishedAt) : now.getTime();
	const stage = run.status === "complete" ? "done" : (run.stage ?? "queued");
	return {
		stage,
		stageText: describeStage(stage),
		rows: run.rows,
		...(run.rowsTotal !== null ? { rowsTotal: Math.max(run.rowsTotal, run.rows) } : {}),
		chunks: run.chunks,
		elapsedSeconds: Math.max(0, Math.round((end - Date.parse(run.startedAt)) / 1000)),
	};
}

/** Why a backup failed, as a class a person can act on. */
export type FailureKind =
	| "storage"
	| "database"
	| "verify"
	| "lock-wait"
	| "lock-lost"
	| "after-commit"
	| "too-big"
	| "config"
	| "not-started"
	| "vanished"
	| "unknown";

/**
 * Pure: the class of a failure from its stage, the step that failed and the error text. The step
 * says most ("write chunk 3" is an R2 write, "export part 2" a D1 read); the text refines it.
 */
export function classifyFailure(stage: string | null, step: string | null, error: string | null): FailureKind {
	const e = error ?? "";
	const s = step ?? "";
	if (stage === "verify" || /verification failed/i.test(e)) return "verify";
	if (stage === "finish" || /is complete and verified in R2, but/.test(e)) return "after-commit";
	if (/kept the data locked/.test(e)) return "lock-wait";
	if (/data lock was taken from this run/.test(e)) return "lock-lost";
	if (/too many chunks|steps per instance cannot hold/.test(e)) return "too-big";
	if (/configuration|ConfigError|BACKUP_CHUNK_BYTES|must be set/i.test(e)) return "config";
	if (/could not start the workflow/.test(e)) return "not-started";
	if (/ended without recording its outcome/.test(e)) return "vanished";
	if (s.startsWith("write chunk") || s === "write manifest" || /\b(put|R2|bucket)\b/i.test(e)) return "storage";
	if (s.startsWith("export part") || s === "begin" || /\b(D1|SQLITE|database)\b/i.test(e)) return "database";
	return "unknown";
}

/** What could not be done, completing "La sauvegarde du <date> …" / "The backup of <date> …". */
const WHAT: Record<FailureKind, Words> = {
	storage: { fr: "n'a pas pu écrire dans le stockage R2", en: "could not write to R2 storage" },
	database: { fr: "n'a pas pu lire la base de données (D1)", en: "could not read the database (D1)" },
	verify: {
		fr: "a été refusée : les données relues dans le stockage ne correspondent pas à ce qui a été écrit",
		en: "was refused: the data read back from storage does not match what was written",
	},
	"lock-wait": {
		fr: "n'a pas pu commencer : une restauration ou un effacement a occupé les données trop longtemps",
		en: "could not start: a restore or an erasure kept the data busy for too long",
	},
	"lock-lost": {
		fr: "a été interrompue : une autre opération a pris la main sur les données pendant la copie",
		en: "was interrupted: another operation took over the data during the copy",
	},
	"after-commit": {
		fr: "a bien été écrite et vérifiée, mais son enregistrement final a échoué : elle reste utilisable",
		en: "was written and verified, but its final record failed: it remains usable",
	},
	"too-big": { fr: "est trop volumineuse pour les réglages actuels", en: "is too large for the current settings" },
	config: { fr: "n'a pas pu démarrer : un réglage du service est incorrect", en: "could not start: a setting of the service is wrong" },
	"not-started": { fr: "n'a pas pu être lancée", en: "could not be started" },
	vanished: { fr: "s'est arrêtée sans donner de résultat", en: "stopped without giving a result" },
	unknown: { fr: "a échoué", en: "failed" },
};

const RETRY: Words = {
	fr: "Réessayez avec « Lancer une sauvegarde maintenant » (ou npm run admin -- backup) ; si l'échec se répète, consultez docs/restore-runbook.md et transmettez le détail technique au développeur.",
	en: "Try again with “Back up now” (or npm run admin -- backup); if it fails again, see docs/restore-runbook.md and pass the technical detail on to the developer.",
};
const DEVELOPER: Words = {
	fr: "Transmettez le détail technique au développeur : un réglage est à corriger (docs/restore-runbook.md).",
	en: "Pass the technical detail on to the developer: a setting must be fixed (docs/restore-runbook.md).",
};

/** The next step, per class. */
const NEXT: Record<FailureKind, Words> = {
	storage: RETRY,
	database: RETRY,
	verify: RETRY,
	"lock-wait": {
		fr: "Relancez « Lancer une sauvegarde maintenant » une fois la restauration ou l'effacement terminé.",
		en: "Start “Back up now” again once the restore or the erasure has finished.",
	},
	"lock-lost": RETRY,
	"after-commit": {
		fr: "Rien n'est perdu ; la prochaine sauvegarde automatique suffit. Si l'échec se répète, transmettez le détail technique au développeur.",
		en: "Nothing is lost; the next automatic backup is enough. If it happens again, pass the technical detail on to the developer.",
	},
	"too-big": DEVELOPER,
	config: DEVELOPER,
	"not-started": RETRY,
	vanished: RETRY,
	unknown: RETRY,
};

/** Pure: what could not be done, as a sentence of its own (the failure e-mail's "what happened"). */
export function describeFailureCause(stage: string | null, step: string | null, error: string | null): Words {
	const kind = classifyFailure(stage, step, error);
	return { fr: `La sauvegarde ${WHAT[kind].fr}.`, en: `The backup ${WHAT[kind].en}.` };
}

/** The previous good backup: its start time, or null when there is none (undefined: not known). */
export type PreviousGood = { startedAt: string } | null | undefined;

/**
 * Pure: a failed run in one paragraph, French and English: what could not be done (with the
 * run's local date), which previous backup is intact (by its local date), and what to do next.
 * E.g. « La sauvegarde du 3 déc. à 03 h 00 n'a pas pu écrire dans le stockage R2. Votre
 * sauvegarde précédente, du 2 déc. à 03 h 00, est intacte. Réessayez avec … »
 */
export function explainFailure(run: RunFacts, previous: PreviousGood, timeZone: string, now: Date): Words {
	const kind = classifyFailure(run.stage, run.failedStep, run.error);
	const say = (locale: Locale): string => {
		const when = (iso: string) => formatShortDateTime(iso, locale, timeZone, now);
		const head = locale === "fr" ? `La sauvegarde du ${when(run.startedAt)} ${WHAT[kind].fr}.` : `The backup of ${when(run.startedAt)} ${WHAT[kind].en}.`;
		let prev = "";
		if (kind !== "after-commit" && previous !== undefined) {
			prev =
				previous === null
					? locale === "fr"
						? " Aucune sauvegarde n'a encore réussi : vos données n'ont pas encore de copie."
						: " No backup has succeeded yet: your data has no copy yet."
					: locale === "fr"
						? ` Votre sauvegarde précédente, du ${when(previous.startedAt)}, est intacte.`
						: ` Your previous backup, of ${when(previous.startedAt)}, is intact.`;
		}
		return `${head}${prev} ${NEXT[kind][locale]}`;
	};
	return { fr: say("fr"), en: say("en") };
}
