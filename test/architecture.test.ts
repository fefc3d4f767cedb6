// Architecture rule: src/db/ owns every SQL statement (DESIGN.md, "Layers"). Reads the source files
// as text and fails when a string literal outside src/db/ holds an SQL statement, or when code
// outside src/db/ prepares a D1 statement itself. Pragmatic: a small scanner finds the string
// literals (comments and regular expressions skipped) and a few regexes recognise statements.
import { describe, expect, it } from "vitest";

/**
 * Folders temporarily allowed to hold SQL: none. An entry would be a visible, temporary exception
 * (the last test below fails as soon as an entry hides nothing any more).
 */
const SQL_ALLOWED_UNTIL_HTTP_REWORK: readonly string[] = [];

const sources = import.meta.glob("../src/**/*.{ts,tsx}", { query: "?raw", import: "default", eager: true });

/** Source files by path relative to the project ("src/..."). */
const files: Array<{ path: string; text: string }> = Object.entries(sources)
	.map(([p, text]) => ({ path: p.replace(/^\.\.\//, ""), text }))
	.sort((a, b) => a.path.localeCompare(b.path));

// ---------------------------------------------------------------------------------------------
// Scanner

type Literal = { text: string; line: number };
type Scan = { literals: Literal[]; code: string };

/** Words after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORD = new Set(["return", "typeof", "case", "do", "else", "in", "of", "void", "yield", "await", "delete", "new", "throw"]);

/**
 * The string and template literals of a TypeScript source (template expressions `${…}` become
 * "?" in the template's text, and their own literals are listed too), and the code with comments,
 * literals and regular expressions removed.
 */
function scanSource(src: string): Scan {
	const literals: Literal[] = [];
	let code = "";
	let i = 0;
	const lineOf = (pos: number): number => src.slice(0, pos).split("\n").length;

	function readQuoted(quote: string): void {
		const start = i++;
		let text = "";
		while (i < src.length && src[i] !== quote && src[i] !== "\n") {
			if (src[i] === "\\") {
				text += src[i + 1] ?? "";
				i += 2;
				continue;
			}
			text += src[i++];
		}
		i++;
		literals.push({ text, line: lineOf(start) });
	}

	function readTemplate(): void {
		const start = i++;
		let text = "";
		while (i < src.length) {
			const c = src[i]!;
			if (c === "\\") {
				text += src[i + 1] ?? "";
				i += 2;
			} else if (c === "`") {
				i++;
				break;
			} else if (c === "$" && src[i + 1] === "{") {
				i += 2;
				scanCode(true);
				text += "?";
			} else {
				text += c;
				i++;
			}
		}
		literals.push({ text, line: lineOf(start) });
	}

	function skipRegex(): void {
		i++;
		let inClass = false;
		while (i < src.length && src[i] !== "\n") {
			const c = src[i]!;
			if (c === "\\") {
				i += 2;
				continue;
			}
			i++;
			if (inClass) inClass = c !== "]";
			else if (c === "[") inClass = true;
			else if (c === "/") break;
		}
		while (i < src.length && /[a-z]/.test(src[i]!)) i++;
	}

	/** Scan code; inside a template expression, stop after the `}` that closes it. */
	function scanCode(inExpression: boolean): void {
		let depth = 0;
		let prev = "";
		while (i < src.length) {
			const c = src[i]!;
			const next = src[i + 1];
			if (c === "/" && next === "/") {
				const end = src.indexOf("\n", i);
				i = end < 0 ? src.length : end;
			} else if (c === "/" && next === "*") {
				const end = src.indexOf("*/", i + 2);
				i = end < 0 ? src.length : end + 2;
			} else if (c === '"' || c === "'") {
				readQuoted(c);
				code += '""';
				prev = "literal";
			} else if (c === "`") {
				readTemplate();
				code += '""';
				prev = "literal";
			} else if (c === "/" && (prev === "" || /^[(,=:[!&|?{};+\-*%<>~^]$/.test(prev) || REGEX_AFTER_WORD.has(prev))) {
				skipRegex();
				code += "/re/";
				prev = "literal";
			} else if (/\s/.test(c)) {
				code += c;
				i++;
			} else if (/[\w$]/.test(c)) {
				const word = /^[\w$]+/.exec(src.slice(i, i + 200))![0];
				code += word;
				i += word.length;
				prev = word;
			} else {
				if (inExpression && c === "{") depth++;
				if (inExpression && c === "}") {
					if (depth === 0) {
						i++;
						return;
					}
					depth--;
				}
				code += c;
				i++;
				prev = c;
			}
		}
	}

	scanCode(false);
	return { literals, code };
}

/** What an SQL statement looks like in a literal (upper-case keywords, as written in src/db/). */
const SQL_PATTERNS: readonly RegExp[] = [
	/\bSELECT\b[\s\S]*?\bFROM\b/,
	/^\s*SELECT\s/,
	/\b(?:INSERT|REPLACE)(?:\s+OR\s+[A-Z]+)?\s+INTO\b/,
	/\bUPDATE\s+\S+\s+SET\b/,
	/\bDELETE\s+FROM\b/,
	/\b(?:CREATE|DROP)\s+(?:UNIQUE\s+|TEMP\s+|TEMPORARY\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b/,
	/\bALTER\s+TABLE\b/,
	/\bPRAGMA\s+\w/,
];

/** The literals of `src` that hold an SQL statement, as "line: text" (text shortened). */
function findSqlLiterals(src: string): string[] {
	return scanSource(src)
		.literals.filter((l) => SQL_PATTERNS.some((p) => p.test(l.text)))
		.sort((a, b) => a.line - b.line)
		.map((l) => `${l.line}: ${l.text.replace(/\s+/g, " ").trim().slice(0, 80)}`);
}

/** Lines of `src` whose code (not comments, not strings) calls `.prepare(`. */
function findPrepareCalls(src: string): number[] {
	const code = scanSource(src).code;
	const lines: number[] = [];
	for (const m of code.matchAll(/\.\s*prepare\s*\(/g)) lines.push(code.slice(0, m.index).split("\n").length);
	return lines;
}

const isDb = (path: string): boolean => path.startsWith("src/db/");
const isAllowed = (path: string): boolean => SQL_ALLOWED_UNTIL_HTTP_REWORK.some((prefix) => path.startsWith(prefix));

// ---------------------------------------------------------------------------------------------

describe("the SQL scanner", () => {
	it.each([
		["double quotes", `db.prepare("SELECT id FROM t WHERE x = ?")`, ["1: SELECT id FROM t WHERE x = ?"]],
		["single quotes", `const q = 'DELETE FROM t';`, ["1: DELETE FROM t"]],
		["a multi-line template", "const q = `\n  UPDATE t\n   SET a = ${v}\n WHERE id = ?`;", ["1: UPDATE t SET a = ? WHERE id = ?"]],
		["a template with names interpolated", "`SELECT ${cols} FROM ${quote(t)} WHERE 1`", ["1: SELECT ? FROM ? WHERE 1"]],
		["a literal inside a template expression", 'const a = `x ${f("INSERT INTO t (a) VALUES (1)")} y`;', ["1: INSERT INTO t (a) VALUES (1)"]],
		["INSERT OR IGNORE", `"INSERT OR IGNORE INTO roles (a) VALUES (?)"`, ["1: INSERT OR IGNORE INTO roles (a) VALUES (?)"]],
		["DDL", "[`DROP TABLE IF EXISTS x`, `ALTER TABLE a RENAME TO b`, `CREATE TABLE c (a)`]", ["1: DROP TABLE IF EXISTS x", "1: ALTER TABLE a RENAME TO b", "1: CREATE TABLE c (a)"]],
		["PRAGMA", "`PRAGMA table_info(${t})`", ["1: PRAGMA table_info(?)"]],
		["a SELECT without FROM", `"SELECT NULL AS bound"`, ["1: SELECT NULL AS bound"]],
		["a line after an escaped quote", `const a = "it\\"s";\nconst b = "SELECT a FROM b";`, ["2: SELECT a FROM b"]],
	])("finds SQL in %s", (_, src, expected) => {
		expect(findSqlLiterals(src)).toEqual(expected);
	});

	it.each([
		["a line comment", `// SELECT a FROM b\nconst x = 1;`],
		["a block comment", `/** merge is INSERT OR IGNORE INTO the live table; DELETE FROM x */\nconst x = 1;`],
		["prose", `const m = "select a snapshot from the list, then update its settings";`],
		["a URL (not a comment)", `const u = "https://example.test/a"; // SELECT a FROM b`],
		["a regular expression holding quotes", `const r = /"id":"((?:[^"\\\\]|\\\\.)*)"/;\n// "SELECT a FROM b"`],
		["a division", `const half = total / 2; const q = "a" / 2; // DELETE FROM x`],
		["an identifier", `const UPDATE_SETTINGS = 1; selectFrom(); deleteFrom();`],
	])("finds no SQL in %s", (_, src) => {
		expect(findSqlLiterals(src)).toEqual([]);
	});

	it("finds the statements after a regular expression", () => {
		const src = `const r = /^CREATE TABLE\\s+("[^"]+"|\\w+)\\s*\\(/i;\nconst q = "DELETE FROM t";`;
		expect(findSqlLiterals(src)).toEqual(["2: DELETE FROM t"]);
	});

	it("finds .prepare( calls in code, not in comments or strings", () => {
		const src = `// db.prepare(x)\nconst a = "db.prepare(x)";\nawait env.DB\n  .prepare(sql)\n  .run();\nprepareStaging(db);`;
		expect(findPrepareCalls(src)).toEqual([4]);
	});
});

describe("src/db/ owns every SQL statement", () => {
	it("reads the source files", () => {
		expect(files.length).toBeGreaterThan(40);
		expect(files.map((f) => f.path)).toContain("src/worker.ts");
		expect(files.filter((f) => isDb(f.path)).length).toBeGreaterThan(5);
	});

	it("recognises the statements of src/db/ (the scanner works on the real code)", () => {
		for (const module of ["audit-log", "export", "notification-log", "restore-runs", "restore-tables", "schema", "snapshot-checks"]) {
			const file = files.find((f) => f.path === `src/db/${module}.ts`);
			expect(file, `src/db/${module}.ts`).toBeDefined();
			expect(findSqlLiterals(file!.text).length, `statements found in src/db/${module}.ts`).toBeGreaterThan(0);
		}
	});

	it("no file outside src/db/ holds an SQL statement", () => {
		const offenders = files
			.filter((f) => !isDb(f.path) && !isAllowed(f.path))
			.flatMap((f) => findSqlLiterals(f.text).map((hit) => `${f.path}:${hit}`));
		expect(offenders, "move these statements into a src/db/ module and call it by name").toEqual([]);
	});

	it("no file outside src/db/ prepares a D1 statement", () => {
		const offenders = files
			.filter((f) => !isDb(f.path) && !isAllowed(f.path))
			.flatMap((f) => findPrepareCalls(f.text).map((line) => `${f.path}:${line}`));
		expect(offenders, "build statements in a src/db/ module (buildX returns a D1PreparedStatement)").toEqual([]);
	});

	it("every allow-listed folder still holds SQL (otherwise remove it from the list)", () => {
		for (const prefix of SQL_ALLOWED_UNTIL_HTTP_REWORK) {
			const hits = files.filter((f) => f.path.startsWith(prefix)).flatMap((f) => findSqlLiterals(f.text));
			expect(hits.length, `${prefix} holds no SQL any more: remove it from SQL_ALLOWED_UNTIL_HTTP_REWORK`).toBeGreaterThan(0);
		}
	});
});
