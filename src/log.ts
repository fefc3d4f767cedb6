// Structured JSON logs: one object per line, an event name and counts/durations only.
// Never pass personal data (answers, e-mail addresses, comments) to these functions.

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export function logEvent(event: string, fields: LogFields = {}): void {
	console.log(JSON.stringify({ event, ...fields }));
}

export function logError(event: string, fields: LogFields = {}): void {
	console.error(JSON.stringify({ event, level: "error", ...fields }));
}

/** A short, non-personal description of an error: its class and message, first line, bounded. */
export function describeError(err: unknown): string {
	// A JSON.parse error quotes the text it could not parse, which may be someone's answers.
	if (err instanceof SyntaxError) return "SyntaxError (message withheld: it may quote the input)";
	if (err instanceof Error) return `${err.name}: ${err.message.split("\n")[0]}`.slice(0, 300);
	return String(err).split("\n")[0]!.slice(0, 300);
}
