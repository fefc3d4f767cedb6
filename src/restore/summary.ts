// The restore preview's conclusion, in words: one sentence per mode computed from the dry-run
// report (answers first, then the other tables a person knows), the backup named by its local
// date, and the confirmation texts that repeat the same numbers. Pure; computed once on the
// server so that the dashboard and the CLI say exactly the same thing.
import { formatShortDateTime, type Locale } from "../local-time";

export type Words = { fr: string; en: string };

/** What this module reads of a dry-run report (src/jobs/restore-workflow.ts). */
export type DryRunCounts = {
	tables: Record<string, { inSnapshot?: number; added?: number; differ?: number; disappear?: number; skippedErased?: number }>;
	/** Received time of the oldest answer a replace would remove, when the dry run could tell. */
	oldestRemovedAt?: string;
	rejected?: { total: number };
};

export type RestoreSummary = Words & {
	/** Each mode's sentence alone (conditional: "would"). */
	merge: Words;
	replace: Words;
	/** The confirmation of each mode, repeating its numbers (future: "will"). */
	confirm: { merge: Words; replace: Words };
	/** True when a merge or a replace would be refused (rows failing their checks). */
	blocked: boolean;
};

type Noun = { one: string; many: string };

/** The tables named in sentences, answers first; the others are internal and never named. */
const NOUNS: Record<Locale, Array<[string, Noun]>> = {
	fr: [
		["submissions", { one: "réponse", many: "réponses" }],
		["roles", { one: "rôle", many: "rôles" }],
		["erasures", { one: "demande d'effacement", many: "demandes d'effacement" }],
	],
	en: [
		["submissions", { one: "answer", many: "answers" }],
		["roles", { one: "role", many: "roles" }],
		["erasures", { one: "erasure request", many: "erasure requests" }],
	],
};

function count(n: number, noun: Noun, locale: Locale): string {
	const digits = new Intl.NumberFormat(locale === "fr" ? "fr-FR" : "en-GB").format(n);
	const singular = locale === "fr" ? n < 2 : n === 1;
	return `${digits} ${singular ? noun.one : noun.many}`;
}

/** "a", "a et b", "a, b et c" (fr) / "a, b and c" (en). */
function joinWords(items: string[], locale: Locale): string {
	if (items.length <= 1) return items.join("");
	return `${items.slice(0, -1).join(", ")} ${locale === "fr" ? "et" : "and"} ${items.at(-1)}`;
}

/** Pure: "2026-11-25T020000Z-abc" -> "2026-11-25T02:00:00Z" (undefined if not a snapshot id). */
export function snapshotTimeOf(snapshotId: string): string | undefined {
	const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(snapshotId);
	return m ? `${m[1]}T${m[2]}:${m[3]}:${m[4]}Z` : undefined;
}

type Tense = "would" | "will";

const VERBS: Record<Locale, Record<Tense, { remove: string; add: string; change: string; addNothing: string; nothing: string }>> = {
	fr: {
		would: { remove: "supprimerait", add: "ajouterait", change: "modifierait", addNothing: "n'ajouterait rien", nothing: "ne changerait rien" },
		will: { remove: "supprimera", add: "ajoutera", change: "modifiera", addNothing: "n'ajoutera rien", nothing: "ne changera rien" },
	},
	en: {
		would: { remove: "would remove", add: "would add", change: "would change", addNothing: "would add nothing", nothing: "would change nothing" },
		will: { remove: "will remove", add: "will add", change: "will change", addNothing: "will add nothing", nothing: "will change nothing" },
	},
};

/**
 * Pure: the preview's conclusion. E.g. « Sauvegarde du 2 déc. à 03 h 00 (120 réponses). Remplacer
 * supprimerait 3 réponses reçues depuis le 2 déc. à 23 h 46 et n'ajouterait rien. Fusionner
 * n'ajouterait rien : tout ce que contient la sauvegarde est déjà là. »
 */
export function buildRestoreSummary(snapshotId: string, report: DryRunCounts, timeZone: string, now: Date): RestoreSummary {
	const at = snapshotTimeOf(snapshotId);
	const blocked = (report.rejected?.total ?? 0) > 0;
	const tables = report.tables ?? {};
	const n = (table: string, k: "inSnapshot" | "added" | "differ" | "disappear" | "skippedErased") => Math.max(0, tables[table]?.[k] ?? 0);

	const items = (locale: Locale, k: "added" | "differ" | "disappear") =>
		NOUNS[locale].flatMap(([table, noun]) => {
			const x = n(table, k);
			if (x === 0) return [];
			let text = count(x, noun, locale);
			if (table === "submissions" && k === "disappear" && report.oldestRemovedAt) {
				const since = formatShortDateTime(report.oldestRemovedAt, locale, timeZone, now);
				text += locale === "fr" ? ` reçue${x >= 2 ? "s" : ""} depuis le ${since}` : ` received since ${since}`;
			}
			return [text];
		});

	const replaceText = (locale: Locale, tense: Tense): string => {
		const v = VERBS[locale][tense];
		const subject = locale === "fr" ? "Remplacer" : "Replacing";
		const removed = items(locale, "disappear");
		const added = items(locale, "added");
		const changed = items(locale, "differ");
		const clauses: string[] = [];
		if (removed.length) clauses.push(`${v.remove} ${joinWords(removed, locale)}`);
		if (added.length) clauses.push(`${v.add} ${joinWords(added, locale)}`);
		else if (removed.length) clauses.push(v.addNothing);
		if (changed.length) clauses.push(`${v.change} ${joinWords(changed, locale)}`);
		if (clauses.length === 0) {
			return locale === "fr"
				? `${subject} ${v.nothing} : les données actuelles sont déjà celles de la sauvegarde.`
				: `${subject} ${v.nothing}: the current data is already the backup's.`;
		}
		// "supprimerait 1 réponse et 1 rôle, et n'ajouterait rien": a comma when a clause has its own "et".
		const and = locale === "fr" ? " et " : " and ";
		const joined = clauses.length === 2 && clauses.some((c) => c.includes(and)) ? clauses.join(`,${and}`) : joinWords(clauses, locale);
		return `${subject} ${joined}.`;
	};

	const mergeText = (locale: Locale, tense: Tense): string => {
		const v = VERBS[locale][tense];
		const subject = locale === "fr" ? "Fusionner" : "Merging";
		const added = items(locale, "added");
		if (added.length === 0) {
			return locale === "fr"
				? `${subject} ${v.addNothing} : tout ce que contient la sauvegarde est déjà là.`
				: `${subject} ${v.addNothing}: everything in the backup is already there.`;
		}
		return locale === "fr"
			? `${subject} ${v.add} ${joinWords(added, locale)}, sans rien supprimer ni modifier.`
			: `${subject} ${v.add} ${joinWords(added, locale)}, without removing or changing anything.`;
	};

	const say = (locale: Locale): string => {
		const when = at ? formatShortDateTime(at, locale, timeZone, now) : snapshotId;
		const answers = count(n("submissions", "inSnapshot"), NOUNS[locale][0]![1], locale);
		const head = locale === "fr" ? `Sauvegarde du ${when} (${answers}).` : `Backup of ${when} (${answers}).`;
		const erased = n("submissions", "skippedErased");
		const erasedText =
			erased === 0
				? ""
				: locale === "fr"
					? ` ${count(erased, { one: "réponse effacée", many: "réponses effacées" }, locale)} à la demande de ${erased >= 2 ? "leurs auteurs" : "son auteur"} ne ${erased >= 2 ? "seraient" : "serait"} jamais restaurée${erased >= 2 ? "s" : ""}.`
					: ` ${count(erased, { one: "answer", many: "answers" }, locale)} erased on request would never be restored.`;
		if (blocked) {
			const total = report.rejected!.total;
			return locale === "fr"
				? `${head} Cette sauvegarde ne peut être ni fusionnée ni remise en place : ${count(total, { one: "ligne ne passe", many: "lignes ne passent" }, locale)} pas le contrôle des lignes. Choisissez une autre sauvegarde.`
				: `${head} This backup can be neither merged nor put back: ${count(total, { one: "row fails", many: "rows fail" }, locale)} the row checks. Choose another backup.`;
		}
		return `${head} ${replaceText(locale, "would")} ${mergeText(locale, "would")}${erasedText}`;
	};

	const confirmReplace = (locale: Locale): string => {
		const when = at ? formatShortDateTime(at, locale, timeZone, now) : snapshotId;
		return locale === "fr"
			? `Remplacer toutes les données par la sauvegarde du ${when} ?\n\n${replaceText(locale, "will")}\n\nLes données actuelles sont gardées : le remplacement peut être annulé jusqu'à la prochaine sauvegarde réussie.`
			: `Replace all data with the backup of ${when}?\n\n${replaceText(locale, "will")}\n\nThe current data is kept: the replace can be undone until the next successful backup.`;
	};
	const confirmMerge = (locale: Locale): string => {
		const when = at ? formatShortDateTime(at, locale, timeZone, now) : snapshotId;
		return locale === "fr"
			? `Fusionner la sauvegarde du ${when} avec les données actuelles ?\n\n${mergeText(locale, "will")}`
			: `Merge the backup of ${when} into the current data?\n\n${mergeText(locale, "will")}`;
	};

	return {
		fr: say("fr"),
		en: say("en"),
		merge: { fr: mergeText("fr", "would"), en: mergeText("en", "would") },
		replace: { fr: replaceText("fr", "would"), en: replaceText("en", "would") },
		confirm: {
			merge: { fr: confirmMerge("fr"), en: confirmMerge("en") },
			replace: { fr: confirmReplace("fr"), en: confirmReplace("en") },
		},
		blocked,
	};
}
