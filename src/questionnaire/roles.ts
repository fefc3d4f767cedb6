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
