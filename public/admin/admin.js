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
		weeklyFacts: "{checked} sauvegardes relues, {corrupt} endommagée(s), exercice de restauration : {drill}", policy: "Politique de conservation", none: "aucune",
		ok: "OK", stale: "EN RETARD", failed: "ÉCHEC", running: "en cours", complete: "réussie", queued: "en attente",
		hours: "h", staleExplain: "Aucune sauvegarde vérifiée depuis plus de {h} heures.",
		date: "Date", trigger: "Origine", scheduled: "automatique", manual: "manuelle", submissions: "Réponses",
		rows: "Lignes", chunks: "Morceaux", verified: "Vérifiée", actions: "Actions", yes: "oui", no: "non",
		verify: "Vérifier", download: "Télécharger", restore: "Restaurer…", noSnapshot: "Aucune sauvegarde pour l'instant.",
		verifying: "Vérification de {id}…", verifyOk: "Sauvegarde {id} intacte : {chunks} morceaux relus ({rows}), toutes les empreintes et tous les enregistrements correspondent.",
		verifyBad: "Sauvegarde {id} ENDOMMAGÉE : {problems}", downloading: "Téléchargement de {id}…",
		backupStarted: "Sauvegarde lancée ({id})…", backupDone: "Sauvegarde réussie : {snapshot}, {rows} lignes.",
		backupFailed: "La sauvegarde a échoué à l'étape « {stage} » : {error}", backupBusy: "Une sauvegarde est déjà en cours ({id}).",
		restoreIntro: "Sauvegarde choisie : {id}. Commencez par un aperçu : il ne modifie rien.",
		preview: "Aperçu (ne modifie rien)", previewing: "Calcul de l'aperçu…", table: "Table",
		added: "À ajouter", differ: "Différentes", disappear: "Disparaîtraient", erased: "Effacées (jamais restaurées)",
		merge: "Fusionner : ajouter seulement ce qui manque", replace: "Remplacer toutes les données par cette sauvegarde",
		confirmMerge: "Ajouter les lignes manquantes depuis la sauvegarde {id} ? Les données actuelles ne sont pas modifiées.",
		confirmReplace: "Remplacer TOUTES les données actuelles par la sauvegarde {id} ?\n\nLes données actuelles sont gardées jusqu'à la prochaine sauvegarde réussie et le remplacement peut être annulé d'ici là.",
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
		release: "Libérer…", releaseConfirm: "Libérer cet épinglage ?\n\nLes {n} sauvegarde(s) d'avant la baisse suivront de nouveau la politique de conservation normale et pourront être supprimées. Ne le faites que si la baisse était voulue ou si les données ont été restaurées.",
		released: "Épinglage libéré : la conservation normale s'applique de nouveau.", releasedPins: "Épinglages libérés ({n})",
		wouldPin: "Une disparition de données vient d'être constatée ; la prochaine sauvegarde épinglera ces sauvegardes : {message}",
		pinnedNow: "{n} épinglage(s) en cours : les sauvegardes d'avant la baisse sont gardées.",
		reasons: {
			daily: "jour {k}", weekly: "semaine {k}", monthly: "mois {k}", newest: "la plus récente vérifiée", future: "datée dans le futur : gardée",
			pinned: "épinglée : données disparues (constaté dans {id})", restore: "lue par la restauration en cours {id}",
			verification: "vérification en cours {id}", deferred: "reportée : au plus {pct} % des sauvegardes supprimées par passage",
			held: "retenue : la dernière sauvegarde a échoué", outside: "hors des créneaux jour, semaine et mois",
		},
		tables: { submissions: "Réponses", roles: "Rôles", counters: "Compteurs", erasures: "Demandes d'effacement", erased_submissions: "Réponses effacées", audit_log: "Journal d'administration", backup_runs: "Historique des sauvegardes" },
		policyFacts: "{d} jours, {w} semaines, {m} mois", sizeCol: "Taille",
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
		weeklyFacts: "{checked} backups re-read, {corrupt} damaged, restore drill: {drill}", policy: "Retention policy",
		none: "none", ok: "OK", stale: "OVERDUE", failed: "FAILED", running: "running", complete: "succeeded",
		queued: "queued", hours: "h", staleExplain: "No verified backup for more than {h} hours.", date: "Date",
		trigger: "Trigger", scheduled: "scheduled", manual: "manual", submissions: "Answers", rows: "Rows",
		chunks: "Chunks", verified: "Verified", actions: "Actions", yes: "yes", no: "no", verify: "Verify",
		download: "Download", restore: "Restore…", noSnapshot: "No backup yet.", verifying: "Verifying {id}…",
		verifyOk: "Backup {id} is intact: {chunks} chunks re-read ({rows}), every checksum and record matches.",
		verifyBad: "Backup {id} is DAMAGED: {problems}", downloading: "Downloading {id}…",
		backupStarted: "Backup started ({id})…", backupDone: "Backup succeeded: {snapshot}, {rows} rows.",
		backupFailed: "The backup failed at stage \"{stage}\": {error}", backupBusy: "A backup is already running ({id}).",
		restoreIntro: "Chosen backup: {id}. Start with a preview: it changes nothing.",
		preview: "Preview (changes nothing)", previewing: "Computing the preview…", table: "Table", added: "To add",
		differ: "Different", disappear: "Would disappear", erased: "Erased (never restored)",
		merge: "Merge: only add what is missing", replace: "Replace all data with this backup",
		confirmMerge: "Add the missing rows from backup {id}? Current data is not changed.",
		confirmReplace: "Replace ALL current data with backup {id}?\n\nThe current data is kept until the next successful backup and the replace can be undone until then.",
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
		release: "Release…", releaseConfirm: "Release this pin?\n\nThe {n} backup(s) from before the drop will follow the normal retention policy again and may be deleted. Only do this if the drop was intended or the data has been restored.",
		released: "Pin released: normal retention applies again.", releasedPins: "Released pins ({n})",
		wouldPin: "A data loss has just been seen; the next backup will pin these backups: {message}",
		pinnedNow: "{n} pin(s) holding: the backups from before the drop are kept.",
		tables: { submissions: "Answers", roles: "Roles", counters: "Counters", erasures: "Erasure requests", erased_submissions: "Erased answers", audit_log: "Admin log", backup_runs: "Backup history" },
		policyFacts: "{d} days, {w} weeks, {m} months", sizeCol: "Size",
		channelOk: "working", channelFailing: "failing", channelUnused: "not used yet", channelMisconfigured: "misconfigured",
	},
};

const lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "fr";
const t = (key, vars = {}) => (TEXT[lang][key] ?? TEXT.fr[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "admin-token";
const numberFmt = new Intl.NumberFormat(lang === "en" ? "en-GB" : "fr-FR");
const dateFmt = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "fr-FR", { dateStyle: "medium", timeStyle: "short" });

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
const fmtBytes = (n) => (n < 1024 * 1024 ? `${numberFmt.format(Math.ceil(n / 1024))} Kio` : `${numberFmt.format(Math.round((n / 1048576) * 10) / 10)} Mio`);
const badge = (kind, text) => h("span", { class: `badge ${kind}` }, text);

function flash(message, isError = false) {
	const el = $("flash");
	el.textContent = message;
	el.className = isError ? "notice error" : "notice";
	el.hidden = false;
	el.scrollIntoView({ block: "nearest" });
}

class ApiFailure extends Error {
	constructor(status, body) {
		super(body?.error?.message ?? `HTTP ${status}`);
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

async function saveDownload(path, filename) {
	const res = await api(path);
	const name = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") ?? "")?.[1] ?? filename;
	const url = URL.createObjectURL(await res.blob());
	const a = h("a", { href: url, download: name });
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
		if (!(err instanceof ApiFailure && err.status === 401)) flash(err.message, true);
	} finally {
		button.disabled = false;
	}
}

// ---------------------------------------------------------------------------------------------

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
				s.lastRun.status === "failed" && s.lastRun.error ? h("div", { class: "error" }, `${s.lastRun.stage ?? ""} — ${s.lastRun.error}`) : null,
			];
	const channelText = { ok: "channelOk", failing: "channelFailing", unused: "channelUnused", misconfigured: "channelMisconfigured" };
	const channelKind = { ok: "ok", failing: "bad", unused: "warn", misconfigured: "bad" };
	appendAll(
		box,
		s.stale ? h("p", { class: "notice error", role: "alert" }, badge("bad", t("stale")), " ", t("staleExplain", { h: s.thresholdHours })) : null,
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
			h("dd", {}, (s.channels ?? []).length === 0 ? t("none") : h("ul", {}, s.channels.map((c) => h("li", {}, `${c.channel} `, badge(channelKind[c.health] ?? "warn", t(channelText[c.health] ?? c.health)), c.lastError ? ` — ${c.lastError}` : "")))),
			h("dt", {}, t("weekly")),
			h("dd", {}, !s.verification ? t("none") : [
				s.verification.status === "ok" ? badge("ok", t("ok")) : badge("bad", t("failed")),
				" ", fmtDate(s.verification.finishedAt),
				` — ${t("weeklyFacts", { checked: s.verification.snapshotsChecked, corrupt: s.verification.snapshotsCorrupt, drill: s.verification.drillStatus ?? "—" })}`,
				...(s.verification.corrupt ?? []).map((c) => h("div", { class: "error" }, `${c.snapshotId} ${c.chunk ?? ""}: ${c.reason}`)),
				...renderCoverage(s.verification.coverage),
			]),
			h("dt", {}, t("offsite")),
			h("dd", { "data-testid": "offsite" }, !s.offsite ? [badge("warn", t("none")), " ", t("offsiteNone")]
				: s.offsite.error ? [badge("bad", t("outOfDate")), " ", t("offsiteUnreadable", { error: s.offsite.error })]
				: !s.offsite.newest ? [badge("bad", t("outOfDate")), " ", t("offsiteEmpty")]
				: [s.offsite.stale ? badge("bad", t("outOfDate")) : badge("ok", t("ok")), " ", fmtDate(s.offsite.newest.at), ` (${t("age")} ${numberFmt.format(Math.round(s.offsite.newest.ageHours * 10) / 10)} ${t("hours")}${s.offsite.encrypted ? `, ${t("encrypted")}` : ""})`]),
			h("dt", {}, t("policy")),
			h("dd", {}, s.retention ? t("policyFacts", { d: s.retention.keepDaily, w: s.retention.keepWeekly, m: s.retention.keepMonthly }) : "—"),
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
	renderStatus(status);
	const list = pins.pins ?? [];
	renderSnapshots(snaps.snapshots ?? [], new Set(list.filter((p) => p.active).flatMap((p) => p.snapshotIds)));
	renderPins(list);
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
		h("details", {}, h("summary", {}, t("pinSnapshots", { n: p.snapshotIds.length })), h("ul", {}, p.snapshotIds.map((id) => h("li", {}, h("code", {}, id)))));
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
	if (!confirm(t("releaseConfirm", { n: pin.snapshotIds.length }))) return;
	busy(button, async () => {
		await postJson(`/api/admin/pins/${encodeURIComponent(pin.id)}/release`, {});
		flash(t("released"));
		await refresh();
	});
}

async function verifySnapshot(id) {
	flash(t("verifying", { id }));
	const started = await postJson(`/api/admin/snapshots/${encodeURIComponent(id)}/verify`, {});
	const r = await poll(started.statusUrl);
	if (r.status === "ok") flash(t("verifyOk", { id, chunks: numberFmt.format(r.chunksChecked), rows: fmtBytes(r.bytesChecked) }));
	else {
		const problems = (r.details?.corrupt ?? []).map((p) => `${p.chunk ?? "manifest"}: ${p.reason}`);
		flash(t("verifyBad", { id, problems: problems.join(" ; ") || r.error || r.status }), true);
	}
}

async function downloadSnapshot(id) {
	flash(t("downloading", { id }));
	await saveDownload(`/api/admin/snapshots/${encodeURIComponent(id)}/download`, `snapshot-${id}.ndjson.gz`);
	$("flash").hidden = true;
}

async function backupNow(button) {
	await busy(button, async () => {
		let started;
		try {
			started = await postJson("/api/admin/backups", {});
		} catch (err) {
			if (err instanceof ApiFailure && err.status === 409) return flash(t("backupBusy", { id: err.body?.id ?? "" }), true);
			throw err;
		}
		flash(t("backupStarted", { id: started.id }));
		const r = await poll(started.statusUrl);
		if (r.status === "complete") flash(t("backupDone", { snapshot: r.snapshotId, rows: numberFmt.format(r.rows) }));
		else flash(t("backupFailed", { stage: r.stage ?? "?", error: r.error ?? "?" }), true);
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

function openRestore(id) {
	const card = $("restore-card");
	const box = $("restore");
	card.hidden = false;
	const result = h("div", { "aria-live": "polite" });
	const actions = h("div", { class: "actions row" });
	const previewBtn = h("button", { type: "button" }, t("preview"));
	previewBtn.addEventListener("click", () =>
		busy(previewBtn, async () => {
			result.replaceChildren(h("p", {}, t("previewing")));
			const run = await runRestore(id, "dry-run");
			if (run.status !== "complete") return result.replaceChildren(h("p", { class: "error" }, t("restoreFailed", { error: run.error ?? run.status })));
			result.replaceChildren(diffTable(run.report?.tables ?? {}));
			if (run.report?.rejected) {
				result.append(rejectedList(run.report.rejected));
				return actions.replaceChildren(h("button", { type: "button", class: "secondary", onclick: () => (card.hidden = true) }, t("cancel")));
			}
			actions.replaceChildren(
				h("button", { type: "button", class: "secondary", onclick: (e) => confirmAndRun(e.currentTarget, id, "merge", result) }, t("merge")),
				h("button", { type: "button", class: "danger", onclick: (e) => confirmAndRun(e.currentTarget, id, "replace", result) }, t("replace")),
				h("button", { type: "button", class: "secondary", onclick: () => (card.hidden = true) }, t("cancel")),
			);
		}),
	);
	box.replaceChildren(h("p", {}, t("restoreIntro", { id })), previewBtn, result, actions);
	card.scrollIntoView({ block: "start" });
	previewBtn.focus();
}

async function runRestore(snapshotId, mode) {
	const started = await postJson("/api/admin/restore", { snapshotId, mode });
	return poll(started.statusUrl);
}

function confirmAndRun(button, id, mode, result) {
	if (!confirm(t(mode === "merge" ? "confirmMerge" : "confirmReplace", { id }))) return;
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

/** A retention reason (English, from the API) in the page's language. */
function reasonText(reason) {
	if (lang !== "fr") return reason;
	const R = TEXT.fr.reasons;
	const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
	const rules = [
		[/^daily (\S+)$/, (m) => fill(R.daily, { k: m[1] })],
		[/^weekly (\S+)$/, (m) => fill(R.weekly, { k: m[1] })],
		[/^monthly (\S+)$/, (m) => fill(R.monthly, { k: m[1] })],
		[/^newest verified$/, () => R.newest],
		[/^future-dated/, () => R.future],
		[/^pinned: data loss seen in (\S+):/, (m) => fill(R.pinned, { id: m[1] })],
		[/^in use: restore (\S+)/, (m) => fill(R.restore, { id: m[1] })],
		[/^in use: verification (\S+)/, (m) => fill(R.verification, { id: m[1] })],
		[/^deferred: at most (\d+)%/, (m) => fill(R.deferred, { pct: m[1] })],
		[/^held:/, () => R.held],
		[/^outside the daily/, () => R.outside],
	];
	for (const [re, text] of rules) {
		const m = re.exec(reason);
		if (m) return text(m);
	}
	return reason;
}

async function previewRetention(button) {
	await busy(button, async () => {
		const r = await getJson("/api/admin/retention");
		const box = $("retention");
		// The dry run's summary (src/retention/job.ts): `snapshots` newest first, each with keep and
		// reasons; `pins` the pins holding now, `newPin` one a loss just seen would create.
		const decisions = r.snapshots ?? [];
		box.replaceChildren();
		appendAll(
			box,
			r.newPin ? h("p", { class: "notice error" }, t("wouldPin", { message: pinMessage(r.newPin) })) : null,
			!r.newPin && (r.pins ?? []).length > 0 ? h("p", { class: "notice" }, t("pinnedNow", { n: r.pins.length })) : null,
			h(
				"div",
				{ class: "table-wrap" },
				h(
					"table",
					{},
					h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("date")), h("th", { scope: "col" }, ""), h("th", { scope: "col" }, t("why")))),
					h("tbody", {}, decisions.map((d) => h("tr", {}, h("td", {}, fmtDate(d.time), h("br"), h("code", {}, d.id)), h("td", {}, d.keep ? badge("ok", t("keep")) : badge("bad", t("remove"))), h("td", {}, (d.reasons ?? []).map(reasonText).join(" ; "))))),
				),
			),
		);
	});
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
	$("export-csv").addEventListener("click", (e) =>
		busy(e.currentTarget, async () => {
			await saveDownload(`/api/admin/submissions.csv${lang === "en" ? "?lang=en" : ""}`, "reponses.csv");
			flash(t("csvDone"));
		}),
	);
	$("undo").addEventListener("click", (e) => {
		if (!confirm(t("undoConfirm"))) return;
		busy(e.currentTarget, async () => {
			await postJson("/api/admin/restore/undo", {});
			flash(t("undoDone"));
			await refresh();
		});
	});
	if (sessionStorage.getItem(TOKEN_KEY)) showApp();
	else showLogin();
});

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
