// Dynamic roles typed by respondents: the label a person sees and the key that deduplicates them.
// Pure: "formateur", " Formateur ", "FORMATEUR" and "Formatéur" are one role (one key).

/** Hard limit on a role label, in characters (code points), whatever the definition says. */
export const ROLE_MAX_LENGTH = 120;

/** Whitespace of any kind (tabs, newlines, no-break and thin spaces…). */
const SPACES = /[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+/gu;
/**
 * Invisible characters that would make two identical-looking roles differ: every format character
 * (zero-width spaces and joiners, soft hyphen, BOM, bidi marks, embeddings and isolates) and every
 * control character.
 */
const INVISIBLE = /\p{Cf}|\p{Cc}/gu;
/** Accents and other combining marks, once the text is decomposed (NFKD). */
const MARKS = /\p{M}/gu;

/**
 * The label to show and store for what someone typed: Unicode NFC, invisible characters removed,
 * every run of whitespace collapsed to one space, trimmed, then cut to `maxLength` characters
 * (never in the middle of a character). An empty result means "no role".
 */
export function normaliseRoleLabel(raw: string, maxLength: number = ROLE_MAX_LENGTH): string {
	const collapsed = raw
		.normalize("NFC")
		.replace(SPACES, " ")
		.replace(INVISIBLE, "")
		.replace(/ {2,}/g, " ")
		.trim();
	const chars = [...collapsed];
	return chars.length <= maxLength ? collapsed : chars.slice(0, maxLength).join("").trimEnd();
}

/**
 * The deduplication key of a role: its normalised label without case, accents, ligatures or
 * typographic variants of apostrophes and dashes. Two labels are the same role exactly when their
 * keys are equal; the stored label is the first spelling seen for that key.
 */
export function buildRoleKey(label: string): string {
	return normaliseRoleLabel(label)
		.normalize("NFKD")
		.replace(MARKS, "")
		.toLowerCase()
		.replace(/œ/g, "oe")
		.replace(/æ/g, "ae")
		.replace(/ß/g, "ss")
		.replace(/[\u2018\u2019\u02bc\u00b4`]/g, "'")
		.replace(/[\u2010-\u2015\u2212]/g, "-")
		.normalize("NFC");
}

/** The role of one answer: what to store as the label (if new) and the key it counts under. */
export type RoleRef = { key: string; label: string };

/** Pure: the role for a typed value, or undefined when nothing remains after normalisation. */
export function buildRoleRef(raw: string, maxLength?: number): RoleRef | undefined {
	const label = normaliseRoleLabel(raw, maxLength);
	if (label === "") return undefined;
	const key = buildRoleKey(label);
	// Only accents (combining marks) left: nothing a person could read, so no role.
	if (key === "") return undefined;
	return { key, label };
}

// ---------------------------------------------------------------------------------------------
// Suggestions: what other respondents are offered in the role picker (issue 13.3). A role typed
// by respondents is suggested only once enough distinct respondents used it, or once an
// administrator approved it; the roles the questionnaire itself suggests always are.

/** A text in French and, optionally, English (the questionnaire's Label, kept structural here). */
type LocalLabel = { fr: string; en?: string };

/** A role the questionnaire suggests: its key, its stored (French) label, and the keys that mean it. */
export type PredefinedRole = { key: string; label: LocalLabel; aliases: Set<string> };

/** Pure: the questionnaire's suggested roles; typing one in French or English means that role. */
export function buildPredefinedRoles(suggestions: readonly LocalLabel[] | undefined): PredefinedRole[] {
	const roles: PredefinedRole[] = [];
	const seen = new Set<string>();
	for (const label of suggestions ?? []) {
		const fr = buildRoleRef(label.fr);
		if (!fr || seen.has(fr.key)) continue;
		seen.add(fr.key);
		const aliases = new Set([fr.key]);
		const en = label.en === undefined ? undefined : buildRoleRef(label.en);
		if (en) aliases.add(en.key);
		roles.push({ key: fr.key, label: { fr: fr.label, ...(en ? { en: en.label } : {}) }, aliases });
	}
	return roles;
}

/**
 * Pure: the role of a typed answer, knowing the questionnaire's suggestions: "Owner" typed on the
 * English page counts as the suggested "Propriétaire" (its key and French label), so one role is
 * not split by the language of the page. Anything else is buildRoleRef's role.
 */
export function buildAnsweredRole(raw: string, suggestions?: readonly LocalLabel[]): RoleRef | undefined {
	const typed = buildRoleRef(raw);
	if (!typed) return undefined;
	const predefined = buildPredefinedRoles(suggestions).find((p) => p.aliases.has(typed.key));
	return predefined ? { key: predefined.key, label: predefined.label.fr } : typed;
}

/** Why a role is suggested: the questionnaire lists it, the administrator approved it, or enough respondents use it. */
export type SuggestionSource = "questionnaire" | "approved" | "shared";

export type RoleSuggestion = { key: string; label: string; source: SuggestionSource };

/**
 * Pure: the suggestions shown in `locale`: the questionnaire's roles first (in its order, in the
 * page's language), then the stored roles that passed the rule, as given (most used first), minus
 * any that is one of the questionnaire's under another spelling; at most `limit`.
 */
export function buildRoleSuggestions(input: {
	predefined: readonly PredefinedRole[];
	stored: readonly { key: string; label: string; approved: boolean }[];
	locale: "fr" | "en";
	limit: number;
}): RoleSuggestion[] {
	const out: RoleSuggestion[] = [];
	const taken = new Set<string>();
	for (const p of input.predefined) {
		for (const k of p.aliases) taken.add(k);
		out.push({ key: p.key, label: (input.locale === "en" ? p.label.en : undefined) ?? p.label.fr, source: "questionnaire" });
	}
	for (const r of input.stored) {
		if (taken.has(r.key)) continue;
		taken.add(r.key);
		out.push({ key: r.key, label: r.label, source: r.approved ? "approved" : "shared" });
	}
	return out.slice(0, input.limit);
}
