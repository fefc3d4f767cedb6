// D1 queries for submissions: the one-batch insert (row + role + counters) and paged reads by seq.
import { buildCounterIncrement, buildSubmissionCounterNames } from "./counters";
import { buildRoleUseStatement, type RoleUse } from "./roles";

/** What is stored for one accepted submission. */
export type NewSubmission = {
	id: string;
	/** Server receive time, ISO 8601 UTC. */
	receivedAt: string;
	questionnaireVersion: string;
	/** Absent when the definition has no role question or it was left empty. */
	role?: RoleUse;
	/** The validated answers, stored as JSON. */
	answers: Record<string, unknown>;
	/** The validation outcome, stored as JSON beside the answers. */
	validation: Record<string, unknown>;
};

/**
 * Store one accepted submission in ONE D1 batch (a single transaction): the role use, the row,
 * and the counters 'total', 'day:<date>' and 'role:<key>'. Either all of it lands or none of it,
 * so the counters can never disagree with the rows.
 */
export async function insertSubmission(db: D1Database, s: NewSubmission): Promise<void> {
	const statements: D1PreparedStatement[] = [];
	if (s.role) statements.push(buildRoleUseStatement(db, s.role, s.receivedAt));
	statements.push(
		db
			.prepare(
				`INSERT INTO submissions (id, received_at, questionnaire_version, role_key, answers, validation)
				 VALUES (?, ?, ?, ?, ?, ?)`,
			)
			.bind(
				s.id,
				s.receivedAt,
				s.questionnaireVersion,
				s.role?.key ?? "",
				JSON.stringify(s.answers),
				JSON.stringify(s.validation),
			),
		buildCounterIncrement(db, buildSubmissionCounterNames(s.receivedAt, s.role?.key), s.receivedAt),
	);
	await db.batch(statements);
}

/** A stored submission as read back, with the canonical label of its role (first spelling). */
export type SubmissionRow = {
	seq: number;
	id: string;
	received_at: string;
	questionnaire_version: string;
	role_key: string;
	role_label: string | null;
	/** JSON text of the validated answers. */
	answers: string;
	/** JSON text of the validation outcome. */
	validation: string;
};

export type SubmissionPage = {
	/** Rows strictly after (asc) or before (desc) this seq; from the start/end when absent. */
	cursor?: number;
	limit: number;
	order: "asc" | "desc";
	/** Only rows with seq <= this bound (a consistent end for an export started earlier). */
	maxSeq?: number;
};

/** One page of submissions in seq order, with role labels. */
export async function fetchSubmissionPage(db: D1Database, page: SubmissionPage): Promise<SubmissionRow[]> {
	const where: string[] = [];
	const params: number[] = [];
	if (page.cursor !== undefined) {
		where.push(page.order === "asc" ? "s.seq > ?" : "s.seq < ?");
		params.push(page.cursor);
	}
	if (page.maxSeq !== undefined) {
		where.push("s.seq <= ?");
		params.push(page.maxSeq);
	}
	const { results } = await db
		.prepare(
			`SELECT s.seq, s.id, s.received_at, s.questionnaire_version, s.role_key, r.label AS role_label,
			        s.answers, s.validation
			 FROM submissions s LEFT JOIN roles r ON r.role_key = s.role_key
			 ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
			 ORDER BY s.seq ${page.order === "asc" ? "ASC" : "DESC"} LIMIT ?`,
		)
		.bind(...params, page.limit)
		.all<SubmissionRow>();
	return results;
}

/** The highest seq stored (0 when there is none): the end an export stops at. */
export async function fetchMaxSubmissionSeq(db: D1Database): Promise<number> {
	const row = await db.prepare("SELECT COALESCE(MAX(seq), 0) AS seq FROM submissions").first<{ seq: number }>();
	return row?.seq ?? 0;
}

/** How many submissions have seq <= maxSeq (the export's "rows to do"). */
export async function fetchSubmissionCount(db: D1Database, maxSeq: number): Promise<number> {
	const row = await db.prepare("SELECT COUNT(*) AS n FROM submissions WHERE seq <= ?").bind(maxSeq).first<{ n: number }>();
	return row?.n ?? 0;
}

/**
 * The received time of the oldest of these submissions (null when none is found): the restore
 * preview's "answers received since …". The ids travel as one JSON parameter (D1 caps parameters).
 */
export async function fetchOldestReceivedAt(db: D1Database, ids: readonly string[]): Promise<string | null> {
	if (ids.length === 0) return null;
	const row = await db
		.prepare("SELECT min(received_at) AS at FROM submissions WHERE id IN (SELECT value FROM json_each(?1))")
		.bind(JSON.stringify(ids))
		.first<{ at: string | null }>();
	return row?.at ?? null;
}

/**
 * A stored JSON column parsed back. A damaged value fails with a message naming the row and the
 * column only: JSON.parse's own message quotes the start of its input, which is personal data.
 */
export function parseStoredJson(text: string, column: "answers" | "validation", seq: number): unknown {
	try {
		return JSON.parse(text);
	} catch {
		throw new Error(`stored ${column} of submission seq ${seq} is not valid JSON`);
	}
}
