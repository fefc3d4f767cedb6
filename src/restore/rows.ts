// The row checks of a restore, pure and table-driven: every snapshot row of a restored table is
// checked against its table (types, NOT NULL, JSON columns, ids, seq within the manifest's bound,
// timestamps not in the future) in the verification pass, before anything is written. The rules
// are written out in docs/restore-runbook.md ("Contrôle des lignes"); keep both in step.
import type { Question, Questionnaire } from "../questionnaire/definition";
import { ROLE_MAX_LENGTH } from "../questionnaire/roles";
import type { Cell, Row } from "../snapshots/format";

/** What a row is checked against besides its table: the run's time, the manifest, the definitions. */
export type RowCheckContext = {
	/** The restore run's time (ms since epoch): no timestamp may be later (beyond CLOCK_SKEW_MS). */
	now: number;
	/** manifest.tables[t].bound for every table (null or absent: the manifest records none). */
	bounds: Readonly<Record<string, number | null | undefined>>;
	/** Questionnaire definitions by version: answers of these versions must fit their definition. */
	definitions: ReadonlyMap<string, Questionnaire>;
};

/** Clocks of two Cloudflare machines may differ a little: a row up to a minute ahead is accepted. */
export const CLOCK_SKEW_MS = 60_000;

/**
 * Highest seq a restore accepts whatever the bound says: the largest integer JavaScript (the
 * export's cursors) reads exactly. SQLite's AUTOINCREMENT stops at 2^63 − 1, far above it, so a
 * restored row can never exhaust the sequence of the table it lands in.
 */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * Ids (submissions, erasures): 1–100 characters of [A-Za-z0-9._:-], starting with a letter or
 * digit. The Worker writes UUIDs and `erasure-…` ids; the shape is what stays safe in a URL, a CSV
 * cell, a log line and an HTML attribute, with the length the erasure API accepts.
 */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
/** ISO 8601 UTC as `Date.prototype.toISOString` writes it (milliseconds optional). */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
const HEX = /^[0-9a-f]+$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Question ids, as the definition allows them (findDefinitionProblems). */
const ANSWER_KEY = /^[a-z][a-z0-9_]{0,62}$/;
/** Control and invisible format characters: never in a role key or label shown to people. */
const INVISIBLE = /[\p{Cc}\p{Cf}]/u;
/** Column names that may be quoted back in a reason (they are identifiers, not data). */
const COLUMN_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Largest JSON text accepted in `answers`/`validation`/`submission_ids` (characters). */
const MAX_JSON_CHARS = 200_000;
/** Answers of a version without a definition: at most this many keys, values this long. */
const GENERIC_MAX_KEYS = 200;
const GENERIC_MAX_TEXT = 10_000;
const GENERIC_MAX_ITEMS = 100;
/** Ids in one erasure's submission_ids. */
const MAX_ERASED_IDS = 100_000;

/** A reason (without any of the row's content) or null when the value is fine. */
type Rule = (value: Cell, row: Row, ctx: RowCheckContext, table: string) => string | null;
/** pair: a nullable column set exactly when this other column is set (hash and salt). */
type Column = { rule: Rule; nullable?: boolean; hasDefault?: boolean; pair?: string };

/** Characters (code points) at most `max`: a UTF-16 length within it needs no counting. */
const fitsIn = (s: string, max: number) => s.length <= max || [...s].length <= max;

function seq(value: Cell, _row: Row, ctx: RowCheckContext, table: string): string | null {
	if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_SEQ) return "not a whole number from 1 to 2^53 − 1";
	const bound = ctx.bounds[table];
	if (typeof bound !== "number") return `the manifest records no bound for table ${table}`;
	return value > bound ? `above the snapshot's bound (${bound})` : null;
}

const id: Rule = (v) => (typeof v === "string" && ID.test(v) ? null : "not an id (1–100 characters of A–Z a–z 0–9 . _ : -)");

function timestamp(v: Cell, _row: Row, ctx: RowCheckContext): string | null {
	if (typeof v !== "string") return "not a timestamp";
	const m = TIMESTAMP.exec(v);
	const ms = m ? utcTime(m) : null;
	if (ms === null) return "not an ISO 8601 UTC timestamp (YYYY-MM-DDTHH:MM:SS.sssZ)";
	return ms > ctx.now + CLOCK_SKEW_MS ? "in the future (later than the restore)" : null;
}

/**
 * The time a matched timestamp stands for, or null when a field is out of range (2026-02-30,
 * 24:00). Field by field: Date.parse is lenient (2026-02-30 is 2 March), and this runs per row.
 */
function utcTime(m: RegExpExecArray): number | null {
	const field = (i: number) => Number(m[i]);
	const [y, mo, d, h, mi, s] = [field(1), field(2), field(3), field(4), field(5), field(6)];
	const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
	const days = mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1];
	if (days === undefined || d < 1 || d > days || h > 23 || mi > 59 || s > 59) return null;
	return Date.UTC(y, mo - 1, d, h, mi, s, m[7] ? Number(m[7].padEnd(3, "0")) : 0);
}

const count: Rule = (v) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? null : "not a whole number ≥ 0");

function roleKey(v: Cell): string | null {
	if (typeof v !== "string" || v.length === 0) return "not a role key";
	if (!fitsIn(v, ROLE_MAX_LENGTH * 2) || INVISIBLE.test(v)) return "not a role key (too long or invisible characters)";
	return null;
}

function roleLabel(v: Cell): string | null {
	if (typeof v !== "string" || v.trim() === "") return "empty";
	if (!fitsIn(v, ROLE_MAX_LENGTH) || INVISIBLE.test(v)) return `longer than ${ROLE_MAX_LENGTH} characters or with invisible characters`;
	return null;
}

const version: Rule = (v) => (typeof v === "string" && VERSION.test(v) ? null : "not a questionnaire version (1–32 characters of A–Z a–z 0–9 . _ -)");

/** "" (no role question answered) or a role key. */
const submissionRoleKey: Rule = (v) => (v === "" ? null : roleKey(v));

/** Parse a JSON column; its failure is a reason that never quotes the text. */
function parseJson(v: Cell): { ok: true; value: unknown } | { ok: false; reason: string } {
	if (typeof v !== "string") return { ok: false, reason: "not JSON text" };
	if (v.length > MAX_JSON_CHARS) return { ok: false, reason: `longer than ${MAX_JSON_CHARS} characters` };
	try {
		return { ok: true, value: JSON.parse(v) };
	} catch {
		return { ok: false, reason: "not valid JSON" };
	}
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function jsonObject(v: Cell): string | null {
	const parsed = parseJson(v);
	if (!parsed.ok) return parsed.reason;
	return isPlainObject(parsed.value) ? null : "not a JSON object";
}

/** The answers of a submission: those of a known version must fit that version's definition. */
function answers(v: Cell, row: Row, ctx: RowCheckContext): string | null {
	const parsed = parseJson(v);
	if (!parsed.ok) return parsed.reason;
	if (!isPlainObject(parsed.value)) return "not a JSON object";
	const def = typeof row.questionnaire_version === "string" ? ctx.definitions.get(row.questionnaire_version) : undefined;
	return def ? checkAnswersAgainst(def, parsed.value) : checkAnswersShape(parsed.value);
}

/**
 * Answers of a version whose definition this code knows: only its question ids, each value of
 * its question's shape (what validateAnswers stores: trimmed text within maxLength, an option
 * value, ticked options, a whole number on the scale, a boolean consent), required ones present.
 * Normalisation (NFC, spaces) is not redone: it is the form's job, and costs too much per row.
 */
export function checkAnswersAgainst(def: Questionnaire, value: Record<string, unknown>): string | null {
	const questions = questionIds(def);
	for (const key in value) {
		if (!questions.has(key)) return `holds an answer to no question of version ${def.version}`;
	}
	for (const q of def.questions) {
		const answer = value[q.id];
		if (answer === undefined) {
			if (q.required) return `question ${q.id} is required`;
			continue;
		}
		const problem = checkAnswer(q, answer);
		if (problem) return `question ${q.id}: ${problem}`;
	}
	return null;
}

const idCache = new WeakMap<Questionnaire, Set<string>>();
const optionCache = new WeakMap<Question, Set<string>>();

function questionIds(def: Questionnaire): Set<string> {
	let ids = idCache.get(def);
	if (!ids) idCache.set(def, (ids = new Set(def.questions.map((q) => q.id))));
	return ids;
}

function optionValues(q: Question & { options: { value: string }[] }): Set<string> {
	let values = optionCache.get(q);
	if (!values) optionCache.set(q, (values = new Set(q.options.map((o) => o.value))));
	return values;
}

function checkAnswer(q: Question, a: unknown): string | null {
	switch (q.type) {
		case "short_text":
		case "long_text":
		case "role":
			return typeof a === "string" && a.trim() !== "" && fitsIn(a, q.maxLength) ? null : `not a text of 1 to ${q.maxLength} characters`;
		case "email":
			return typeof a === "string" && fitsIn(a, q.maxLength) && /^[^\s@]+@[^\s@]+$/.test(a) ? null : "not an e-mail address";
		case "single_choice":
			return typeof a === "string" && optionValues(q).has(a) ? null : "not one of its options";
		case "multiple_choice": {
			const values = optionValues(q);
			const ok =
				Array.isArray(a) &&
				a.length >= 1 &&
				a.length <= (q.maxSelected ?? values.size) &&
				new Set(a).size === a.length &&
				a.every((x) => typeof x === "string" && values.has(x));
			return ok ? null : "not a list of its options";
		}
		case "scale":
			return Number.isInteger(a) && (a as number) >= q.min && (a as number) <= q.max ? null : `not a whole number from ${q.min} to ${q.max}`;
		case "consent":
			if (typeof a !== "boolean") return "not true or false";
			return q.required && !a ? "required consent is not given" : null;
	}
}

/**
 * Answers of a version without a definition here (older questionnaires): the shapes any
 * definition produces — question-id keys; text, number, true/false, or a list of texts.
 */
export function checkAnswersShape(value: Record<string, unknown>): string | null {
	const keys = Object.keys(value);
	if (keys.length > GENERIC_MAX_KEYS) return `more than ${GENERIC_MAX_KEYS} answers`;
	for (const key of keys) {
		if (!ANSWER_KEY.test(key)) return "holds a key that is not a question id";
		const a = value[key];
		const ok =
			(typeof a === "string" && a.length <= GENERIC_MAX_TEXT) ||
			(typeof a === "number" && Number.isFinite(a)) ||
			typeof a === "boolean" ||
			(Array.isArray(a) && a.length <= GENERIC_MAX_ITEMS && a.every((x) => typeof x === "string" && x.length <= GENERIC_MAX_TEXT));
		if (!ok) return "holds a value that is not a text, a number, true/false or a list of texts";
	}
	return null;
}

function idList(v: Cell): string | null {
	const parsed = parseJson(v);
	if (!parsed.ok) return parsed.reason;
	const list = parsed.value;
	if (!Array.isArray(list) || list.length > MAX_ERASED_IDS) return "not a JSON list of ids";
	return list.every((x) => typeof x === "string" && ID.test(x)) ? null : "holds something that is not an id";
}

const hexOf = (len: [number, number]): Rule => (v) =>
	typeof v === "string" && HEX.test(v) && v.length >= len[0] && v.length <= len[1] ? null : "not lowercase hexadecimal of the expected length";

function counterName(v: Cell): string | null {
	if (v === "total") return null;
	if (typeof v !== "string") return "not a counter name";
	if (v.startsWith("role:")) return roleKey(v.slice(5)) === null ? null : "not a counter name (role:<key>)";
	const day = v.startsWith("day:") ? TIMESTAMP.exec(`${v.slice(4)}T00:00:00Z`) : null;
	if (day && utcTime(day) !== null) return null;
	return "not a counter name (total, role:<key>, day:<YYYY-MM-DD>)";
}

/**
 * The rules, one entry per restored table and column (migrations/0001_init.sql). A column the
 * table does not have is refused; a missing column is refused unless nullable or defaulted.
 * test/restore-rows.test.ts keeps this list equal to the migrated schema.
 */
export const ROW_RULES: Readonly<Record<string, Readonly<Record<string, Column>>>> = {
	roles: {
		seq: { rule: seq },
		role_key: { rule: roleKey },
		label: { rule: roleLabel },
		created_at: { rule: timestamp },
		use_count: { rule: count, hasDefault: true },
		last_used_at: { rule: timestamp, nullable: true },
		// Role moderation (migration 0007): absent from snapshots taken before it (NULL on restore).
		approved_at: { rule: timestamp, nullable: true },
		merged_into: { rule: roleKey, nullable: true },
	},
	submissions: {
		seq: { rule: seq },
		id: { rule: id },
		received_at: { rule: timestamp },
		questionnaire_version: { rule: version },
		role_key: { rule: submissionRoleKey },
		answers: { rule: answers },
		validation: { rule: jsonObject },
	},
	counters: {
		name: { rule: counterName },
		value: { rule: count },
		updated_at: { rule: timestamp },
	},
	erasures: {
		seq: { rule: seq },
		id: { rule: id },
		requested_at: { rule: timestamp },
		submission_ids: { rule: idList },
		// Both set (an erasure by e-mail) or both NULL (by id).
		email_hash: { rule: hexOf([64, 64]), nullable: true, pair: "email_salt" },
		email_salt: { rule: hexOf([8, 128]), nullable: true, pair: "email_hash" },
	},
	erased_submissions: {
		submission_id: { rule: id },
		erasure_id: { rule: id },
		erased_at: { rule: timestamp },
	},
};

/**
 * Check one snapshot row of a restored table. Returns why it is refused ("column: reason"), or
 * null when it may be written. Reasons name columns and rules, never the row's values: rows hold
 * personal data, and the reason is shown in reports and stored in restore_runs.
 */
export function checkSnapshotRow(table: string, row: Row, context: RowCheckContext): string | null {
	const columns = ROW_RULES[table];
	if (!columns) return `table ${table} is not restored`;
	for (const name of Object.keys(row)) {
		if (!Object.hasOwn(columns, name)) {
			return COLUMN_NAME.test(name) ? `${name}: not a column of ${table}` : `a column of an invalid name, not a column of ${table}`;
		}
	}
	for (const [name, column] of Object.entries(columns)) {
		const value = Object.hasOwn(row, name) ? row[name] : undefined;
		if (column.pair !== undefined && (value === null || value === undefined) !== (row[column.pair] === null || row[column.pair] === undefined)) {
			return `${name}: set without ${column.pair}, or the reverse`;
		}
		if (value === undefined) {
			if (column.nullable || column.hasDefault) continue;
			return `${name}: missing`;
		}
		if (value === null) {
			if (column.nullable) continue;
			return `${name}: empty (NULL) in a NOT NULL column`;
		}
		const problem = column.rule(value, row, context, table);
		if (problem) return `${name}: ${problem}`;
	}
	return null;
}

/**
 * How a refused row is named in reports, without its content: the submission or erasure id
 * when it has the shape of one, else `seq N`, else nothing (the caller then gives its position).
 * Role keys and counter names are not used: a role is text a respondent typed.
 */
export function describeRowKey(table: string, row: Row): string | null {
	const key = table === "erased_submissions" ? row.submission_id : table === "submissions" || table === "erasures" ? row.id : undefined;
	if (typeof key === "string" && ID.test(key)) return key;
	if (typeof row.seq === "number" && Number.isSafeInteger(row.seq) && row.seq >= 1) return `seq ${row.seq}`;
	if (table === "counters" && (row.name === "total" || (typeof row.name === "string" && /^day:\d{4}-\d{2}-\d{2}$/.test(row.name)))) {
		return row.name;
	}
	return null;
}
