// Short local dates for sentences shown to people ("3 déc. à 03 h 00", "3 Dec at 03:00"), in the
// deployment's TIMEZONE. Pure; shared by the backup's failure explanation and the restore preview.

export type Locale = "fr" | "en";

const formats = new Map<string, Intl.DateTimeFormat>();

function formatFor(locale: Locale, timeZone: string, withYear: boolean): Intl.DateTimeFormat {
	const key = `${locale}|${timeZone}|${withYear}`;
	let f = formats.get(key);
	if (!f) {
		f = new Intl.DateTimeFormat(locale === "fr" ? "fr-FR" : "en-GB", {
			timeZone,
			day: "numeric",
			month: "short",
			...(withYear ? { year: "numeric" } : {}),
			hour: "2-digit",
			minute: "2-digit",
			hourCycle: "h23",
		});
		formats.set(key, f);
	}
	return f;
}

/**
 * ISO time -> "3 déc. à 03 h 00" (fr) / "3 Dec at 03:00" (en) in `timeZone`; the year is added
 * when it differs from `now`'s ("3 déc. 2025 à 03 h 00"). An unreadable time is returned as it came.
 */
export function formatShortDateTime(iso: string, locale: Locale, timeZone: string, now?: Date): string {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return iso;
	const yearOf = (x: Date) => new Intl.DateTimeFormat("en", { timeZone, year: "numeric" }).format(x);
	const withYear = now !== undefined && yearOf(d) !== yearOf(now);
	const parts = formatFor(locale, timeZone, withYear).formatToParts(d);
	const p = (type: Intl.DateTimeFormatPartTypes) => parts.find((x) => x.type === type)?.value ?? "";
	const date = [p("day"), p("month"), ...(withYear ? [p("year")] : [])].join(" ");
	// No-break spaces: "03 h 00" never breaks over two lines.
	return locale === "fr" ? `${date} à ${p("hour")}\u00a0h\u00a0${p("minute")}` : `${date} at ${p("hour")}:${p("minute")}`;
}

/** Seconds as words: "45 s", "3 min 05 s", "1 h 02 min". */
export function formatElapsed(seconds: number): string {
	const s = Math.max(0, Math.round(seconds));
	if (s < 60) return `${s}\u00a0s`;
	if (s < 3600) return `${Math.floor(s / 60)}\u00a0min\u00a0${String(s % 60).padStart(2, "0")}\u00a0s`;
	return `${Math.floor(s / 3600)}\u00a0h\u00a0${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}\u00a0min`;
}
