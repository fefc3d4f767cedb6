// Administrator dashboard: status, snapshots (verify, download, restore with a dry run first),
// pinned snapshots (release), retention preview and CSV export. It only calls the JSON API with the administrator token,
// which stays in this tab's sessionStorage.
"use strict";

const TEXT = {
	fr: {
		title: "Sauvegardes du questionnaire", logout: "Se déconnecter", loginTitle: "Connexion",
		tokenLabel: "Jeton administrateur", tokenHint: "Le jeton reste dans cet onglet et disparaît à sa fermeture.",
		login: "Se connecter", badToken: "Jeton refusé. Vérifiez-le et réessayez.", unreachable: "Le serveur ne répond pas.",
		statusTitle: "État", backupNow: "Lancer une sauvegarde maintenant", snapshotsTitle: "Sauvegardes disponibles",
		refresh: "Actualiser", restoreTitle: "Restaurer", retentionTitle: "Conservation",
		retentionPreview: "Que garderait la politique aujourd'hui ?", toolsTitle: "Données",
		exportCsv: "Télécharger les réponses (tableur CSV)", undo: "Annuler le dernier remplacement",
		lastRun: "Dernière sauvegarde", newest: "Sauvegarde vérifiée la plus récente", age: "Âge",
		nextRun: "Prochaine sauvegarde automatique", count: "Nombre de sauvegardes", size: "Taille totale",
		channels: "Canaux d'alerte", weekly: "Dernière vérification hebdomadaire",
		offsite: "Copie hors Cloudflare", offsiteNone: "aucune : configurez-la (docs/offsite.md)", offsiteEmpty: "vide",
		offsiteUnreadable: "illisible : {error}", encrypted: "chiffrée", outOfDate: "pas à jour",
		weeklyFacts: "{checked}, {corrupt}, exercice de restauration : {drill}", policy: "Politique de conservation", none: "aucune",
		ok: "OK", stale: "EN RETARD", failed: "ÉCHEC", running: "en cours", complete: "réussie", queued: "en attente",
		hours: "h", staleExplain: "Aucune sauvegarde vérifiée depuis plus de {h} heures.",
		backupBusy: "Une sauvegarde est déjà en cours : voici son avancement.",
		date: "Date", trigger: "Origine", scheduled: "automatique", manual: "manuelle", submissions: "Réponses",
		rows: "Lignes", chunks: "Morceaux", verified: "Vérifiée", actions: "Actions", yes: "oui", no: "non",
		verify: "Vérifier", download: "Télécharger", restore: "Restaurer…", noSnapshot: "Aucune sauvegarde pour l'instant.",
		verifying: "Vérification de la sauvegarde du {date}…", verifyOk: "Sauvegarde du {date} intacte : {chunks} ({size}), toutes les empreintes et tous les enregistrements correspondent.",
		verifyBad: "Sauvegarde du {date} ENDOMMAGÉE : {problems}", downloading: "Téléchargement de la sauvegarde du {date}…",
		restoreIntro: "Sauvegarde choisie : celle du {date}. Commencez par un aperçu : il ne modifie rien.",
		preview: "Aperçu (ne modifie rien)", previewing: "Calcul de l'aperçu…", table: "Table",
		added: "À ajouter", differ: "Différentes", disappear: "Disparaîtraient", erased: "Effacées (jamais restaurées)",
		merge: "Fusionner : ajouter seulement ce qui manque", replace: "Remplacer toutes les données par cette sauvegarde",
		confirmMerge: "Ajouter les lignes manquantes depuis la sauvegarde du {date} ? Les données actuelles ne sont pas modifiées.",
		confirmReplace: "Remplacer TOUTES les données actuelles par la sauvegarde du {date} ?\n\nLes données actuelles sont gardées jusqu'à la prochaine sauvegarde réussie et le remplacement peut être annulé d'ici là.",
		restoring: "Restauration en cours…", restoreDone: "Restauration terminée : {written} lignes écrites, {erased} effacées ignorées.",
		restoreFailed: "La restauration a échoué : {error}. Rien n'a été modifié si l'erreur est survenue pendant la vérification.",
		rejected: "{n} ligne(s) de cette sauvegarde ne passent pas le contrôle des lignes : une fusion ou un remplacement serait refusé (rien ne serait écrit). Choisissez une autre sauvegarde.",
		rejectedMore: "… et {n} autre(s).", rowKey: "Ligne", reason: "Raison",
		cancel: "Fermer", undoConfirm: "Remettre les données telles qu'elles étaient avant le dernier remplacement ?",
		undoDone: "Remplacement annulé.", keep: "Gardée", remove: "Supprimée", why: "Pourquoi",
		csvDone: "Fichier CSV téléchargé.",
		pinsTitle: "Sauvegardes épinglées",
		pinsHint: "Quand des données disparaissent, les sauvegardes d'avant la baisse sont gardées (jamais supprimées) jusqu'à ce que vous les libériez.",
		noPin: "Aucune sauvegarde épinglée : aucune disparition de données constatée.",
		pinActive: "ÉPINGLÉ", pinnedBadge: "épinglée", pinSince: "depuis le {date}", pinSnapshots: "Sauvegardes gardées ({n})",
		release: "Libérer…", releaseConfirm: "Libérer cet épinglage ?\n\nLes sauvegardes d'avant la baisse ({n}) suivront de nouveau la politique de conservation normale et pourront être supprimées. Ne le faites que si la baisse était voulue ou si les données ont été restaurées.",
		released: "Épinglage libéré : la conservation normale s'applique de nouveau.", releasedPins: "Épinglages libérés ({n})",
		wouldPin: "Une disparition de données vient d'être constatée ; la prochaine sauvegarde épinglera ces sauvegardes : {message}",
		pinnedNow: "{n} en cours : les sauvegardes d'avant la baisse sont gardées.",
		reasons: {
			daily: "jour du {date}", weekly: "semaine du {date}", monthly: "mois de {month}", newest: "la plus récente vérifiée", future: "datée dans le futur",
			pinned: "épinglée : données disparues (constaté le {date})", restore: "lue par une restauration en cours",
			verification: "lue par une vérification en cours", deferred: "au plus {pct} % des sauvegardes supprimées par passage : elle partira lors d'un prochain passage",
			held: "retenue : la dernière sauvegarde a échoué", outside: "hors des créneaux jour, semaine et mois",
		},
		tables: { submissions: "Réponses", roles: "Rôles", counters: "Compteurs", erasures: "Demandes d'effacement", erased_submissions: "Réponses effacées", audit_log: "Journal d'administration", backup_runs: "Historique des sauvegardes" },
		policyFacts: "{d}, {w}, {m}", sizeCol: "Taille",
		channelOk: "fonctionne", channelFailing: "en échec", channelUnused: "pas encore utilisé", channelMisconfigured: "mal configuré",
	},
	en: {
		title: "Questionnaire backups", logout: "Sign out", loginTitle: "Sign in", tokenLabel: "Administrator token",
		tokenHint: "The token stays in this tab and is forgotten when it closes.", login: "Sign in",
		badToken: "Token refused. Check it and try again.", unreachable: "The server does not answer.",
		statusTitle: "Status", backupNow: "Back up now", snapshotsTitle: "Available backups", refresh: "Refresh",
		restoreTitle: "Restore", retentionTitle: "Retention", retentionPreview: "What would the policy keep today?",
		toolsTitle: "Data", exportCsv: "Download the answers (CSV spreadsheet)", undo: "Undo the last replace",
		lastRun: "Last backup", newest: "Newest verified backup", age: "Age", nextRun: "Next automatic backup",
		count: "Number of backups", size: "Total size", channels: "Alert channels", weekly: "Last weekly verification",
		offsite: "Copy outside Cloudflare", offsiteNone: "none: set it up (docs/offsite.md)", offsiteEmpty: "empty",
		offsiteUnreadable: "unreadable: {error}", encrypted: "encrypted", outOfDate: "out of date",
		weeklyFacts: "{checked}, {corrupt}, restore drill: {drill}", policy: "Retention policy",
		none: "none", ok: "OK", stale: "OVERDUE", failed: "FAILED", running: "running", complete: "succeeded",
		queued: "queued", hours: "h", staleExplain: "No verified backup for more than {h} hours.", date: "Date",
		backupBusy: "A backup is already running: here is its progress.",
		trigger: "Trigger", scheduled: "scheduled", manual: "manual", submissions: "Answers", rows: "Rows",
		chunks: "Chunks", verified: "Verified", actions: "Actions", yes: "yes", no: "no", verify: "Verify",
		download: "Download", restore: "Restore…", noSnapshot: "No backup yet.", verifying: "Verifying the backup of {date}…",
		verifyOk: "Backup of {date} is intact: {chunks} ({size}), every checksum and record matches.",
		verifyBad: "Backup of {date} is DAMAGED: {problems}", downloading: "Downloading the backup of {date}…",
		restoreIntro: "Chosen backup: the one of {date}. Start with a preview: it changes nothing.",
		preview: "Preview (changes nothing)", previewing: "Computing the preview…", table: "Table", added: "To add",
		differ: "Different", disappear: "Would disappear", erased: "Erased (never restored)",
		merge: "Merge: only add what is missing", replace: "Replace all data with this backup",
		confirmMerge: "Add the missing rows from the backup of {date}? Current data is not changed.",
		confirmReplace: "Replace ALL current data with the backup of {date}?\n\nThe current data is kept until the next successful backup and the replace can be undone until then.",
		restoring: "Restoring…", restoreDone: "Restore finished: {written} rows written, {erased} erased rows skipped.",
		restoreFailed: "The restore failed: {error}. Nothing was changed if the error happened during verification.",
		rejected: "{n} row(s) of this backup fail the row checks: a merge or a replace would be refused (nothing would be written). Choose another backup.",
		rejectedMore: "… and {n} more.", rowKey: "Row", reason: "Reason",
		cancel: "Close", undoConfirm: "Put the data back as it was before the last replace?", undoDone: "Replace undone.",
		keep: "Kept", remove: "Removed", why: "Why", csvDone: "CSV file downloaded.",
		pinsTitle: "Pinned backups",
		pinsHint: "When data disappears, the backups from before the drop are kept (never deleted) until you release them.",
		noPin: "No pinned backup: no data loss seen.",
		pinActive: "PINNED", pinnedBadge: "pinned", pinSince: "since {date}", pinSnapshots: "Backups kept ({n})",
		release: "Release…", releaseConfirm: "Release this pin?\n\nThe backups from before the drop ({n}) will follow the normal retention policy again and may be deleted. Only do this if the drop was intended or the data has been restored.",
		released: "Pin released: normal retention applies again.", releasedPins: "Released pins ({n})",
		wouldPin: "A data loss has just been seen; the next backup will pin these backups: {message}",
		pinnedNow: "{n} holding: the backups from before the drop are kept.",
		tables: { submissions: "Answers", roles: "Roles", counters: "Counters", erasures: "Erasure requests", erased_submissions: "Erased answers", audit_log: "Admin log", backup_runs: "Backup history" },
		policyFacts: "{d}, {w}, {m}", sizeCol: "Size",
		channelOk: "working", channelFailing: "failing", channelUnused: "not used yet", channelMisconfigured: "misconfigured",
	},
};

const lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "fr";
const t = (key, vars = {}) => (TEXT[lang][key] ?? TEXT.fr[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "admin-token";
const numberFmt = new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR");
// Replaced by useTimeZone() once the status gives the organisation's TIMEZONE.
let dateFmt = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "fr-FR", { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Paris" });

/** Build an element: h("td", {class: "num"}, "text", child…). Text is never parsed as HTML. */
function h(tag, attrs = {}, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
		else el.setAttribute(k, v === true ? "" : String(v));
	}
	for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
	return el;
}

/** DOM append() would print null/undefined as text: skip them. */
const appendAll = (parent, ...children) => parent.append(...children.flat().filter((c) => c !== null && c !== undefined));

const fmtDate = (iso) => (iso ? dateFmt.format(new Date(iso)) : "—");
const badge = (kind, text) => h("span", { class: `badge ${kind}` }, text);

// ---------------------------------------------------------------------------------------------
// Words: plurals, sizes (Ko, Mo), dates in the organisation's time zone, backups named by their
// date, alert channels by what they are, API refusals in the page's language. Ids stay in UTC.

Object.assign(TEXT.fr, {
	plurals: {
		snapshotsRead: ["sauvegarde relue", "sauvegardes relues"], damaged: ["endommagée", "endommagées"],
		chunksRead: ["morceau relu", "morceaux relus"], days: ["jour", "jours"], weeks: ["semaine", "semaines"], months: ["mois", "mois"],
		pins: ["épinglage", "épinglages"], snapshots: ["sauvegarde", "sauvegardes"],
	},
	units: ["o", "Ko", "Mo", "Go"],
	channelNames: { resend: "E-mail (Resend)", emailjs: "E-mail (EmailJS)", cloudflare_email: "E-mail (Cloudflare)", email: "E-mail", webhook: "Webhook", heartbeat: "Signal de vie (surveillance externe)" },
	drill: { ok: "réussi", mismatch: "ÉCHEC (contenu différent)", error: "ÉCHEC (erreur)", failed: "ÉCHEC", skipped: "non fait", null: "non fait" },
	fateLater: "Supprimée plus tard", fateLaterWhy: "au plus {pct} % par passage",
	undoUntil: "Possible jusqu'à la prochaine sauvegarde réussie (la prochaine automatique : {date}). Remplacement fait le {done} depuis la sauvegarde du {date2}.",
	undoWhy: {
		no_replace: "Rien à annuler : aucun remplacement n'a été fait.",
		undone: "Rien à annuler : le dernier remplacement (le {done}) a déjà été annulé le {undone}.",
		released: "Rien à annuler : une sauvegarde réussie depuis le dernier remplacement (le {done}) a libéré les données gardées.",
	},
	undoDoneAt: "Remplacement annulé : les données d'avant le remplacement du {done} sont revenues.",
	apiErrors: {
		nothing_to_undo: "Rien à annuler : aucun remplacement ne peut être annulé (aucun n'a été fait, ou une sauvegarde réussie depuis a libéré les données gardées).",
		restore_in_progress: "Une restauration est en cours : réessayez quand elle sera terminée.",
		backup_in_progress: "Une sauvegarde est en cours : réessayez quand elle sera terminée.",
		erasure_in_progress: "Un effacement est en cours : réessayez dans un instant.",
		undo_in_progress: "Une annulation est déjà en cours.",
		undo_pending: "Le dernier remplacement peut encore être annulé : annulez-le, ou lancez d'abord une sauvegarde.",
		snapshot_not_found: "Cette sauvegarde n'existe plus : actualisez la liste.",
		not_found: "Introuvable : actualisez la page.",
	},
});
Object.assign(TEXT.en, {
	plurals: {
		snapshotsRead: ["backup re-read", "backups re-read"], damaged: ["damaged", "damaged"],
		chunksRead: ["chunk re-read", "chunks re-read"], days: ["day", "days"], weeks: ["week", "weeks"], months: ["month", "months"],
		pins: ["pin", "pins"], snapshots: ["backup", "backups"],
	},
	units: ["B", "KB", "MB", "GB"],
	channelNames: { resend: "E-mail (Resend)", emailjs: "E-mail (EmailJS)", cloudflare_email: "E-mail (Cloudflare)", email: "E-mail", webhook: "Webhook", heartbeat: "Heartbeat (outside monitor)" },
	drill: { ok: "passed", mismatch: "FAILED (content differs)", error: "FAILED (error)", failed: "FAILED", skipped: "not done", null: "not done" },
	reasons: {
		daily: "day of {date}", weekly: "week of {date}", monthly: "month of {month}", newest: "the newest verified", future: "dated in the future",
		pinned: "pinned: data disappeared (seen on {date})", restore: "read by a running restore", verification: "read by a running verification",
		deferred: "at most {pct} % of the backups removed per run: a later run removes it", held: "held: the last backup failed",
		outside: "outside the day, week and month slots",
	},
	fateLater: "Removed later", fateLaterWhy: "at most {pct} % per run",
	undoUntil: "Possible until the next successful backup (the next automatic one: {date}). Replace done on {done} from the backup of {date2}.",
	undoWhy: {
		no_replace: "Nothing to undo: no replace has been done.",
		undone: "Nothing to undo: the last replace ({done}) was already undone on {undone}.",
		released: "Nothing to undo: a successful backup since the last replace ({done}) released the kept data.",
	},
	undoDoneAt: "Replace undone: the data from before the replace of {done} is back.",
	apiErrors: {
		nothing_to_undo: "Nothing to undo: no replace can be undone (none was done, or a successful backup since released the kept data).",
		restore_in_progress: "A restore is running: try again once it has finished.",
		backup_in_progress: "A backup is running: try again once it has finished.",
		erasure_in_progress: "An erasure is running: try again in a moment.",
		undo_in_progress: "An undo is already running.",
		undo_pending: "The last replace can still be undone: undo it, or run a backup first.",
		snapshot_not_found: "This backup no longer exists: refresh the list.",
		not_found: "Not found: refresh the page.",
	},
});

const words = (key) => TEXT[lang][key] ?? TEXT.fr[key];

/** `1 morceau relu`, `2 morceaux relus`: French treats 0 and 1 as singular, English only 1. */
function plural(n, key) {
	const [one, many] = words("plurals")[key];
	const singular = lang === "fr" ? Math.abs(n) < 2 : n === 1;
	return `${numberFmt.format(n)} ${singular ? one : many}`;
}

/** Readable size in powers of 1024: `820 o`, `12 Ko`, `3,4 Mo`, `1,2 Go` (B, KB, MB, GB in English). */
function fmtBytes(bytes) {
	const units = words("units");
	let value = bytes ?? 0;
	let i = 0;
	while (value >= 1024 && i < units.length - 1) {
		value /= 1024;
		i++;
	}
	return `${numberFmt.format(i === 0 ? value : Math.round(value * 10) / 10)}\u00a0${units[i]}`;
}

/** Every date of the page in the organisation's time zone (status `timezone`, TIMEZONE). */
function useTimeZone(timeZone) {
	try {
		dateFmt = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "fr-FR", { dateStyle: "medium", timeStyle: "short", timeZone: timeZone || "Europe/Paris" });
	} catch {
		// An unknown zone keeps the previous formatter (the server refuses a bad TIMEZONE anyway).
	}
}

/** The instant a snapshot id names (`2026-12-02T020000Z-…`, UTC), as an ISO string; null if not an id. */
function snapshotTime(id) {
	const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id ?? "");
	return m ? `${m[1]}T${m[2]}:${m[3]}:${m[4]}Z` : null;
}

/** A backup as a sentence names it: its local date and time (the id only if it is not one). */
const snapshotDate = (id) => (snapshotTime(id) ? fmtDate(snapshotTime(id)) : id);

/** An alert channel by what it is (`E-mail (Resend)`, `Webhook`), not by its configuration name. */
const channelName = (id) => words("channelNames")[id] ?? id;

/** An API refusal in the page's language when its code is known, else the server's message. */
function apiMessage(err) {
	const code = err instanceof ApiFailure ? err.body?.error?.code : undefined;
	return (code && words("apiErrors")[code]) || err.message;
}

function flash(message, isError = false) {
	const el = $("flash");
	el.textContent = message;
	el.className = isError ? "notice error" : "notice";
	el.hidden = false;
	el.scrollIntoView({ block: "nearest" });
}

class ApiFailure extends Error {
	constructor(status, body) {
		super(localApiMessage(body) ?? body?.error?.message ?? `HTTP ${status}`);
		this.status = status;
		this.body = body;
	}
}

async function api(path, init = {}) {
	let res;
	try {
		res = await fetch(path, {
			...init,
			headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ""}`, ...(init.headers ?? {}) },
		});
	} catch {
		throw new ApiFailure(0, { error: { message: t("unreachable") } });
	}
	if (res.status === 401) {
		sessionStorage.removeItem(TOKEN_KEY);
		showLogin(t("badToken"));
		throw new ApiFailure(401, null);
	}
	if (!res.ok) throw new ApiFailure(res.status, await res.json().catch(() => null));
	return res;
}
const getJson = async (path) => (await api(path)).json();
const postJson = async (path, body) =>
	(await api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function poll(path) {
	for (let i = 0; i < 7200; i++) {
		const s = await getJson(path);
		if (!["queued", "running", "waiting", "unknown"].includes(s.status)) return s;
		await sleep(1000);
	}
	throw new Error("timeout");
}

/** Save a file the page has fetched (the token cannot ride on a plain link): a link to a blob, clicked. */
function saveBlob(blob, filename) {
	const url = URL.createObjectURL(blob);
	const a = h("a", { href: url, download: filename });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Run an action with its button disabled; report API errors in the flash area. */
async function busy(button, fn) {
	button.disabled = true;
	try {
		await fn();
	} catch (err) {
		if (!(err instanceof ApiFailure && err.status === 401)) flash(apiMessage(err), true);
	} finally {
		button.disabled = false;
	}
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// The verdict banner: one word (« Tout va bien » / « Attention » / « Problème ») at the very top
// of the status card, with an icon and a colour that only repeat the word, then every reason with
// what to do. The sentences come from the API (GET /api/admin/status `verdict`, in both languages).

Object.assign(TEXT.fr, { verdictTodo: "À faire :", verdictReasons: "Pourquoi" });
Object.assign(TEXT.en, { verdictTodo: "What to do:", verdictReasons: "Why" });

const VERDICT_LOOK = { ok: { icon: "✓", kind: "ok" }, warning: { icon: "!", kind: "warn" }, problem: { icon: "✖", kind: "bad" } };

/** The banner for a verdict, or null when the API sent none (an older server). */
function renderVerdict(v) {
	if (!v) return null;
	const look = VERDICT_LOOK[v.level] ?? VERDICT_LOOK.warning;
	return h(
		"section",
		{ class: `verdict verdict-${v.level}`, "data-testid": "verdict", "data-level": v.level, role: v.level === "problem" ? "alert" : "status" },
		h(
			"p",
			{ class: "verdict-head" },
			h("span", { class: `verdict-icon badge ${look.kind}`, "aria-hidden": "true" }, look.icon),
			" ",
			h("strong", { class: "verdict-label" }, v.label[lang]),
			v.reasons.length === 0 ? [" — ", v.summary[lang]] : null,
		),
		v.reasons.length === 0
			? null
			: h(
					"ul",
					{ class: "verdict-reasons", "aria-label": t("verdictReasons") },
					v.reasons.map((r) =>
						h(
							"li",
							{ "data-code": r.code, "data-level": r.level },
							h("span", { class: "verdict-text" }, r.text[lang]),
							" ",
							h("span", { class: "verdict-action" }, h("strong", {}, t("verdictTodo")), " ", r.action[lang]),
						),
					),
				),
	);
}

function renderStatus(s) {
	const box = $("status");
	box.replaceChildren();
	box.removeAttribute("aria-busy");
	const runBadge = !s.lastRun
		? t("none")
		: [
				s.lastRun.status === "complete" ? badge("ok", t("complete")) : s.lastRun.status === "failed" ? badge("bad", t("failed")) : badge("warn", t(s.lastRun.status)),
				" ",
				fmtDate(s.lastRun.finishedAt ?? s.lastRun.startedAt),
				s.lastRun.status === "failed" && s.lastRun.error ? h("div", { class: "error" }, explainedFailure(s.lastRun)) : null,
			];
	const channelText = { ok: "channelOk", failing: "channelFailing", unused: "channelUnused", misconfigured: "channelMisconfigured" };
	const channelKind = { ok: "ok", failing: "bad", unused: "warn", misconfigured: "bad" };
	appendAll(
		box,
		// The verdict says everything the old "stale" notice said, and more.
		s.verdict ? renderVerdict(s.verdict) : s.stale ? h("p", { class: "notice error", role: "alert" }, badge("bad", t("stale")), " ", t("staleExplain", { h: s.thresholdHours })) : null,
		h(
			"dl",
			{ class: "facts" },
			h("dt", {}, t("lastRun")), h("dd", {}, runBadge),
			h("dt", {}, t("newest")),
			h("dd", {}, s.newestSnapshot ? [s.stale ? badge("bad", t("stale")) : badge("ok", t("ok")), " ", fmtDate(s.newestSnapshot.finishedAt), ` (${t("age")} ${numberFmt.format(Math.round(s.newestSnapshot.ageHours * 10) / 10)} ${t("hours")})`] : t("none")),
			h("dt", {}, t("nextRun")), h("dd", {}, fmtDate(s.nextScheduledRun)),
			h("dt", {}, t("count")), h("dd", {}, numberFmt.format(s.snapshots?.count ?? 0)),
			h("dt", {}, t("size")), h("dd", {}, fmtBytes(s.snapshots?.totalBytes ?? 0)),
			h("dt", {}, t("channels")),
			h("dd", {}, (s.channels ?? []).length === 0 ? t("none") : h("ul", {}, s.channels.map((c) => h("li", {}, `${channelName(c.channel)} `, badge(channelKind[c.health] ?? "warn", t(channelText[c.health] ?? c.health)), c.lastError ? ` — ${c.lastError}` : "")))),
			h("dt", {}, t("weekly")),
			h("dd", {}, !s.verification ? t("none") : [
				s.verification.status === "ok" ? badge("ok", t("ok")) : badge("bad", t("failed")),
				" ", fmtDate(s.verification.finishedAt),
				` — ${t("weeklyFacts", { checked: plural(s.verification.snapshotsChecked, "snapshotsRead"), corrupt: plural(s.verification.snapshotsCorrupt, "damaged"), drill: words("drill")[s.verification.drillStatus] ?? s.verification.drillStatus })}`,
				...(s.verification.corrupt ?? []).map((c) => h("div", { class: "error" }, `${snapshotDate(c.snapshotId)} ${c.chunk ?? ""}: ${c.reason}`)),
				...renderCoverage(s.verification.coverage),
			]),
			h("dt", {}, t("offsite")),
			h("dd", { "data-testid": "offsite" }, !s.offsite ? [badge("warn", t("none")), " ", t("offsiteNone")]
				: s.offsite.error ? [badge("bad", t("outOfDate")), " ", t("offsiteUnreadable", { error: s.offsite.error })]
				: !s.offsite.newest ? [badge("bad", t("outOfDate")), " ", t("offsiteEmpty")]
				: [s.offsite.stale ? badge("bad", t("outOfDate")) : badge("ok", t("ok")), " ", fmtDate(s.offsite.newest.at), ` (${t("age")} ${numberFmt.format(Math.round(s.offsite.newest.ageHours * 10) / 10)} ${t("hours")}${s.offsite.encrypted ? `, ${t("encrypted")}` : ""})`]),
			h("dt", {}, t("policy")),
			h("dd", {}, s.retention ? t("policyFacts", { d: plural(s.retention.keepDaily, "days"), w: plural(s.retention.keepWeekly, "weeks"), m: plural(s.retention.keepMonthly, "months") }) : "—"),
		),
	);
}

function renderSnapshots(list, pinned = new Set()) {
	const box = $("snapshots");
	box.replaceChildren();
	box.removeAttribute("aria-busy");
	if (list.length === 0) return box.append(h("p", {}, t("noSnapshot")));
	const headers = [t("date"), t("trigger"), t("submissions"), t("rows"), t("sizeCol"), t("verified"), t("actions")];
	const cell = (i, content, cls) => h("td", { class: cls, "data-label": headers[i] }, content);
	const rows = list.map((s) =>
		h(
			"tr",
			{},
			cell(0, [fmtDate(s.time), ...(pinned.has(s.id) ? [" ", badge("warn", t("pinnedBadge"))] : []), h("br"), h("code", {}, s.id)]),
			cell(1, t(s.trigger)),
			cell(2, numberFmt.format(s.rows?.submissions ?? 0), "num"),
			cell(3, numberFmt.format(s.totalRows ?? 0), "num"),
			cell(4, fmtBytes(s.bytes ?? 0), "num"),
			cell(5, s.verified ? badge("ok", t("yes")) : badge("bad", t("no"))),
			cell(
				6,
				h(
					"div",
					{ class: "actions" },
					h("button", { type: "button", class: "secondary", onclick: (e) => busy(e.currentTarget, () => verifySnapshot(s.id)) }, t("verify")),
					h("button", { type: "button", class: "secondary", onclick: (e) => busy(e.currentTarget, () => downloadSnapshot(s.id)) }, t("download")),
					h("button", { type: "button", onclick: () => openRestore(s.id) }, t("restore")),
				),
			),
		),
	);
	box.append(
		h(
			"div",
			{ class: "table-wrap" },
			h(
				"table",
				{ class: "cards" },
				h("thead", {}, h("tr", {}, headers.map((x, i) => h("th", { scope: "col", class: i >= 2 && i <= 4 ? "num" : null }, x)))),
				h("tbody", {}, rows),
			),
		),
	);
}

async function refresh() {
	const [status, snaps, pins] = await Promise.all([getJson("/api/admin/status"), getJson("/api/admin/snapshots"), getJson("/api/admin/pins")]);
	useTimeZone(status.timezone);
	renderStatus(status);
	renderPlatform(status.platform);
	const list = pins.pins ?? [];
	renderSnapshots(snaps.snapshots ?? [], new Set(list.filter((p) => p.active).flatMap((p) => p.snapshotIds)));
	renderPins(list);
	await loadUndo();
}

// ---------------------------------------------------------------------------------------------
// Pins: after a data loss, the backups from before it are kept until an administrator releases them.

const pinMessage = (p) => p.message?.[lang] ?? p.message?.fr ?? p.reason;

function renderPins(pins) {
	const box = $("pins");
	box.replaceChildren();
	const active = pins.filter((p) => p.active);
	const released = pins.filter((p) => !p.active);
	const snapshotList = (p) =>
		h("details", {}, h("summary", {}, t("pinSnapshots", { n: p.snapshotIds.length })), h("ul", {}, p.snapshotIds.map((id) => h("li", {}, snapshotDate(id), " ", h("code", { class: "hint" }, id)))));
	appendAll(
		box,
		active.length === 0 ? h("p", {}, t("noPin")) : null,
		active.map((p) =>
			h(
				"div",
				{ class: "notice error pin", "data-pin": p.id },
				h("p", {}, badge("bad", t("pinActive")), " ", t("pinSince", { date: fmtDate(p.createdAt) })),
				h("p", {}, pinMessage(p)),
				snapshotList(p),
				h("p", {}, h("button", { type: "button", class: "secondary", onclick: (e) => releasePin(e.currentTarget, p) }, t("release"))),
			),
		),
		released.length === 0
			? null
			: h(
					"details",
					{},
					h("summary", {}, t("releasedPins", { n: released.length })),
					released.map((p) => h("div", { class: "notice", "data-pin": p.id }, h("p", {}, pinMessage(p)), snapshotList(p))),
				),
	);
}

function releasePin(button, pin) {
	if (!confirm(t("releaseConfirm", { n: plural(pin.snapshotIds.length, "snapshots") }))) return;
	busy(button, async () => {
		await postJson(`/api/admin/pins/${encodeURIComponent(pin.id)}/release`, {});
		flash(t("released"));
		await refresh();
	});
}

async function verifySnapshot(id) {
	const date = snapshotDate(id);
	flash(t("verifying", { date }));
	const started = await postJson(`/api/admin/snapshots/${encodeURIComponent(id)}/verify`, {});
	const r = await poll(started.statusUrl);
	if (r.status === "ok") flash(t("verifyOk", { date, chunks: plural(r.chunksChecked, "chunksRead"), size: fmtBytes(r.bytesChecked) }));
	else {
		const problems = (r.details?.corrupt ?? []).map((p) => `${p.chunk ?? (lang === "fr" ? "manifeste" : "manifest")} : ${p.reason}`);
		flash(t("verifyBad", { date, problems: problems.join(" ; ") || r.error || r.status }), true);
	}
}

async function downloadSnapshot(id) {
	flash(t("downloading", { date: snapshotDate(id) }));
	// Chunk by chunk (each one request returning a stored object: within the CPU budget whatever
	// the snapshot's size; the whole-snapshot route is one request), saved as one .ndjson.gz.
	const base = `/api/admin/snapshots/${encodeURIComponent(id)}`;
	const manifest = await getJson(`${base}/manifest`);
	const blobs = [];
	for (const c of manifest.chunks) blobs.push(await (await api(`${base}/chunks/${c.n}`)).blob());
	saveBlob(new Blob(blobs, { type: "application/gzip" }), `snapshot-${id}${manifest.encryption ? ".ndjson.gz.age" : ".ndjson.gz"}`);
	$("flash").hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Progress of a long job (issue 13.5): a live element updated by polling about once a second,
// then its outcome in words. progressBox() and pollProgress() are generic (any status URL that
// answers { status, progress? }); backupNow() uses them for "Lancer une sauvegarde maintenant".

Object.assign(TEXT.fr, {
	progressLabel: "Avancement de la sauvegarde", progressStarting: "Sauvegarde lancée, démarrage…",
	progressOf: "{stage} — {rows} sur {total}, {chunks} — depuis {elapsed}", progressNoTotal: "{stage} — {rows}, {chunks} — depuis {elapsed}",
	line: "ligne", lines: "lignes", chunkWritten: "morceau écrit", chunksWritten: "morceaux écrits",
	backupSucceeded: "Sauvegarde réussie et vérifiée : {rows} en {chunks}, en {elapsed}.", chunk: "morceau", chunkMany: "morceaux",
	backupFailedPlain: "La sauvegarde a échoué ({stage}).", technicalDetail: "Détail technique (pour le développeur)",
	reference: "Référence",
});
Object.assign(TEXT.en, {
	progressLabel: "Backup progress", progressStarting: "Backup started, starting…",
	progressOf: "{stage} — {rows} of {total}, {chunks} — for {elapsed}", progressNoTotal: "{stage} — {rows}, {chunks} — for {elapsed}",
	line: "row", lines: "rows", chunkWritten: "chunk written", chunksWritten: "chunks written",
	backupSucceeded: "Backup succeeded and verified: {rows} in {chunks}, in {elapsed}.", chunk: "chunk", chunkMany: "chunks",
	backupFailedPlain: "The backup failed ({stage}).", technicalDetail: "Technical detail (for the developer)",
	reference: "Reference",
});

/** "1 ligne", "2 lignes" (French: 0 and 1 are singular). */
const countOf = (n, one, many) => `${numberFmt.format(n)} ${(lang === "fr" ? n < 2 : n === 1) ? t(one) : t(many)}`;
/** Seconds as "12 s", "3 min 05 s", "1 h 02 min". */
function fmtElapsed(seconds) {
	const s = Math.max(0, Math.round(seconds ?? 0));
	if (s < 60) return `${s}\u00a0s`;
	if (s < 3600) return `${Math.floor(s / 60)}\u00a0min\u00a0${String(s % 60).padStart(2, "0")}\u00a0s`;
	return `${Math.floor(s / 3600)}\u00a0h\u00a0${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}\u00a0min`;
}

/** A live progress element: a bar (indeterminate without a total), one line of words, then the outcome. */
function progressBox(id, label) {
	const bar = h("progress", { max: "1", "aria-label": label });
	const text = h("span", { class: "progress-text" });
	const el = h("div", { id, class: "notice progress", role: "status", "aria-live": "polite", "data-testid": id, "data-state": "running" }, bar, text);
	return {
		el,
		update(line, fraction) {
			text.textContent = line;
			if (fraction == null || !Number.isFinite(fraction)) bar.removeAttribute("value");
			else bar.value = Math.min(1, Math.max(0, fraction));
		},
		finish(ok, ...content) {
			el.dataset.state = ok ? "ok" : "failed";
			el.className = ok ? "notice progress" : "notice progress error";
			el.setAttribute("role", ok ? "status" : "alert");
			el.replaceChildren(...content.flat().filter((c) => c !== null && c !== undefined));
		},
	};
}

/** Poll a status URL about once a second, calling onTick with each answer, until the job has ended. */
async function pollProgress(path, onTick) {
	for (let i = 0; i < 7200; i++) {
		const s = await getJson(path);
		onTick(s);
		if (!["queued", "running", "waiting", "unknown"].includes(s.status)) return s;
		await sleep(1000);
	}
	throw new Error("timeout");
}

/** One line for a running backup: stage in words, rows and chunks done, time elapsed. */
function backupProgressLine(run) {
	const p = run.progress;
	if (!p) return t("progressStarting");
	const vars = {
		stage: p.stageText?.[lang] ?? p.stage,
		rows: countOf(p.rows, "line", "lines"),
		total: numberFmt.format(p.rowsTotal ?? 0),
		chunks: countOf(p.chunks, "chunkWritten", "chunksWritten"),
		elapsed: fmtElapsed(p.elapsedSeconds),
	};
	return t(p.rowsTotal ? "progressOf" : "progressNoTotal", vars);
}

/** A failed run: the explanation in words first, the technical detail folded away. */
function explainedFailure(run) {
	return [
		h("p", { class: "explanation" }, run.explanation?.[lang] ?? t("backupFailedPlain", { stage: run.stage ?? "?" })),
		run.error ? h("details", {}, h("summary", {}, t("technicalDetail")), h("p", {}, h("code", {}, `${run.stage ?? ""} — ${run.error}`)), h("p", {}, t("reference"), " ", h("code", {}, run.id ?? ""))) : null,
	];
}

async function backupNow(button) {
	await busy(button, async () => {
		let started;
		try {
			started = await postJson("/api/admin/backups", {});
			$("flash").hidden = true;
		} catch (err) {
			if (!(err instanceof ApiFailure && err.status === 409)) throw err;
			// One backup at a time: follow the one already running instead.
			flash(t("backupBusy"));
			if (!err.body?.statusUrl) return;
			started = { id: err.body.id, statusUrl: err.body.statusUrl };
		}
		const box = progressBox("backup-progress", t("progressLabel"));
		const old = $("backup-progress");
		if (old) old.replaceWith(box.el);
		else $("status").before(box.el);
		box.update(t("progressStarting"), null);
		const r = await pollProgress(started.statusUrl, (s) => {
			if (s.status === "queued" || s.status === "running") box.update(backupProgressLine(s), s.progress?.rowsTotal ? s.progress.rows / s.progress.rowsTotal : null);
		});
		if (r.status === "complete") {
			const p = r.progress ?? { rows: r.rows, chunks: r.chunks, elapsedSeconds: 0 };
			box.finish(
				true,
				h("p", {}, badge("ok", t("complete")), " ", t("backupSucceeded", { rows: countOf(p.rows, "line", "lines"), chunks: countOf(p.chunks, "chunk", "chunkMany"), elapsed: fmtElapsed(p.elapsedSeconds) })),
				h("p", { class: "hint" }, t("reference"), " ", h("code", {}, r.snapshotId ?? "")),
			);
		} else box.finish(false, badge("bad", t("failed")), explainedFailure(r));
		await refresh();
	});
}

// ---------------------------------------------------------------------------------------------
// Restore: always a preview first, then merge or replace after an explicit confirmation.

const tableLabel = (name) => TEXT[lang].tables[name] ?? name;

function diffTable(tables) {
	const headers = [t("table"), t("added"), t("differ"), t("disappear"), t("erased")];
	return h(
		"div",
		{ class: "table-wrap" },
		h(
			"table",
			{ class: "cards" },
			h("thead", {}, h("tr", {}, headers.map((x, i) => h("th", { scope: "col", class: i ? "num" : null }, x)))),
			h(
				"tbody",
				{},
				Object.entries(tables).map(([name, d]) =>
					h(
						"tr",
						{},
						h("th", { scope: "row" }, tableLabel(name)),
						[d.added, d.differ, d.disappear, d.skippedErased].map((n, i) => h("td", { class: "num", "data-label": headers[i + 1] }, numberFmt.format(n ?? 0))),
					),
				),
			),
		),
	);
}

/** Rows the dry run refused (table, key, reason; never content): a write restore would be refused. */
function rejectedList(rejected) {
	const rows = rejected.rows ?? [];
	return h(
		"div",
		{},
		h("p", { class: "notice error" }, t("rejected", { n: numberFmt.format(rejected.total) })),
		h(
			"div",
			{ class: "table-wrap" },
			h(
				"table",
				{},
				h("thead", {}, h("tr", {}, [t("table"), t("rowKey"), t("reason")].map((x) => h("th", { scope: "col" }, x)))),
				h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, tableLabel(r.table)), h("td", {}, h("code", {}, r.key)), h("td", {}, r.reason)))),
			),
		),
		rejected.total > rows.length ? h("p", {}, t("rejectedMore", { n: numberFmt.format(rejected.total - rows.length) })) : null,
	);
}

Object.assign(TEXT.fr, {
	restoreOf: "Sauvegarde du {date}", restoreFirst: "Commencez par un aperçu : il ne modifie rien.",
	tablesDetail: "Détail par table (technique)", closePreview: "Fermer",
});
Object.assign(TEXT.en, {
	restoreOf: "Backup of {date}", restoreFirst: "Start with a preview: it changes nothing.",
	tablesDetail: "Details by table (technical)", closePreview: "Close",
});


/**
 * The restore card: the backup named by its date, a preview first, whose conclusion (one
 * sentence, computed by the server) comes before the technical table; "Fermer" closes it at any
 * moment, even while the preview is computing (a late answer is then ignored).
 */
function openRestore(id) {
	const card = $("restore-card");
	const box = $("restore");
	card.hidden = false;
	const session = { closed: false };
	const close = () => {
		session.closed = true;
		card.hidden = true;
		box.replaceChildren();
	};
	const result = h("div", { "aria-live": "polite" });
	const actions = h("div", { class: "actions row" });
	const previewBtn = h("button", { type: "button" }, t("preview"));
	previewBtn.addEventListener("click", () =>
		busy(previewBtn, async () => {
			result.replaceChildren(h("p", {}, t("previewing")));
			actions.replaceChildren();
			const run = await runRestore(id, "dry-run");
			if (session.closed) return;
			if (run.status !== "complete") return result.replaceChildren(h("p", { class: "error" }, t("restoreFailed", { error: run.error ?? run.status })));
			const summary = run.summary;
			result.replaceChildren(
				summary ? h("p", { class: `notice${summary.blocked ? " error" : ""}`, "data-testid": "restore-summary" }, summary[lang] ?? summary.fr) : null,
				// Other notices about this preview (e.g. a platform limit) go here, after the conclusion.
				h("div", { class: "restore-notices" }, ...restoreBudgetNotice(run.report?.budget)),
				h("details", { class: "restore-tables" }, h("summary", {}, t("tablesDetail")), diffTable(run.report?.tables ?? {})),
			);
			if (run.report?.rejected) return result.append(rejectedList(run.report.rejected));
			actions.replaceChildren(
				h("button", { type: "button", class: "secondary", onclick: (e) => confirmAndRun(e.currentTarget, id, "merge", result, summary) }, t("merge")),
				h("button", { type: "button", class: "danger", onclick: (e) => confirmAndRun(e.currentTarget, id, "replace", result, summary) }, t("replace")),
			);
		}),
	);
	const at = snapshotTime(id);
	box.replaceChildren(
		h(
			"div",
			{ class: "row" },
			h("p", {}, h("strong", {}, t("restoreOf", { date: at ? fmtDate(at) : id })), h("br"), h("small", { class: "hint" }, h("code", {}, id))),
			h("button", { type: "button", class: "secondary", "data-testid": "restore-close", onclick: close }, t("closePreview")),
		),
		h("p", {}, t("restoreFirst")),
		previewBtn,
		result,
		actions,
	);
	card.scrollIntoView({ block: "start" });
	previewBtn.focus();
}

async function runRestore(snapshotId, mode) {
	const started = await postJson("/api/admin/restore", { snapshotId, mode });
	return poll(started.statusUrl);
}

function confirmAndRun(button, id, mode, result, summary) {
	// The confirmation repeats the preview's numbers ("Remplacer supprimera 3 réponses…").
	const words = summary?.confirm?.[mode];
	if (!confirm(words ? (words[lang] ?? words.fr) : t(mode === "merge" ? "confirmMerge" : "confirmReplace", { date: snapshotDate(id) }))) return;
	busy(button, async () => {
		result.replaceChildren(h("p", {}, t("restoring")));
		const run = await runRestore(id, mode);
		const p = run.progress ?? {};
		result.replaceChildren(
			run.status === "complete"
				? h("p", { class: "notice" }, t("restoreDone", { written: numberFmt.format(p.rowsWritten ?? 0), erased: numberFmt.format(p.rowsSkippedErased ?? 0) }))
				: h("p", { class: "notice error" }, t("restoreFailed", { error: run.error ?? run.status })),
		);
		await refresh();
	});
}

// ---------------------------------------------------------------------------------------------
// Retention preview: each backup's real fate and its reasons in words (the API's `fate` and `why`,
// src/http/retention.ts). Period keys are UTC days, ISO weeks and months.

const dayFmt = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "fr-FR", { day: "numeric", month: "short", timeZone: "UTC" });
const monthFmt = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "fr-FR", { month: "long", year: "numeric", timeZone: "UTC" });

/** The Monday of an ISO week key (`2026-W49`), as a UTC date. */
function isoWeekMonday(key) {
	const [year, week] = key.split("-W").map(Number);
	const jan4 = new Date(Date.UTC(year, 0, 4));
	const monday = new Date(jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86_400_000);
	return new Date(monday.getTime() + (week - 1) * 7 * 86_400_000);
}

/** One reason ({code, …} from the API) in the page's language. */
function reasonText(why) {
	const R = words("reasons");
	const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
	switch (why.code) {
		case "daily": return fill(R.daily, { date: dayFmt.format(new Date(`${why.period}T12:00:00Z`)) });
		case "weekly": return fill(R.weekly, { date: dayFmt.format(isoWeekMonday(why.period)) });
		case "monthly": return fill(R.monthly, { month: monthFmt.format(new Date(`${why.period}-15T12:00:00Z`)) });
		case "newest": return R.newest;
		case "future": return R.future;
		case "pinned": return fill(R.pinned, { date: snapshotDate(why.detectedIn) });
		case "in_use": return why.reader === "restore" ? R.restore : R.verification;
		case "held": return R.held;
		case "deferred": return fill(R.deferred, { pct: numberFmt.format(why.maxRemovePct) });
		case "outside": return R.outside;
		default: return why.text ?? why.code;
	}
}

/** The decision badge: kept, removed now, or removed by a later run (kept now only by the per-run cap). */
function fateBadge(d) {
	if (d.fate === "remove_later") {
		const pct = (d.why ?? []).find((w) => w.code === "deferred")?.maxRemovePct;
		return [badge("warn", t("fateLater")), " ", h("span", { class: "hint" }, `(${t("fateLaterWhy", { pct: numberFmt.format(pct ?? 0) })})`)];
	}
	return d.keep ? badge("ok", t("keep")) : badge("bad", t("remove"));
}

async function previewRetention(button) {
	await busy(button, async () => {
		const r = await getJson("/api/admin/retention");
		const box = $("retention");
		// The dry run's summary (src/retention/job.ts): `snapshots` newest first, each with keep, fate
		// and reasons; `pins` the pins holding now, `newPin` one a loss just seen would create.
		const decisions = r.snapshots ?? [];
		box.replaceChildren();
		appendAll(
			box,
			r.newPin ? h("p", { class: "notice error" }, t("wouldPin", { message: pinMessage(r.newPin) })) : null,
			!r.newPin && (r.pins ?? []).length > 0 ? h("p", { class: "notice" }, t("pinnedNow", { n: plural(r.pins.length, "pins") })) : null,
			h(
				"div",
				{ class: "table-wrap" },
				h(
					"table",
					{},
					h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("date")), h("th", { scope: "col" }, ""), h("th", { scope: "col" }, t("why")))),
					h(
						"tbody",
						{},
						decisions.map((d) =>
							h(
								"tr",
								{ "data-fate": d.fate },
								h("td", {}, fmtDate(d.time), h("br"), h("code", {}, d.id)),
								h("td", {}, fateBadge(d)),
								h("td", {}, (d.why ?? []).map(reasonText).join(lang === "fr" ? " ; " : "; ")),
							),
						),
					),
				),
			),
		);
	});
}

// ---------------------------------------------------------------------------------------------
// Undo of the last replace: the button is only enabled when there is something to undo, and says
// until when (GET /api/admin/restore/undo); otherwise the reason stands next to it.

async function loadUndo() {
	const button = $("undo");
	let why = $("undo-why");
	if (!why) {
		why = h("span", { id: "undo-why", class: "hint", "aria-live": "polite" });
		button.after(" ", why);
		button.setAttribute("aria-describedby", "undo-why");
	}
	const state = await getJson("/api/admin/restore/undo");
	const done = state.replace?.finishedAt ? fmtDate(state.replace.finishedAt) : "—";
	button.disabled = !state.available;
	why.textContent = state.available
		? t("undoUntil", { date: fmtDate(state.nextBackupAt), done, date2: snapshotDate(state.replace?.snapshotId) })
		: (words("undoWhy")[state.reason] ?? "").replace(/\{(\w+)\}/g, (_, k) => (k === "done" ? done : k === "undone" ? fmtDate(state.replace?.undoneAt) : ""));
	return state;
}

async function undoReplace(button) {
	if (!confirm(t("undoConfirm"))) return;
	button.disabled = true;
	try {
		const state = await loadUndo();
		if (!state.available) return;
		button.disabled = true;
		await postJson("/api/admin/restore/undo", {});
		flash(t("undoDoneAt", { done: state.replace?.finishedAt ? fmtDate(state.replace.finishedAt) : "—" }));
		await refresh();
	} catch (err) {
		if (!(err instanceof ApiFailure && err.status === 401)) flash(apiMessage(err), true);
		await loadUndo().catch(() => {});
	}
}

// ---------------------------------------------------------------------------------------------

function showLogin(message) {
	$("app").hidden = true;
	$("logout").hidden = true;
	$("login").hidden = false;
	const err = $("login-error");
	err.hidden = !message;
	err.textContent = message ?? "";
	$("token").focus();
}

async function showApp() {
	$("login").hidden = true;
	$("app").hidden = false;
	$("logout").hidden = false;
	try {
		await refresh();
	} catch (err) {
		if (!(err instanceof ApiFailure && err.status === 401)) flash(err.message, true);
	}
	await loadRoles();
}

document.addEventListener("DOMContentLoaded", () => {
	document.documentElement.lang = lang;
	for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
	document.title = t("title");
	$("login").addEventListener("submit", (e) => {
		e.preventDefault();
		sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
		$("token").value = "";
		showApp();
	});
	$("logout").addEventListener("click", () => {
		sessionStorage.removeItem(TOKEN_KEY);
		showLogin();
	});
	$("refresh").addEventListener("click", (e) => busy(e.currentTarget, refresh));
	$("backup-now").addEventListener("click", (e) => backupNow(e.currentTarget));
	$("retention-preview").addEventListener("click", (e) => previewRetention(e.currentTarget));
	$("export-csv").addEventListener("click", (e) => busy(e.currentTarget, exportCsvJob));
	$("undo").addEventListener("click", (e) => undoReplace(e.currentTarget));
	if (sessionStorage.getItem(TOKEN_KEY)) showApp();
	else showLogin();
});

// ---------------------------------------------------------------------------------------------
// Platform budget: the Cloudflare plan's limits and this deployment's figures against them
// (GET /api/admin/status `platform`), and the restore preview's check of D1's daily write limit.

Object.assign(TEXT.fr, {
	platformTitleFree: "Budget Cloudflare (offre gratuite)",
	platformTitlePaid: "Budget Cloudflare (offre payante)",
	platformWhat: "Quoi", platformUsed: "Utilisé", platformLimit: "Limite", platformShare: "Part de la limite",
	platformNoLimit: "pas de limite (facturé à l'usage)",
	platformAllGood: "Tout est dans les limites de l'offre.",
	platformWarningsOne: "Un chiffre dépasse 80 % de sa limite :",
	platformWarningsMany: "{n} chiffres dépassent 80 % de leur limite :",
	platformHint: "Chiffres comptés par l'application elle-même : « aujourd'hui » commence à minuit UTC (1 h ou 2 h du matin à Paris), « ce mois-ci » le 1er. Ce qui est fait depuis la console Cloudflare, avec wrangler ou par un autre Worker du compte n'y figure pas.",
	platformUnknown: "Budget indisponible (serveur d'une version antérieure).",
	platformRestoreFits: "Limite quotidienne d'écriture : une fusion écrirait jusqu'à {merge} lignes, un remplacement jusqu'à {replace} ; il en reste {left} aujourd'hui. Les deux tiennent.",
	platformRestoreRefused: "Restauration refusée : elle écrirait plus de lignes qu'il n'en reste aujourd'hui dans la limite quotidienne de l'offre gratuite de Cloudflare. L'aperçu dit quand la relancer ou que faire (docs/restore-runbook.md).",
});
Object.assign(TEXT.en, {
	platformTitleFree: "Cloudflare budget (Free plan)",
	platformTitlePaid: "Cloudflare budget (Paid plan)",
	platformWhat: "What", platformUsed: "Used", platformLimit: "Limit", platformShare: "Share of the limit",
	platformNoLimit: "no limit (billed by use)",
	platformAllGood: "Everything is within the plan's limits.",
	platformWarningsOne: "One figure is above 80 % of its limit:",
	platformWarningsMany: "{n} figures are above 80 % of their limit:",
	platformHint: "Figures counted by the application itself: \"today\" starts at 00:00 UTC, \"this month\" on the 1st. What is done from the Cloudflare dashboard, with wrangler or by another Worker of the account is not included.",
	platformUnknown: "Budget unavailable (server of an older version).",
	platformRestoreFits: "Daily write limit: a merge would write up to {merge} rows, a replace up to {replace}; {left} are left today. Both fit.",
	platformRestoreRefused: "Restore refused: it would write more rows than are left today within Cloudflare's Free plan daily limit. The preview says when to start it again or what to do (docs/restore-runbook.md).",
});

/** The dashboard's own words for an API refusal whose English message it should not show as is. */
function localApiMessage(body) {
	return body?.error?.code === "daily_write_limit" ? t("platformRestoreRefused") : null;
}

/** "12,5 %", or "< 0,1 %" for a figure that is not zero but rounds to it. */
function fmtPlatformPercent(f) {
	return f.percent === 0 && f.value > 0 ? `< ${numberFmt.format(0.1)} %` : `${numberFmt.format(f.percent)} %`;
}

function fmtPlatformValue(value, unit) {
	if (unit === "bytes") return fmtBytes(value);
	return numberFmt.format(value);
}

function renderPlatform(p) {
	const box = $("platform");
	box.replaceChildren();
	box.removeAttribute("aria-busy");
	if (!p) return box.append(h("p", {}, t("platformUnknown")));
	$("platform-title").textContent = t(p.plan === "paid" ? "platformTitlePaid" : "platformTitleFree");
	const headers = [t("platformWhat"), t("platformUsed"), t("platformLimit"), t("platformShare")];
	const rows = p.figures.map((f) =>
		h(
			"tr",
			{ "data-key": f.key, class: f.warning ? "over" : null },
			h("th", { scope: "row" }, f.label[lang] ?? f.label.fr),
			h("td", { class: "num", "data-label": headers[1] }, fmtPlatformValue(f.value, f.unit)),
			h("td", { class: "num", "data-label": headers[2] }, f.limit === null ? t("platformNoLimit") : fmtPlatformValue(f.limit, f.unit)),
			h(
				"td",
				{ "data-label": headers[3] },
				f.percent === null
					? "—"
					: [
							h("progress", { max: "100", value: String(Math.min(100, f.percent)), "aria-label": f.label[lang] ?? f.label.fr }),
							" ",
							f.warning ? badge("bad", fmtPlatformPercent(f)) : fmtPlatformPercent(f),
						],
			),
		),
	);
	appendAll(
		box,
		p.warnings.length === 0
			? h("p", { class: "notice" }, badge("ok", t("ok")), " ", t("platformAllGood"))
			: h(
					"div",
					{ class: "notice error", role: "alert", "data-testid": "platform-warnings" },
					h("p", {}, t(p.warnings.length === 1 ? "platformWarningsOne" : "platformWarningsMany", { n: p.warnings.length })),
					h("ul", {}, p.warnings.map((w) => h("li", {}, w.message[lang] ?? w.message.fr))),
				),
		h(
			"div",
			{ class: "table-wrap" },
			h(
				"table",
				{ class: "cards platform" },
				h("thead", {}, h("tr", {}, headers.map((x, i) => h("th", { scope: "col", class: i === 1 || i === 2 ? "num" : null }, x)))),
				h("tbody", {}, rows),
			),
		),
		h("p", { class: "hint" }, t("platformHint")),
	);
}

/** The restore preview's line about D1's daily write limit: elements to append (none without a budget). */
function restoreBudgetNotice(budget) {
	if (!budget) return [];
	if (budget.message) return [h("p", { class: "notice error", role: "alert", "data-testid": "restore-budget" }, budget.message[lang] ?? budget.message.fr)];
	if (budget.dailyLimit === null) return [];
	const left = Math.max(0, budget.dailyLimit - budget.writtenToday);
	return [
		h(
			"p",
			{ class: "hint", "data-testid": "restore-budget" },
			t("platformRestoreFits", { merge: numberFmt.format(budget.merge.rows), replace: numberFmt.format(budget.replace.rows), left: numberFmt.format(left) }),
		),
	];
}

// CSV export as a server job (POST /api/admin/exports): started by the button, its progress shown
// under it ("Préparation du fichier : 12 000 / 40 000 réponses") until the file is ready, then
// downloaded. The file is made in pages on the server, so that no request does all the work.

Object.assign(TEXT.fr, {
	csvStarting: "Préparation du fichier…",
	csvProgress: "Préparation du fichier : {done} / {total} réponses",
	csvFailed: "La préparation du fichier a échoué ({error}). Réessayez ; si cela recommence, prévenez la personne qui gère le site.",
	csvDownloading: "Fichier prêt : téléchargement…",
});
Object.assign(TEXT.en, {
	csvStarting: "Preparing the file…",
	csvProgress: "Preparing the file: {done} / {total} answers",
	csvFailed: "Preparing the file failed ({error}). Try again; if it happens again, tell whoever runs the site.",
	csvDownloading: "File ready: downloading…",
});

/** The progress line under the export button (made once, on first use). */
function exportProgressBox() {
	let box = $("export-progress");
	if (!box) {
		box = h("div", { id: "export-progress", class: "notice", role: "status", "aria-live": "polite" });
		$("export-csv").closest("p").after(box);
	}
	box.hidden = false;
	return box;
}

function showExportProgress(box, job) {
	const p = job?.progress;
	const text = p && p.rowsTotal !== null ? t("csvProgress", { done: numberFmt.format(p.rows), total: numberFmt.format(p.rowsTotal) }) : t("csvStarting");
	box.replaceChildren(h("span", { class: "export-text" }, text), p && p.rowsTotal ? h("progress", { max: p.rowsTotal, value: p.rows }) : null);
}

/**
 * Download the file piece by piece (each request stays within the server's CPU budget) and save
 * their concatenation under the file's name. The browser keeps the pieces as blobs until saved.
 */
async function saveExportPieces(job) {
	const blobs = [];
	for (let k = 0; k < job.pieces; k++) blobs.push(await (await api(`${job.downloadUrl}?piece=${k}`)).blob());
	saveBlob(new Blob(blobs, { type: "text/csv" }), job.fileName);
}

async function exportCsvJob() {
	const box = exportProgressBox();
	showExportProgress(box, null);
	try {
		let job = await postJson("/api/admin/exports", { kind: "csv", lang });
		for (let i = 0; i < 7200 && (job.status === "queued" || job.status === "running"); i++) {
			showExportProgress(box, job);
			await sleep(1000);
			job = await getJson(`/api/admin/exports/${encodeURIComponent(job.id)}`);
		}
		if (job.status !== "complete") throw new Error(t("csvFailed", { error: job.error ?? job.status }));
		showExportProgress(box, job);
		box.append(h("br"), t("csvDownloading"));
		await saveExportPieces(job);
		box.hidden = true;
		flash(t("csvDone"));
	} catch (err) {
		box.hidden = true;
		throw err;
	}
}

// ---------------------------------------------------------------------------------------------
// Roles: which roles respondents are offered, and the administrator's approve / rename / merge
// (GET /api/admin/roles, PATCH /api/admin/roles/{key}, POST /api/admin/roles/{key}/merge).
// Self-contained: its own texts, its own status line, loaded when the dashboard opens.

const ROLE_TEXT = {
	fr: {
		title: "Rôles proposés dans le questionnaire", refresh: "Actualiser les rôles",
		rule: "Un rôle saisi par un répondant n'est proposé aux autres qu'une fois utilisé par {n} répondants différents, ou si vous l'approuvez. Les rôles prévus par le questionnaire sont toujours proposés.",
		role: "Rôle", answers: "Réponses", respondents: "Répondants", offered: "Proposé ?", actions: "Actions",
		yesPredefined: "oui, prévu par le questionnaire", yesApproved: "oui, approuvé", yesShared: "oui, assez de répondants", no: "non",
		mergedInto: "fusionné dans « {label} »", approve: "Approuver", unapprove: "Retirer l'approbation",
		rename: "Renommer…", merge: "Fusionner dans…", save: "Enregistrer", cancel: "Annuler", newName: "Nouveau nom de « {label} »",
		mergeTarget: "Fusionner « {label} » dans", mergeConfirm: "Fusionner « {from} » dans « {into} » ? Ses réponses compteront comme « {into} », sous ce nom.",
		doMerge: "Fusionner", approved: "« {label} » est approuvé : il est proposé aux répondants.", unapproved: "« {label} » n'est plus approuvé.",
		renamed: "« {from} » s'appelle maintenant « {to} ».", merged: "« {from} » est fusionné dans « {into} ».", none: "Aucun rôle.",
		cut: "Les {shown} rôles les plus utilisés sur {total} sont affichés.",
		errors: {
			role_exists: "Un autre rôle porte déjà ce nom : fusionnez plutôt ce rôle dans celui-là.",
			role_predefined: "Ce rôle est prévu par le questionnaire : il ne peut être ni renommé ni fusionné dans un autre ici.",
			role_merged: "Ce rôle a été fusionné dans un autre : modifiez plutôt celui-là.",
			invalid_label: "Le nouveau nom est vide.", same_role: "Un rôle ne peut pas être fusionné dans lui-même.",
			role_not_found: "Ce rôle n'existe plus : actualisez la liste.", unknown_role: "Le rôle choisi n'existe plus : actualisez la liste.",
			restore_in_progress: "Une restauration est en cours : réessayez quand elle sera terminée.",
		},
	},
	en: {
		title: "Roles offered in the questionnaire", refresh: "Refresh the roles",
		rule: "A role typed by a respondent is only offered to others once {n} different respondents use it, or if you approve it. The questionnaire's own roles are always offered.",
		role: "Role", answers: "Answers", respondents: "Respondents", offered: "Offered?", actions: "Actions",
		yesPredefined: "yes, part of the questionnaire", yesApproved: "yes, approved", yesShared: "yes, enough respondents", no: "no",
		mergedInto: "merged into \"{label}\"", approve: "Approve", unapprove: "Withdraw approval",
		rename: "Rename…", merge: "Merge into…", save: "Save", cancel: "Cancel", newName: "New name of \"{label}\"",
		mergeTarget: "Merge \"{label}\" into", mergeConfirm: "Merge \"{from}\" into \"{into}\"? Its answers will count as \"{into}\", under that name.",
		doMerge: "Merge", approved: "\"{label}\" is approved: respondents are offered it.", unapproved: "\"{label}\" is no longer approved.",
		renamed: "\"{from}\" is now called \"{to}\".", merged: "\"{from}\" is merged into \"{into}\".", none: "No role.",
		cut: "The {shown} most used roles of {total} are shown.",
		errors: {
			role_exists: "Another role already has this name: merge this role into that one instead.",
			role_predefined: "This role is part of the questionnaire: it cannot be renamed or merged into another here.",
			role_merged: "This role was merged into another one: change that one instead.",
			invalid_label: "The new name is empty.", same_role: "A role cannot be merged into itself.",
			role_not_found: "This role no longer exists: refresh the list.", unknown_role: "The chosen role no longer exists: refresh the list.",
			restore_in_progress: "A restore is running: try again once it has finished.",
		},
	},
};

const rt = (key, vars = {}) => (ROLE_TEXT[lang][key] ?? ROLE_TEXT.fr[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));

/** A role action's outcome in the roles card's own status line. */
function rolesFlash(message, isError = false) {
	const el = $("roles-flash");
	el.textContent = message;
	el.className = isError ? "notice error" : "notice";
	el.hidden = false;
}

/** Run a role action; refusals are explained in French from their code. */
async function roleAction(button, fn) {
	button.disabled = true;
	try {
		await fn();
	} catch (err) {
		if (err instanceof ApiFailure && err.status === 401) return;
		const code = err instanceof ApiFailure ? err.body?.error?.code : undefined;
		rolesFlash(ROLE_TEXT[lang].errors[code] ?? err.message, true);
	} finally {
		button.disabled = false;
	}
}

const sendRoleJson = async (method, path, body) =>
	(await api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })).json();
const rolePath = (key) => `/api/admin/roles/${encodeURIComponent(key)}`;

function roleOffered(r) {
	if (r.mergedInto) return null;
	if (r.predefined) return badge("ok", rt("yesPredefined"));
	if (r.approvedAt) return badge("ok", rt("yesApproved"));
	return r.suggested ? badge("ok", rt("yesShared")) : badge("warn", rt("no"));
}

/** The inline form of one action, replacing the row's buttons until it is sent or cancelled. */
function roleInlineForm(actions, fields, submitLabel, onSubmit) {
	const form = h("form", { class: "role-form" }, fields);
	const submit = h("button", { type: "submit" }, submitLabel);
	const cancel = h("button", { type: "button", class: "secondary", onclick: () => renderRoles(lastRoles) }, rt("cancel"));
	form.append(h("div", { class: "actions" }, submit, cancel));
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		roleAction(submit, () => onSubmit(form));
	});
	actions.replaceChildren(form);
	form.querySelector("input, select")?.focus();
}

let lastRoles = null;

function renderRoles(list) {
	lastRoles = list;
	const box = $("roles");
	box.removeAttribute("aria-busy");
	$("roles-rule").textContent = rt("rule", { n: list.minRespondents });
	if (list.roles.length === 0) return box.replaceChildren(h("p", {}, rt("none")));
	const own = list.roles.filter((r) => !r.mergedInto);
	const stored = list.roles.filter((r) => r.createdAt).length;
	const headers = [rt("role"), rt("answers"), rt("respondents"), rt("offered"), rt("actions")];
	const cell = (i, content, cls) => h("td", { class: cls, "data-label": headers[i] }, content);
	const labelOf = (key) => list.roles.find((r) => r.key === key)?.label ?? key;
	const rows = list.roles.map((r) => {
		const actions = h("div", { class: "actions" });
		if (!r.mergedInto && !r.predefined) {
			const approve = h("button", { type: "button", class: "secondary" }, r.approvedAt ? rt("unapprove") : rt("approve"));
			approve.addEventListener("click", () =>
				roleAction(approve, async () => {
					renderRoles(await sendRoleJson("PATCH", rolePath(r.key), { approved: !r.approvedAt }));
					rolesFlash(rt(r.approvedAt ? "unapproved" : "approved", { label: r.label }));
				}),
			);
			const rename = h("button", { type: "button", class: "secondary" }, rt("rename"));
			rename.addEventListener("click", () => {
				const id = `role-name-${r.key}`;
				roleInlineForm(actions, [h("label", { for: id }, rt("newName", { label: r.label })), h("input", { id, name: "label", value: r.label, required: true, maxlength: 120 })], rt("save"), async (form) => {
					const to = form.elements.label.value;
					renderRoles(await sendRoleJson("PATCH", rolePath(r.key), { label: to }));
					rolesFlash(rt("renamed", { from: r.label, to: to.trim() }));
				});
			});
			const merge = h("button", { type: "button", class: "secondary" }, rt("merge"));
			merge.addEventListener("click", () => {
				const id = `role-into-${r.key}`;
				const options = own.filter((o) => o.key !== r.key).map((o) => h("option", { value: o.key }, o.label));
				roleInlineForm(actions, [h("label", { for: id }, rt("mergeTarget", { label: r.label })), h("select", { id, name: "into", required: true }, options)], rt("doMerge"), async (form) => {
					const into = form.elements.into.value;
					if (!confirm(rt("mergeConfirm", { from: r.label, into: labelOf(into) }))) return;
					renderRoles(await sendRoleJson("POST", `${rolePath(r.key)}/merge`, { into }));
					rolesFlash(rt("merged", { from: r.label, into: labelOf(into) }));
				});
			});
			actions.append(approve, rename, merge);
		}
		return h(
			"tr",
			{ class: r.mergedInto ? "merged" : null },
			// A merged role carries its target's name: show the spelling it was typed as (its key) instead.
			h("th", { scope: "row", "data-label": headers[0] }, r.mergedInto ? r.key : r.label, r.mergedInto ? h("div", { class: "hint" }, rt("mergedInto", { label: labelOf(r.mergedInto) })) : null),
			cell(1, numberFmt.format(r.totalUses), "num"),
			cell(2, numberFmt.format(r.respondents), "num"),
			cell(3, roleOffered(r)),
			cell(4, actions),
		);
	});
	box.replaceChildren(
		...(list.total > stored ? [h("p", { class: "hint" }, rt("cut", { shown: numberFmt.format(stored), total: numberFmt.format(list.total) }))] : []),
		h(
			"div",
			{ class: "table-wrap" },
			h(
				"table",
				{ class: "cards roles" },
				h("thead", {}, h("tr", {}, headers.map((x, i) => h("th", { scope: "col", class: i === 1 || i === 2 ? "num" : null }, x)))),
				h("tbody", {}, rows),
			),
		),
	);
}

async function loadRoles() {
	try {
		renderRoles(await getJson("/api/admin/roles"));
	} catch (err) {
		if (!(err instanceof ApiFailure && err.status === 401)) rolesFlash(err.message, true);
	}
}

document.addEventListener("DOMContentLoaded", () => {
	for (const el of document.querySelectorAll("[data-rt]")) el.textContent = rt(el.dataset.rt);
	$("roles-refresh").addEventListener("click", (e) => roleAction(e.currentTarget, async () => renderRoles(await getJson("/api/admin/roles"))));
});

// ---------------------------------------------------------------------------------------------
// Weekly verification coverage (issue 10): what share of the chunks the last run re-read.

/** One line under the last weekly verification, in the page's language; nothing for older runs. */
function renderCoverage(coverage) {
	if (!coverage) return [];
	return [h("div", { class: "coverage" }, lang === "en" ? coverage.en : coverage.fr)];
}
