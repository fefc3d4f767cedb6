// The Cloudflare plan's budget in the CLI: `status` ends with the plan's limits and this
// deployment's figures against them (GET /api/admin/status `platform`), and `restore` says whether
// a merge or a replace fits in what is left of today's D1 write limit (the dry run's `budget`).
import { LANG, num, say, size, table } from "./text.mjs";

const words = (w) => (w ? (LANG === "en" ? w.en : w.fr) : "");

function figureValue(value, unit) {
	return unit === "bytes" ? size(value) : num(value);
}

const percentFmt = new Intl.NumberFormat(LANG === "en" ? "en-GB" : "fr-FR", { maximumFractionDigits: 1 });

/** "12,5 %", or "< 0,1 %" for a figure that is not zero but rounds to it. */
function percentText(f) {
	if (f.percent === null || f.percent === undefined) return "—";
	return f.percent === 0 && f.value > 0 ? `<\u00a0${percentFmt.format(0.1)}\u00a0%` : `${percentFmt.format(f.percent)}\u00a0%`;
}

/** Lines for the status: a title naming the plan, one warning per figure above 80 %, then the table. */
export function formatPlatform(platform) {
	if (!platform) return [say("Budget Cloudflare : inconnu (serveur d'une version antérieure).", "Cloudflare budget: unknown (server of an older version).")];
	const plan = platform.plan === "paid" ? say("offre payante", "Paid plan") : say("offre gratuite", "Free plan");
	const lines = ["", say(`Budget Cloudflare (${plan})`, `Cloudflare budget (${plan})`)];
	if (platform.warnings.length === 0) lines.push(say("Tout est dans les limites de l'offre.", "Everything is within the plan's limits."));
	for (const w of platform.warnings) lines.push(`${say("ATTENTION", "WARNING")} — ${words(w.message)}`);
	lines.push(
		table(
			[
				{ title: say("Quoi", "What") },
				{ title: say("Utilisé", "Used"), align: "right" },
				{ title: say("Limite", "Limit"), align: "right" },
				{ title: "%", align: "right" },
				{ title: "" },
			],
			platform.figures.map((f) => [
				words(f.label),
				figureValue(f.value, f.unit),
				f.limit === null ? say("aucune (facturé)", "none (billed)") : figureValue(f.limit, f.unit),
				percentText(f),
				f.warning ? say("> 80 % !", "> 80% !") : "",
			]),
		),
	);
	lines.push(
		say(
			"Comptés par l'application : « aujourd'hui » depuis minuit UTC, « ce mois-ci » depuis le 1er ; la console Cloudflare, wrangler et les autres Workers du compte n'y sont pas.",
			"Counted by the application: \"today\" since 00:00 UTC, \"this month\" since the 1st; the Cloudflare dashboard, wrangler and other Workers of the account are not included.",
		),
	);
	return lines;
}

/** The dry run's line about D1's daily write limit (none on Paid or for an older server). */
export function formatRestoreBudget(budget) {
	if (!budget) return [];
	if (budget.message) return ["", `${say("LIMITE QUOTIDIENNE", "DAILY LIMIT")} — ${words(budget.message)}`];
	if (budget.dailyLimit === null) return [];
	const left = Math.max(0, budget.dailyLimit - budget.writtenToday);
	return [
		"",
		say(
			`Limite quotidienne d'écriture : une fusion écrirait jusqu'à ${num(budget.merge.rows)} lignes, un remplacement jusqu'à ${num(budget.replace.rows)} ; il en reste ${num(left)} aujourd'hui.`,
			`Daily write limit: a merge would write up to ${num(budget.merge.rows)} rows, a replace up to ${num(budget.replace.rows)}; ${num(left)} are left today.`,
		),
	];
}

/** Does the dry run say this write mode would be refused today? */
export function isRefusedByBudget(budget, mode) {
	return Boolean(budget && (mode === "merge" || mode === "replace") && budget[mode] && budget[mode].fits === false);
}
