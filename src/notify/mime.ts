// Pure builder of a small RFC 5322 / MIME message (text + HTML alternatives, UTF-8, base64) for
// the Cloudflare Email binding, which takes raw MIME. No dependency: the format needed is tiny.
import { Buffer } from "node:buffer";

export type MimeInput = {
	from: string;
	to: string;
	subject: string;
	text: string;
	html: string;
	/** Message date (the caller's "now"). */
	date: Date;
	/** Stable per (event, recipient): a retried send keeps the same Message-ID, so mail clients can drop duplicates. */
	messageId: string;
};

const CRLF = "\r\n";

/** RFC 2047 encoded-word for non-ASCII header text (subjects with accents). */
export function encodeHeaderWord(value: string): string {
	// eslint-disable-next-line no-control-regex
	if (/^[\x20-\x7e]*$/.test(value)) return value;
	return `=?UTF-8?B?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

/** Base64 of the UTF-8 bytes, folded at 76 characters as RFC 2045 requires. */
export function base64Lines(value: string): string {
	const b64 = Buffer.from(value, "utf8").toString("base64");
	return (b64.match(/.{1,76}/g) ?? [""]).join(CRLF);
}

/** Header values must not smuggle line breaks (header injection). */
function headerSafe(value: string): string {
	return value.replace(/[\r\n]+/g, " ");
}

/** A boundary that cannot occur in base64 bodies (it contains "=_", not in the base64 alphabet run). */
function boundaryFor(messageId: string): string {
	return `=_alt_${messageId.replace(/[^A-Za-z0-9]/g, "").slice(0, 40)}`;
}

export function buildMimeMessage(input: MimeInput): string {
	const boundary = boundaryFor(input.messageId);
	const lines = [
		`From: ${headerSafe(input.from)}`,
		`To: ${headerSafe(input.to)}`,
		`Subject: ${encodeHeaderWord(headerSafe(input.subject))}`,
		`Date: ${input.date.toUTCString()}`,
		`Message-ID: <${headerSafe(input.messageId)}>`,
		// RFC 3834: tells mail servers not to send out-of-office replies to an automatic message.
		"Auto-Submitted: auto-generated",
		"MIME-Version: 1.0",
		`Content-Type: multipart/alternative; boundary="${boundary}"`,
		"",
		`--${boundary}`,
		"Content-Type: text/plain; charset=UTF-8",
		"Content-Transfer-Encoding: base64",
		"",
		base64Lines(input.text),
		`--${boundary}`,
		"Content-Type: text/html; charset=UTF-8",
		"Content-Transfer-Encoding: base64",
		"",
		base64Lines(input.html),
		`--${boundary}--`,
		"",
	];
	return lines.join(CRLF);
}
