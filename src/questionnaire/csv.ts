// The CSV export of submissions, as pure functions: one column per question of the definition,
// RFC 4180 quoting, CRLF line ends, and cells neutralised against spreadsheet formula injection.
import { SUBMISSION_META_COLUMNS, type Questionnaire } from "./definition";
import type { Locale } from "./validate";

/** Written first so that Excel reads the file as UTF-8 (accents intact). */
export const CSV_BOM = "\uFEFF";

/** A cell starting with one of these would be run as a formula by Excel, LibreOffice or Sheets. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell: text that a spreadsheet would take for a formula gets a leading apostrophe (shown
 * as text, never evaluated), then the cell is quoted when it holds a comma, a quote or a line
 * break, with inner quotes doubled (RFC 4180).
 */
export function escapeCsvCell(value: string): string {
	const safe = FORMULA_START.test(value) ? `'${value}` : value;
	return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One CSV line, CRLF-terminated. */
export function buildCsvLine(cells: string[]): string {
	return `${cells.map(escapeCsvCell).join(",")}\r\n`;
}

/** The header: the submission's own columns, then each question id in definition order. */
export function buildCsvHeader(def: Questionnaire): string {
	return buildCsvLine([...SUBMISSION_META_COLUMNS, ...def.questions.map((q) => q.id)]);
}

/** A stored submission, as the export needs it. `answers` is the stored JSON text. */
export type CsvSubmission = {
	id: string;
	received_at: string;
	questionnaire_version: string;
	role_label: string | null;
	answers: string;
};

const YES_NO: Record<Locale, [string, string]> = { fr: ["oui", "non"], en: ["yes", "no"] };

/** One answer as cell text: ticked options joined with "; ", consent as oui/non (yes/no). */
function formatAnswer(value: unknown, locale: Locale): string {
	if (value === undefined || value === null) return "";
	if (typeof value === "boolean") return YES_NO[locale][value ? 0 : 1];
	if (Array.isArray(value)) return value.map(String).join("; ");
	if (typeof value === "object") return JSON.stringify(value);
	return String(value);
}

/**
 * One data line. Answers to questions no longer in the definition are left out (they stay in
 * the JSON listing); questions added since the submission give empty cells.
 */
export function buildCsvRecord(def: Questionnaire, row: CsvSubmission, locale: Locale): string {
	let answers: Record<string, unknown>;
	try {
		answers = JSON.parse(row.answers) as Record<string, unknown>;
	} catch {
		// Not JSON.parse's message: it quotes the start of the answers (personal data) into the log.
		throw new Error(`stored answers of submission ${row.id} are not valid JSON`);
	}
	return buildCsvLine([
		row.id,
		row.received_at,
		row.questionnaire_version,
		row.role_label ?? "",
		...def.questions.map((q) => formatAnswer(Object.hasOwn(answers, q.id) ? answers[q.id] : undefined, locale)),
	]);
}
