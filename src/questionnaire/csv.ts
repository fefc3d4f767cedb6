// The CSV export of submissions, as pure functions. Two formats:
// - "excel" (the default): what an administrator opens in Excel — `;` between columns in French
//   (what French Excel expects), `,` in English; the questions' own labels as headers; answers as
//   their labels; the date and time in the configured time zone; one role column.
// - "raw": for tools — `,`, the question ids as headers, the stored values and UTC ISO times.
// Both: UTF-8 with a BOM, CRLF line ends, RFC 4180 quoting, and no cell that a spreadsheet could
// run as a formula, whichever of `,` and `;` it splits the file on.
import { labelFor, SUBMISSION_META_COLUMNS, type Question, type Questionnaire } from "./definition";
import type { Locale } from "./validate";

/** Written first so that Excel reads the file as UTF-8 (accents intact). */
export const CSV_BOM = "\uFEFF";

export const CSV_FORMATS = ["excel", "raw"] as const;
export type CsvFormat = (typeof CSV_FORMATS)[number];

/** How to write the export. `timeZone` is an IANA name (config TIMEZONE, default Europe/Paris). */
export type CsvOptions = { format: CsvFormat; locale: Locale; timeZone: string };

export const DEFAULT_TIME_ZONE = "Europe/Paris";

/** The column separator: `;` for the French spreadsheet format, `,` otherwise. */
export function csvSeparator(options: Pick<CsvOptions, "format" | "locale">): "," | ";" {
	return options.format === "excel" && options.locale === "fr" ? ";" : ",";
}

/** A cell starting with one of these would be run as a formula by Excel, LibreOffice or Sheets. */
const FORMULA_START = /^[=+\-@\t\r]/;
/**
 * A cell holding one of these is quoted. Both separators always are, whichever the file uses: a
 * spreadsheet that splits the file on the other one (French Excel opening a `,` file, say) then
 * still keeps the cell whole, and nothing after a separator inside it can start a formula.
 */
const NEEDS_QUOTES = /[",;\r\n]/;

/**
 * One CSV cell: text that a spreadsheet would take for a formula gets a leading apostrophe (shown
 * as text, never evaluated), then the cell is quoted when it holds a comma, a semicolon, a quote
 * or a line break, with inner quotes doubled (RFC 4180).
 */
export function escapeCsvCell(value: string): string {
	const safe = FORMULA_START.test(value) ? `'${value}` : value;
	return NEEDS_QUOTES.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One CSV line, CRLF-terminated. */
export function buildCsvLine(cells: string[], separator: "," | ";" = ","): string {
	return `${cells.map(escapeCsvCell).join(separator)}\r\n`;
}

const WORDS: Record<Locale, { id: string; received: string; version: string; yes: string; no: string }> = {
	fr: { id: "Identifiant", received: "Reçue le", version: "Version du questionnaire", yes: "oui", no: "non" },
	en: { id: "Id", received: "Received", version: "Questionnaire version", yes: "yes", no: "no" },
};

/**
 * The header. raw: the submission's own columns, then each question id in definition order.
 * excel: id, date received (with its time zone), each question's label, questionnaire version.
 */
export function buildCsvHeader(def: Questionnaire, options: CsvOptions): string {
	const separator = csvSeparator(options);
	if (options.format === "raw") return buildCsvLine([...SUBMISSION_META_COLUMNS, ...def.questions.map((q) => q.id)], separator);
	const w = WORDS[options.locale];
	return buildCsvLine(
		[w.id, `${w.received} (${options.timeZone})`, ...def.questions.map((q) => labelFor(q.label, options.locale)), w.version],
		separator,
	);
}

/** A stored submission, as the export needs it. `answers` is the stored JSON text. */
export type CsvSubmission = {
	id: string;
	received_at: string;
	questionnaire_version: string;
	role_label: string | null;
	answers: string;
};

/** One answer as raw cell text: ticked options joined with "; ", consent as oui/non (yes/no). */
function formatRawAnswer(value: unknown, locale: Locale): string {
	if (value === undefined || value === null) return "";
	if (typeof value === "boolean") return value ? WORDS[locale].yes : WORDS[locale].no;
	if (Array.isArray(value)) return value.map(String).join("; ");
	if (typeof value === "object") return JSON.stringify(value);
	return String(value);
}

/**
 * One answer as a person reads it: choices by their label in `locale` (an option no longer in the
 * definition keeps its stored value), the role by its shared label (the one GET /api/roles shows).
 */
function formatAnswer(q: Question, value: unknown, row: CsvSubmission, locale: Locale): string {
	if (q.type === "role") return row.role_label ?? formatRawAnswer(value, locale);
	if ((q.type === "single_choice" || q.type === "multiple_choice") && value !== undefined && value !== null) {
		const label = (v: unknown) => {
			const option = q.options.find((o) => o.value === v);
			return option ? labelFor(option.label, locale) : String(v);
		};
		return Array.isArray(value) ? value.map(label).join("; ") : label(value);
	}
	return formatRawAnswer(value, locale);
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The time zone's date and time parts at `date`, through Intl (exact, and costly: ~5 µs). */
function zonedParts(date: Date, timeZone: string): Record<string, string> {
	let format = dateFormats.get(timeZone);
	if (!format) {
		format = new Intl.DateTimeFormat("en-GB", {
			timeZone,
			year: "numeric",
			month: "2-digit",
			day: "2-digit",
			hour: "2-digit",
			minute: "2-digit",
			second: "2-digit",
			hourCycle: "h23",
		});
		dateFormats.set(timeZone, format);
	}
	return Object.fromEntries(format.formatToParts(date).map((x) => [x.type, x.value]));
}

const QUARTER_HOUR = 900_000;
/**
 * The zone's offset from UTC, by time zone and UTC quarter hour. Since 1980 every zone's offset is
 * a whole number of quarter hours and changes only on a UTC quarter hour, so one Intl call per
 * quarter hour gives every instant in it: an export of many rows pays ~5 µs per quarter hour
 * instead of per row. Bounded: cleared when it grows past a few thousand entries.
 */
const offsets = new Map<string, number>();
const OFFSETS_MAX = 4096;
const SINCE_1980 = Date.UTC(1980, 0, 1);

function zoneOffsetMs(ms: number, timeZone: string): number {
	const bucket = Math.floor(ms / QUARTER_HOUR) * QUARTER_HOUR;
	const key = `${timeZone} ${bucket}`;
	let offset = offsets.get(key);
	if (offset === undefined) {
		const p = zonedParts(new Date(bucket), timeZone);
		offset = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - bucket;
		if (offsets.size >= OFFSETS_MAX) offsets.clear();
		offsets.set(key, offset);
	}
	return offset;
}

const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/**
 * An ISO 8601 UTC time as local date and time in `timeZone`, written the way a spreadsheet of
 * that language reads it as a date: `25/11/2026 11:00:00` (fr), `2026-11-25 11:00:00` (en).
 * Text that is not a date is returned as it is.
 */
export function formatLocalDateTime(iso: string, timeZone: string, locale: Locale): string {
	const date = new Date(iso);
	const ms = date.getTime();
	if (Number.isNaN(ms)) return iso;
	let year: string, month: string, day: string, time: string;
	if (ms >= SINCE_1980 && ms < Date.UTC(10000, 0, 1)) {
		const local = new Date(Math.floor(ms / 1000) * 1000 + zoneOffsetMs(ms, timeZone));
		year = String(local.getUTCFullYear());
		month = two(local.getUTCMonth() + 1);
		day = two(local.getUTCDate());
		time = `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}`;
	} else {
		const p = zonedParts(date, timeZone);
		[year, month, day, time] = [p.year!, p.month!, p.day!, `${p.hour}:${p.minute}:${p.second}`];
	}
	return locale === "fr" ? `${day}/${month}/${year} ${time}` : `${year}-${month}-${day} ${time}`;
}

/**
 * One data line. Answers to questions no longer in the definition are left out (they stay in
 * the JSON listing); questions added since the submission give empty cells.
 */
export function buildCsvRecord(def: Questionnaire, row: CsvSubmission, options: CsvOptions): string {
	let answers: Record<string, unknown>;
	try {
		answers = JSON.parse(row.answers) as Record<string, unknown>;
	} catch {
		// Not JSON.parse's message: it quotes the start of the answers (personal data) into the log.
		throw new Error(`stored answers of submission ${row.id} are not valid JSON`);
	}
	const answerOf = (q: Question) => (Object.hasOwn(answers, q.id) ? answers[q.id] : undefined);
	const separator = csvSeparator(options);
	if (options.format === "raw") {
		return buildCsvLine(
			[
				row.id,
				row.received_at,
				row.questionnaire_version,
				row.role_label ?? "",
				...def.questions.map((q) => formatRawAnswer(answerOf(q), options.locale)),
			],
			separator,
		);
	}
	return buildCsvLine(
		[
			row.id,
			formatLocalDateTime(row.received_at, options.timeZone, options.locale),
			...def.questions.map((q) => formatAnswer(q, answerOf(q), row, options.locale)),
			row.questionnaire_version,
		],
		separator,
	);
}

/** The download's name: `reponses-2026-11-25.csv` (fr), `answers-…` (en), `submissions-…` (raw), local date. */
export function buildCsvFileName(options: CsvOptions, now: Date): string {
	const day = new Intl.DateTimeFormat("en-CA", { timeZone: options.timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
	const stem = options.format === "raw" ? "submissions" : options.locale === "fr" ? "reponses" : "answers";
	return `${stem}-${day}.csv`;
}
