// Every retention reason as data: the policy (policy.ts) writes its reasons as English sentences
// for logs and the audit trail; clients (dashboard, CLI) need a code and its values to say them in
// the administrator's words. Pure; test/retention-reason.test.ts checks that every sentence the
// policy writes is recognised.
import type { Decision } from "./policy";

/** One reason, as a code and the values a sentence needs. Period keys and ids stay in UTC. */
export type RetentionReason =
	| { code: "daily"; period: string } // "2026-12-02"
	| { code: "weekly"; period: string } // "2026-W49" (ISO week)
	| { code: "monthly"; period: string } // "2026-11"
	| { code: "newest" }
	| { code: "future" }
	| { code: "pinned"; detectedIn: string }
	| { code: "in_use"; reader: "restore" | "verification"; runId: string }
	| { code: "held" }
	| { code: "deferred"; maxRemovePct: number }
	| { code: "outside" }
	| { code: "other"; text: string };

/**
 * What will really happen to a snapshot: kept, removed by this run, or kept now only because of
 * the per-run removal cap (`remove_later`: a later run removes it).
 */
export type RetentionFate = "keep" | "remove" | "remove_later";

/** The policy's sentence shapes, by their first word (one regex tried per reason). */
const RULES: Record<string, [RegExp, (m: RegExpExecArray) => RetentionReason]> = {
	daily: [/^daily (\d{4}-\d{2}-\d{2})$/, (m) => ({ code: "daily", period: m[1]! })],
	weekly: [/^weekly (\d{4}-W\d{2})$/, (m) => ({ code: "weekly", period: m[1]! })],
	monthly: [/^monthly (\d{4}-\d{2})$/, (m) => ({ code: "monthly", period: m[1]! })],
	newest: [/^newest verified$/, () => ({ code: "newest" })],
	"future-dated:": [/^future-dated:/, () => ({ code: "future" })],
	"pinned:": [/^pinned: data loss seen in (\S+?):/, (m) => ({ code: "pinned", detectedIn: m[1]! })],
	in: [/^in use: (restore|verification) (\S+)/, (m) => ({ code: "in_use", reader: m[1] as "restore" | "verification", runId: m[2]! })],
	"held:": [/^held:/, () => ({ code: "held" })],
	"deferred:": [/^deferred: at most (\d+(?:\.\d+)?)%/, (m) => ({ code: "deferred", maxRemovePct: Number(m[1]) })],
	outside: [/^outside the daily, weekly and monthly slots$/, () => ({ code: "outside" })],
};

/** Pure: a reason sentence of the policy as data (`other` keeps a sentence it does not know). */
export function parseRetentionReason(reason: string): RetentionReason {
	const space = reason.indexOf(" ");
	const rule = Object.hasOwn(RULES, space < 0 ? reason : reason.slice(0, space)) ? RULES[space < 0 ? reason : reason.slice(0, space)] : undefined;
	const m = rule?.[0].exec(reason);
	return m ? rule![1](m) : { code: "other", text: reason };
}

/** Pure: a snapshot's real fate from its parsed reasons. Kept ONLY by the removal cap: removed later. */
export function buildFateOf(keep: boolean, why: readonly RetentionReason[]): RetentionFate {
	if (!keep) return "remove";
	return why.length > 0 && why.every((w) => w.code === "deferred") ? "remove_later" : "keep";
}

/** Pure: a snapshot's real fate. A snapshot kept ONLY by the removal cap will be removed later. */
export function buildRetentionFate(decision: Pick<Decision, "keep" | "reasons">): RetentionFate {
	return buildFateOf(decision.keep, decision.reasons.map(parseRetentionReason));
}
