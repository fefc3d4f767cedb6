// "Every visible text of a French page is French": the French catalogue of the public pages (their
// interface texts, the questionnaire definition, its validation messages) and a check that
// collects the text a person sees on a page in chromium and returns whatever the catalogue does
// not account for. Numbers, punctuation and the configured contact address are neutral.
import type { Page } from "playwright-core";
import { buildFrenchSpacing } from "../src/http/pages/form";
import { textsFor } from "../src/http/pages/texts";
import { questionnaire, type Label } from "../src/questionnaire/definition";
import { MESSAGES } from "../src/questionnaire/validate";

/** Stands for a function's argument, so that its fixed text can be cut out around it. */
const MARK = "\u0001";

/** Arguments tried on every function of a catalogue: a marker, and a few real numbers and words. */
const ARGUMENT_SETS: unknown[][] = [[MARK, MARK, MARK], [1, 1], [2, 2], [30], [60], [120], [12]];

/** Every fixed piece of text of a catalogue value: strings, and the fixed parts of what functions return. */
function pieces(value: unknown): string[] {
	if (typeof value === "string") return [value];
	if (typeof value === "function") {
		const out: string[] = [];
		for (const args of ARGUMENT_SETS) {
			let result: unknown;
			try {
				result = (value as (...a: unknown[]) => unknown)(...args);
			} catch {
				continue;
			}
			if (typeof result === "string") out.push(...result.split(MARK));
		}
		return out;
	}
	if (value && typeof value === "object") return Object.values(value).flatMap(pieces);
	return [];
}

/** Every French text of the questionnaire definition, spaced as the page shows it. */
function definitionTexts(): string[] {
	const labels: Label[] = [questionnaire.title, questionnaire.intro];
	for (const q of questionnaire.questions) {
		labels.push(q.label);
		if (q.help) labels.push(q.help);
		if (q.shortLabel) labels.push(q.shortLabel);
		if (q.type === "single_choice" || q.type === "multiple_choice") labels.push(...q.options.map((o) => o.label));
		if (q.type === "scale") labels.push(...[q.minLabel, q.maxLabel].filter((l): l is Label => l !== undefined));
		if (q.type === "role") labels.push(...(q.suggestions ?? []));
	}
	return labels.flatMap((l) => [l.fr, buildFrenchSpacing(l.fr)]);
}

const normalise = (s: string) => s.replace(/[\s\u00a0\u202f]+/g, " ").trim();

/** The French catalogue's pieces, longest first (so that a long piece is removed before its parts). */
export function buildFrenchCatalogue(): string[] {
	const all = [...pieces(textsFor("fr")), ...definitionTexts(), ...pieces(MESSAGES.fr)].map(normalise).filter((s) => s.length >= 3);
	return [...new Set(all)].sort((a, b) => b.length - a.length);
}

/** What may remain of a text once the catalogue's pieces are removed: numbers, punctuation, spaces. */
const NEUTRAL = /^[\s\d#.,:;!?'’"«»()[\]*=\-–—…·%/+]*$/u;

/**
 * Pure: the texts not accounted for by the catalogue. A text passes when it is part of one
 * catalogue piece, or when removing catalogue pieces (and `allowed` values such as the contact
 * address) leaves only neutral characters.
 */
export function findForeignTexts(texts: readonly string[], catalogue: readonly string[], allowed: readonly string[] = []): string[] {
	const foreign: string[] = [];
	for (const raw of texts) {
		const text = normalise(raw);
		if (text === "" || NEUTRAL.test(text)) continue;
		if (catalogue.some((piece) => piece.includes(text))) continue;
		let rest = text;
		for (const piece of [...allowed, ...catalogue]) if (rest.includes(piece)) rest = rest.split(piece).join(" ");
		if (!NEUTRAL.test(rest)) foreign.push(text);
	}
	return foreign;
}

/** The text a person sees on the page (and its title): visible text nodes, not form values. */
export async function collectVisibleTexts(page: Page): Promise<string[]> {
	return page.evaluate(() => {
		const out = [document.title];
		const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let node = walker.nextNode(); node; node = walker.nextNode()) {
			const el = node.parentElement;
			if (!el || el.closest("script, style, template, noscript, datalist, option, textarea")) continue;
			if (!el.checkVisibility({ visibilityProperty: true })) continue;
			const text = (node.textContent ?? "").trim();
			if (text) out.push(text);
		}
		return out;
	});
}

// ---------------------------------------------------------------------------------------------
// The dashboard (public/admin/admin.js): its French catalogue is the page's own TEXT.fr and
// ROLE_TEXT.fr, read from the running page; a backup's date and a size are neutral.

/** Every fixed piece of a dashboard catalogue: `{name}` placeholders and line breaks cut it. */
export function buildDashboardCatalogue(texts: unknown): string[] {
	const all = pieces(texts)
		.flatMap((s) => s.split(/\{\w+\}|\n/))
		.map(normalise)
		.filter((s) => s.length >= 2);
	return [...new Set([...all, ...buildFrenchCatalogue()])].sort((a, b) => b.length - a.length);
}

/** French month names and abbreviations (dates are shown as `2 déc. 2026, 03:00`). */
export function frenchMonthWords(): string[] {
	const out = new Set<string>();
	for (let m = 0; m < 12; m++) {
		const d = new Date(Date.UTC(2026, m, 15));
		for (const month of ["long", "short"] as const) out.add(new Intl.DateTimeFormat("fr-FR", { month, timeZone: "UTC" }).format(d));
	}
	return [...out].sort((a, b) => b.length - a.length);
}

/** Words French never puts after 0 or 1 in the plural: `1 morceaux`, `0 sauvegardes`, `(s)`. */
const INVARIABLE = new Set(["mois", "fois", "pas", "plus", "temps", "prix", "choix", "avis", "accès", "cas"]);

/** Pure: the plural mistakes of a text: a plural noun after 0 or 1, or a lazy `(s)`. */
export function findPluralMistakes(texts: readonly string[]): string[] {
	const found: string[] = [];
	for (const raw of texts) {
		const text = normalise(raw);
		if (/\p{L}\((s|x|es)\)/u.test(text)) found.push(text);
		for (const m of text.matchAll(/(?<![\d,.])\b[01] (\p{L}+[sx])\b/gu)) if (!INVARIABLE.has(m[1]!.toLowerCase())) found.push(m[0]);
	}
	return found;
}

/** Pure: units a French page must not show (Kio, Mio, KB, MB…): sizes are in o, Ko, Mo, Go. */
export function findForeignUnits(texts: readonly string[]): string[] {
	return texts.flatMap((t) => [...normalise(t).matchAll(/\d+(?:[,.]\d+)?\s?(Kio|Mio|Gio|KiB|MiB|GiB|KB|MB|GB|kB)\b/g)].map((m) => m[0]));
}

/**
 * Pure: a text with its French dates (`3 déc. 2026, 06:31`, `décembre 2026`) and sizes (`204 o`,
 * `3,4 Mo`) replaced by `#`, so that only words are left for the catalogue to account for.
 */
export function neutraliseDatesAndSizes(text: string): string {
	const months = frenchMonthWords()
		.map((m) => m.replace(/\./g, "\\."))
		.join("|");
	return normalise(text)
		.replace(new RegExp(`(?<![\\p{L}])(\\d{1,2} )?(${months})(?![\\p{L}])( \\d{4})?(, \\d{2}:\\d{2})?`, "gu"), "#")
		.replace(/\d+(?:,\d+)? (o|Ko|Mo|Go)(?![\p{L}])/gu, "#");
}
