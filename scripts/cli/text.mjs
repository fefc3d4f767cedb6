// What the command-line tool prints, in the administrator's language: LOCALE (fr by default, or
// en) and times in TIMEZONE (Europe/Paris by default), like the dashboard. Identifiers (snapshot
// and run ids) stay in UTC; sentences name backups by their local date.

export const LANG = (process.env.LOCALE ?? "fr").toLowerCase().startsWith("en") ? "en" : "fr";
export const TIMEZONE = process.env.TIMEZONE || "Europe/Paris";

const intlLocale = LANG === "en" ? "en-GB" : "fr-FR";
const numberFmt = new Intl.NumberFormat(intlLocale);
const decimalFmt = new Intl.NumberFormat(intlLocale, { maximumFractionDigits: 1 });
const dateTimeFmt = new Intl.DateTimeFormat(intlLocale, { dateStyle: "medium", timeStyle: "short", timeZone: TIMEZONE });

/** The text for the current language: `say("Bonjour", "Hello")`. */
export const say = (fr, en) => (LANG === "en" ? en : fr);

/** `1 234` (fr) or `1,234` (en). */
export const num = (n) => numberFmt.format(n ?? 0);

/** `1 sauvegarde`, `2 sauvegardes`; French treats 0 and 1 as singular. */
export function plural(n, one, many) {
	const singular = LANG === "fr" ? Math.abs(n) < 2 : n === 1;
	return `${num(n)} ${singular ? one : many}`;
}

/** Readable size: `820 o`, `12 Ko`, `3,4 Mo`, `1,2 Go` (B, KB, MB, GB in English; powers of 1024). */
export function size(bytes) {
	const units = LANG === "en" ? ["B", "KB", "MB", "GB"] : ["o", "Ko", "Mo", "Go"];
	let value = bytes ?? 0;
	let i = 0;
	while (value >= 1024 && i < units.length - 1) {
		value /= 1024;
		i++;
	}
	return `${i === 0 ? num(value) : decimalFmt.format(value)}\u00a0${units[i]}`;
}

/** Local date and time of an ISO instant: `2 déc. 2026, 23:46` (TIMEZONE). */
export const when = (iso) => (iso ? dateTimeFmt.format(new Date(iso)) : "—");

/** Hours as words: `3,5 h`, `2 jours`. */
export function age(hours) {
	if (hours == null) return "—";
	if (hours < 48) return `${decimalFmt.format(hours)} h`;
	return plural(Math.floor(hours / 24), say("jour", "day"), say("jours", "days"));
}

/**
 * An aligned table with a header line and a rule under it. `columns` is a list of
 * `{ title, align?: "left" | "right" }`; rows are arrays of strings (or numbers).
 */
export function table(columns, rows) {
	const cells = rows.map((r) => r.map((c) => (c == null ? "" : String(c))));
	const widths = columns.map((c, i) => Math.max(width(c.title), ...cells.map((r) => width(r[i] ?? ""))));
	const line = (values) =>
		values
			.map((v, i) => (columns[i].align === "right" ? pad(v, widths[i], true) : pad(v, widths[i], false)))
			.join("  ")
			.trimEnd();
	return [line(columns.map((c) => c.title)), widths.map((w) => "─".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

const width = (s) => [...s].length;
const pad = (s, w, right) => (right ? " ".repeat(w - width(s)) + s : s + " ".repeat(w - width(s)));
