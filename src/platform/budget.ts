// The platform budget shown in the status (GET /api/admin/status `platform`) and the restore's
// check against D1's daily write limit. Pure: the plan, the published limits and this deployment's
// figures in; figures against limits, warnings and refusals out. Sources: docs/cloudflare-plans.md.
import { PLAN_LIMITS, type PlanLimits, type PlanName } from "./plans.ts";

/** Above this share of a limit, a figure carries a warning. */
export const WARNING_PERCENT = 80;

/** Cron triggers this application uses (wrangler.jsonc `triggers.crons`; a test keeps them equal). */
export const CRON_TRIGGERS_USED = 1;

/** Allowances beside PLAN_LIMITS: D1's database size, R2's free tier (the same on both plans). */
export type PlatformAllowances = {
	d1DatabaseBytes: number;
	/** R2 free tier: beyond it R2 bills, on either plan. */
	r2StorageBytes: number;
	r2ClassAPerMonth: number;
	r2ClassBPerMonth: number;
};

const MB = 1024 * 1024;
const GB = 1024 * MB;

/**
 * Sizes in powers of 1024, as the dashboard and the CLI show them (Cloudflare writes "500 MB" and
 * "10 GB" without saying which; the 80 % warning leaves far more room than the difference).
 */
export const PLATFORM_ALLOWANCES: Readonly<Record<PlanName, PlatformAllowances>> = {
	free: { d1DatabaseBytes: 500 * MB, r2StorageBytes: 10 * GB, r2ClassAPerMonth: 1_000_000, r2ClassBPerMonth: 10_000_000 },
	paid: { d1DatabaseBytes: 10 * GB, r2StorageBytes: 10 * GB, r2ClassAPerMonth: 1_000_000, r2ClassBPerMonth: 10_000_000 },
};

/** What this deployment used, as it counted it (src/db/platform-usage.ts) plus the snapshots' bytes. */
export type PlatformUsage = {
	d1RowsReadToday: number;
	d1RowsWrittenToday: number;
	r2ClassAMonth: number;
	r2ClassBMonth: number;
	d1SizeBytes: number;
	backupSteps: number;
	verifySteps: number;
	r2BytesStored: number;
	cronTriggers: number;
};

export type Words = { fr: string; en: string };

export type FigureKey =
	| "backupSteps"
	| "verifySteps"
	| "d1RowsReadToday"
	| "d1RowsWrittenToday"
	| "d1SizeBytes"
	| "r2BytesStored"
	| "r2ClassAMonth"
	| "r2ClassBMonth"
	| "cronTriggers";

export type PlatformFigure = {
	key: FigureKey;
	label: Words;
	value: number;
	/** null: the plan sets no limit on it (Paid bills D1 rows instead). */
	limit: number | null;
	unit: "steps" | "rows" | "bytes" | "operations" | "triggers";
	/** value / limit in %, one decimal; null without a limit. */
	percent: number | null;
	warning: boolean;
};

export type PlatformWarning = { key: FigureKey; message: Words };

export type PlatformReport = {
	plan: PlanName;
	limits: PlanLimits & PlatformAllowances;
	figures: PlatformFigure[];
	warnings: PlatformWarning[];
};

const LABELS: Record<FigureKey, Words> = {
	backupSteps: { fr: "Étapes de la dernière sauvegarde (par instance)", en: "Steps of the last backup (per instance)" },
	verifySteps: { fr: "Étapes de la dernière vérification (par instance)", en: "Steps of the last verification (per instance)" },
	d1RowsReadToday: { fr: "Lignes lues dans la base aujourd'hui", en: "Database rows read today" },
	d1RowsWrittenToday: { fr: "Lignes écrites dans la base aujourd'hui (réponses, restaurations…)", en: "Database rows written today (submissions, restores…)" },
	d1SizeBytes: { fr: "Taille de la base de données", en: "Database size" },
	r2BytesStored: { fr: "Sauvegardes stockées", en: "Backups stored" },
	r2ClassAMonth: { fr: "Écritures de sauvegardes ce mois-ci (opérations R2 de classe A)", en: "Backup writes this month (R2 Class A operations)" },
	r2ClassBMonth: { fr: "Lectures de sauvegardes ce mois-ci (opérations R2 de classe B)", en: "Backup reads this month (R2 Class B operations)" },
	cronTriggers: { fr: "Déclencheurs planifiés utilisés", en: "Scheduled triggers used" },
};

/** What to do when a figure passes WARNING_PERCENT: one plain sentence each. */
const ADVICE: Record<FigureKey, Words> = {
	backupSteps: {
		fr: "la sauvegarde continue d'elle-même dans une nouvelle instance avant la limite ; rien à faire tant qu'elle réussit.",
		en: "the backup continues by itself in a new instance before the limit; nothing to do while it succeeds.",
	},
	verifySteps: {
		fr: "la vérification hebdomadaire risque d'être coupée : passez à l'offre payante ou vérifiez un échantillon (VERIFY_SAMPLE).",
		en: "the weekly verification may be cut off: switch to the Paid plan or verify a sample (VERIFY_SAMPLE).",
	},
	d1RowsReadToday: {
		fr: "au-delà, la base refuse les lectures jusqu'à minuit UTC (le formulaire et le tableau de bord cessent de fonctionner).",
		en: "beyond it the database refuses reads until 00:00 UTC (the form and the dashboard stop working).",
	},
	d1RowsWrittenToday: {
		fr: "au-delà, la base refuse les écritures jusqu'à minuit UTC : les réponses au questionnaire seraient refusées. Ne lancez pas de restauration aujourd'hui.",
		en: "beyond it the database refuses writes until 00:00 UTC: questionnaire answers would be refused. Do not start a restore today.",
	},
	d1SizeBytes: {
		fr: "au-delà, la base refuse toute nouvelle réponse : passez à l'offre payante (10 Go par base).",
		en: "beyond it the database refuses new answers: switch to the Paid plan (10 GB per database).",
	},
	r2BytesStored: {
		fr: "au-delà de 10 Go, le stockage des sauvegardes est facturé (0,015 $ par Go et par mois) ; gardez moins de sauvegardes (KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY) pour rester gratuit.",
		en: "beyond 10 GB backup storage is billed ($0.015 per GB-month); keep fewer snapshots (KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY) to stay free.",
	},
	r2ClassAMonth: {
		fr: "au-delà, chaque million d'écritures est facturé 4,50 $.",
		en: "beyond it each million writes is billed $4.50.",
	},
	r2ClassBMonth: {
		fr: "au-delà, chaque million de lectures est facturé 0,36 $.",
		en: "beyond it each million reads is billed $0.36.",
	},
	cronTriggers: {
		fr: "le compte Cloudflare n'a plus de place pour d'autres tâches planifiées.",
		en: "the Cloudflare account has no room left for other scheduled tasks.",
	},
};

function percentOf(value: number, limit: number | null): number | null {
	if (limit === null || limit <= 0) return null;
	return Math.round((value / limit) * 1000) / 10;
}

/** Pure: the plan's limits, this deployment's figures against them, and a warning above 80 %. */
export function platformReport(plan: PlanName, usage: PlatformUsage): PlatformReport {
	const limits = { ...PLAN_LIMITS[plan], ...PLATFORM_ALLOWANCES[plan] };
	const rows: Array<[FigureKey, number, number | null, PlatformFigure["unit"]]> = [
		["backupSteps", usage.backupSteps, limits.stepsPerInstance, "steps"],
		["verifySteps", usage.verifySteps, limits.stepsPerInstance, "steps"],
		["d1RowsReadToday", usage.d1RowsReadToday, limits.d1RowsReadPerDay, "rows"],
		["d1RowsWrittenToday", usage.d1RowsWrittenToday, limits.d1RowsWrittenPerDay, "rows"],
		["d1SizeBytes", usage.d1SizeBytes, limits.d1DatabaseBytes, "bytes"],
		["r2BytesStored", usage.r2BytesStored, limits.r2StorageBytes, "bytes"],
		["r2ClassAMonth", usage.r2ClassAMonth, limits.r2ClassAPerMonth, "operations"],
		["r2ClassBMonth", usage.r2ClassBMonth, limits.r2ClassBPerMonth, "operations"],
		["cronTriggers", usage.cronTriggers, limits.cronTriggers, "triggers"],
	];
	const figures = rows.map(([key, value, limit, unit]): PlatformFigure => {
		const percent = percentOf(value, limit);
		// On the exact ratio, not the rounded percent: 80.04 % shows as 80 % but is above it.
		const warning = limit !== null && limit > 0 && value * 100 > limit * WARNING_PERCENT;
		return { key, label: LABELS[key], value, limit, unit, percent, warning };
	});
	const warnings = figures
		.filter((f) => f.warning)
		.map((f) => ({
			key: f.key,
			message: {
				fr: `${f.label.fr} : ${formatPercent(f.percent!, "fr")} de la limite — ${ADVICE[f.key].fr}`,
				en: `${f.label.en}: ${formatPercent(f.percent!, "en")} of the limit — ${ADVICE[f.key].en}`,
			},
		}));
	return { plan, limits, figures, warnings };
}

function formatPercent(p: number, lang: "fr" | "en"): string {
	const n = p.toLocaleString(lang === "fr" ? "fr-FR" : "en-GB", { maximumFractionDigits: 1 });
	return lang === "fr" ? `${n} %` : `${n}%`;
}

function formatCount(n: number, lang: "fr" | "en"): string {
	return n.toLocaleString(lang === "fr" ? "fr-FR" : "en-GB");
}

// ---------------------------------------------------------------------------------------------
// Restores and D1's daily write limit

/**
 * D1 rows written per restored row, at most: the row itself plus its index entries (D1 counts each
 * index entry as one more row written; submissions have three: the id's, received_at's and
 * role_key's). Measured on local D1: 4.1 per row for a merge and for a replace (40 and 400
 * submissions, docs/cloudflare-plans.md); 5 leaves room, so that the estimate stays an upper bound.
 */
export const ROWS_WRITTEN_PER_ROW = 5;

/** Bookkeeping of any write restore (run row, audit, lock, counters' reconciliation), at most. */
const RESTORE_FIXED_ROWS = 60;
/** Per chunk: its progress update and the accounting of its step. */
const RESTORE_ROWS_PER_CHUNK = 6;
/** A replace's swap: staging tables created, renamed and dropped, indexes moved (measured: ~320). */
const REPLACE_SWAP_ROWS = 400;

/** Per table, what a dry run compared (a subset of src/restore/plan.ts TableDiff). */
export type TableCounts = { inSnapshot: number; added: number; skippedErased: number };

export type RestoreWrites = { merge: number; replace: number };

/**
 * Pure: D1 rows a merge and a replace of this snapshot would write, at most. A merge inserts only
 * the rows the live tables lack; a replace loads every row into staging tables, then swaps them
 * in. Both reconcile the counters. `chunks`: the snapshot's chunks (one load step each).
 */
export function estimateRestoreWrites(tables: Readonly<Record<string, TableCounts>>, chunks: number): RestoreWrites {
	let added = 0;
	let loaded = 0;
	for (const t of Object.values(tables)) {
		added += t.added;
		loaded += Math.max(0, t.inSnapshot - t.skippedErased);
	}
	const counters = tables.counters?.inSnapshot ?? 0;
	const fixed = RESTORE_FIXED_ROWS + RESTORE_ROWS_PER_CHUNK * chunks + 2 * counters;
	return {
		merge: added * ROWS_WRITTEN_PER_ROW + fixed,
		replace: loaded * ROWS_WRITTEN_PER_ROW + fixed + REPLACE_SWAP_ROWS,
	};
}

/** Pure: the most a restore of a snapshot with these row counts could write (no dry run yet). */
export function boundRestoreWrites(rowsByTable: Readonly<Record<string, number>>, chunks: number): RestoreWrites {
	const tables = Object.fromEntries(Object.entries(rowsByTable).map(([t, n]) => [t, { inSnapshot: n, added: n, skippedErased: 0 }]));
	const w = estimateRestoreWrites(tables, chunks);
	// Without a dry run a merge may have to add every row: it is bounded like a replace.
	return { merge: w.replace, replace: w.replace };
}

export type RestoreModeBudget = { rows: number; fits: boolean };

/** The restore's writes against today's budget, as the dry-run report and the refusal state it. */
export type RestoreBudget = {
	plan: PlanName;
	/** null on Paid: no daily limit. */
	dailyLimit: number | null;
	/** UTC day the figures are for, and the rows this application already wrote on it. */
	day: string;
	writtenToday: number;
	/** When the daily count starts again (next 00:00 UTC). */
	resetsAt: string;
	merge: RestoreModeBudget;
	replace: RestoreModeBudget;
	/** Set when merge or replace would be refused: why, and the way forward. */
	message: Words | null;
};

/** Pure: the restore's writes against the plan's daily write limit, on `now`'s UTC day. */
export function buildRestoreBudget(plan: PlanName, writes: RestoreWrites, writtenToday: number, now: Date): RestoreBudget {
	const limit = PLAN_LIMITS[plan].d1RowsWrittenPerDay;
	const day = now.toISOString().slice(0, 10);
	const resetsAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
	const fits = (rows: number) => limit === null || writtenToday + rows <= limit;
	const merge = { rows: writes.merge, fits: fits(writes.merge) };
	const replace = { rows: writes.replace, fits: fits(writes.replace) };
	const budget: RestoreBudget = { plan, dailyLimit: limit, day, writtenToday, resetsAt, merge, replace, message: null };
	if (limit !== null && (!merge.fits || !replace.fits)) budget.message = describeRestoreBudget(budget);
	return budget;
}

/** Pure: why a write restore would be refused today, and the way forward (docs/restore-runbook.md). */
export function describeRestoreBudget(b: RestoreBudget, mode?: "merge" | "replace"): Words {
	const limit = b.dailyLimit ?? 0;
	const left = Math.max(0, limit - b.writtenToday);
	const modes = (mode ? [mode] : (["merge", "replace"] as const)).filter((m) => !b[m].fits);
	const fr: string[] = [];
	const en: string[] = [];
	for (const m of modes) {
		const rows = b[m].rows;
		const frName = m === "merge" ? "Une fusion" : "Un remplacement";
		const enName = m === "merge" ? "A merge" : "A replace";
		fr.push(
			`${frName} écrirait jusqu'à ${formatCount(rows, "fr")} lignes, mais l'offre gratuite de Cloudflare n'en permet que ${formatCount(limit, "fr")} par jour et ${formatCount(b.writtenToday, "fr")} ont déjà été écrites aujourd'hui (il en reste ${formatCount(left, "fr")}) : elle serait refusée.`,
		);
		en.push(
			`${enName} would write up to ${formatCount(rows, "en")} rows, but Cloudflare's Free plan allows ${formatCount(limit, "en")} a day and ${formatCount(b.writtenToday, "en")} were already written today (${formatCount(left, "en")} left): it would be refused.`,
		);
		if (rows <= limit) {
			fr.push("Relancez-la après minuit UTC (1 h ou 2 h du matin à Paris), quand le compteur du jour repart de zéro.");
			en.push("Start it again after 00:00 UTC, when the daily count starts again from zero.");
		} else {
			fr.push(
				"Elle dépasse la limite d'une journée entière : passez le compte à l'offre payante de Cloudflare (5 $ par mois, quelques minutes dans le tableau de bord Cloudflare) puis réglez CLOUDFLARE_PLAN=paid, ou suivez la restauration dans une base neuve décrite dans docs/restore-runbook.md.",
			);
			en.push(
				"It is larger than a whole day's limit: switch the account to Cloudflare's Paid plan ($5 a month, a few minutes in the Cloudflare dashboard) and set CLOUDFLARE_PLAN=paid, or follow the restore into a fresh database in docs/restore-runbook.md.",
			);
		}
	}
	if (mode !== "merge" && b.merge.fits && !b.replace.fits) {
		fr.push(`Une fusion, qui n'ajoute que les lignes manquantes (${formatCount(b.merge.rows, "fr")}), tient dans le budget d'aujourd'hui.`);
		en.push(`A merge, which only adds the missing rows (${formatCount(b.merge.rows, "en")}), fits today's budget.`);
	}
	return { fr: fr.join(" "), en: en.join(" ") };
}
