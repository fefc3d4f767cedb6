// `npm run admin -- status`, after the verdict: the facts it rests on, as a two-column table in
// the administrator's language (LOCALE), times in TIMEZONE, backups named by their local date.
import { LANG, age, num, plural, say, size, table, when } from "./text.mjs";

const CHANNELS = {
	resend: () => say("E-mail (Resend)", "E-mail (Resend)"),
	cloudflare_email: () => say("E-mail (Cloudflare)", "E-mail (Cloudflare)"),
	webhook: () => "Webhook",
	heartbeat: () => say("Signal de vie", "Heartbeat"),
};
const HEALTH = {
	ok: () => say("fonctionne", "working"),
	failing: () => say("EN ÉCHEC", "FAILING"),
	unused: () => say("pas encore utilisé", "not used yet"),
	misconfigured: () => say("MAL CONFIGURÉ", "MISCONFIGURED"),
};
const RUN = {
	complete: () => say("réussie", "succeeded"),
	failed: () => say("ÉCHOUÉE", "FAILED"),
	running: () => say("en cours", "running"),
	queued: () => say("en attente", "queued"),
};

const channelName = (c) => (CHANNELS[c] ?? (() => c))();
const ago = (hours) => say(`il y a ${age(hours)}`, `${age(hours)} ago`);

function lastRunText(run) {
	if (!run) return say("aucune pour l'instant", "none yet");
	const origin = run.trigger === "scheduled" ? say("automatique", "scheduled") : say("manuelle", "manual");
	const state = (RUN[run.status] ?? (() => run.status))();
	const head = `${state} (${origin}), ${when(run.finishedAt ?? run.startedAt)}`;
	if (run.status !== "failed") return head;
	return `${head}\n${run.explanation?.[LANG] ?? `${run.stage ?? ""} — ${run.error ?? ""}`}`;
}

function weeklyText(v) {
	if (!v) return say("pas encore faite", "not run yet");
	const state = v.status === "ok" ? say("réussie", "passed") : say("PROBLÈME", "PROBLEM");
	const checked = plural(v.snapshotsChecked, say("sauvegarde relue", "backup re-read"), say("sauvegardes relues", "backups re-read"));
	const corrupt = plural(v.snapshotsCorrupt, say("endommagée", "damaged"), say("endommagées", "damaged"));
	return `${state}, ${when(v.finishedAt)}${say(" :", ":")} ${checked}, ${corrupt}`;
}

function offsiteText(o) {
	if (!o) return say("aucune (voir docs/offsite.md)", "none (see docs/offsite.md)");
	if (o.error) return `${say("ILLISIBLE", "UNREADABLE")} — ${o.error}`;
	if (!o.newest) return say("vide — PAS À JOUR", "empty — OUT OF DATE");
	const parts = [`${when(o.newest.at)} (${ago(o.newest.ageHours)})`];
	if (o.encrypted) parts.push(say("chiffrée", "encrypted"));
	if (o.stale) parts.push(say("PAS À JOUR", "OUT OF DATE"));
	return parts.join(", ");
}

/** The facts under the verdict, as lines. */
export function formatStatusFacts(s) {
	const rows = [
		[say("Dernière sauvegarde", "Last backup"), lastRunText(s.lastRun)],
		[
			say("Plus récente vérifiée", "Newest verified"),
			s.newestSnapshot
				? `${when(s.newestSnapshot.finishedAt)} (${ago(s.newestSnapshot.ageHours)})${s.stale ? say(" — EN RETARD", " — OVERDUE") : ""}`
				: say("aucune", "none"),
		],
		[say("Prochaine automatique", "Next automatic"), when(s.nextScheduledRun)],
		[say("Sauvegardes gardées", "Backups kept"), `${num(s.snapshots?.count ?? 0)}, ${size(s.snapshots?.totalBytes ?? 0)}`],
		[say("Vérification hebdo.", "Weekly check"), weeklyText(s.verification)],
		[say("Copie hors Cloudflare", "Copy outside Cloudflare"), offsiteText(s.offsite)],
	];
	if (s.signing && !s.signing.configured) rows.push([say("Signature", "Signing"), say("BACKUP_SIGNING_KEY absente : une sauvegarde déposée par un tiers ne serait pas reconnue", "BACKUP_SIGNING_KEY missing: a planted backup could not be told apart")]);
	if ((s.channels ?? []).length === 0) rows.push([say("Alertes", "Alerts"), say("aucun canal : personne ne sera prévenu (docs/notifications.md)", "no channel: nobody will be told (docs/notifications.md)")]);
	for (const c of s.channels ?? []) rows.push([`${say("Alertes", "Alerts")} : ${channelName(c.channel)}`, `${(HEALTH[c.health] ?? (() => c.health))()}${c.lastError ? ` — ${c.lastError}` : ""}`]);
	// A value over several lines continues under its column.
	const flat = rows.flatMap(([k, v]) => String(v).split("\n").map((line, i) => [i === 0 ? k : "", line]));
	return [table([{ title: say("Quoi", "What") }, { title: say("État", "State") }], flat)];
}
