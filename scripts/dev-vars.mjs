// The local ADMIN_TOKEN of `npm start`: .dev.vars gets a random one when it has none, or when it
// still holds the placeholder of .dev.vars.example (which the Worker refuses, see src/config.ts).
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const TOKEN_LINE = /^[ \t]*ADMIN_TOKEN[ \t]*=(.*)$/m;

/** The ADMIN_TOKEN value written in a vars file, unquoted ("" when the line is empty, undefined without a line). */
export function readAdminToken(text) {
	const m = TOKEN_LINE.exec(text);
	return m ? m[1].trim().replace(/^(["'])(.*)\1$/, "$2") : undefined;
}

/**
 * Make sure `file` has a usable ADMIN_TOKEN. Returns the token written when one was written
 * (file created, line added, or the placeholder of `exampleFile` replaced), undefined otherwise.
 * Every other line of the file is kept as it was.
 */
export function ensureAdminToken(file = ".dev.vars", exampleFile = ".dev.vars.example", newToken = () => randomBytes(24).toString("base64url")) {
	const text = existsSync(file) ? readFileSync(file, "utf8") : "";
	const current = readAdminToken(text);
	const placeholder = existsSync(exampleFile) ? readAdminToken(readFileSync(exampleFile, "utf8")) : undefined;
	if (current && current !== placeholder) return undefined;
	const token = newToken();
	let next;
	if (current !== undefined) next = text.replace(TOKEN_LINE, `ADMIN_TOKEN=${token}`);
	else next = `${text === "" || text.endsWith("\n") ? text : `${text}\n`}ADMIN_TOKEN=${token}\n`;
	writeFileSync(file, next, { mode: 0o600 });
	return token;
}

/**
 * Make sure `file` has a BACKUP_SIGNING_KEY (the HMAC key of snapshot manifests). Returns true when
 * one was written. Every other line of the file is kept as it was.
 */
export function ensureSigningKey(file = ".dev.vars", newKey = () => randomBytes(32).toString("hex")) {
	const text = existsSync(file) ? readFileSync(file, "utf8") : "";
	if (/^[ \t]*BACKUP_SIGNING_KEY[ \t]*=[ \t]*\S+/m.test(text)) return false;
	const prefix = text === "" || text.endsWith("\n") ? text : `${text}\n`;
	writeFileSync(file, `${prefix}BACKUP_SIGNING_KEY=${newKey()}\n`, { mode: 0o600 });
	return true;
}
