// The verdict first: what `npm run admin -- status` prints before anything else — the level in
// words (« Tout va bien » / « Attention » / « Problème »), then one line per reason with what to
// do, in LOCALE. The sentences come from the server (GET /api/admin/status `verdict`).
import { LANG, say } from "./text.mjs";

const MARK = { ok: "✓", warning: "!", problem: "✖" };

/**
 * The verdict as lines of text (no trailing newline). Each reason is "- <what is wrong>" and, on
 * the next line, "  À faire : <what to do>". An answer without a verdict (an older server) gives
 * no line at all.
 */
export function formatVerdict(verdict) {
	if (!verdict) return [];
	const colon = say("\u00a0:", ":");
	const head = `${MARK[verdict.level] ?? "!"} ${verdict.label[LANG]}`;
	if (verdict.reasons.length === 0) return [`${head} — ${verdict.summary[LANG]}`];
	const lines = [head];
	for (const r of verdict.reasons) {
		lines.push(`- ${r.text[LANG]}`);
		lines.push(`  ${say("À faire", "What to do")}${colon} ${r.action[LANG]}`);
	}
	return lines;
}
