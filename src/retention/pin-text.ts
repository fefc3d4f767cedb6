// How a pin is explained to an administrator: one plain sentence in French (and English) built
// from its counts, shared by the API, hence the dashboard and the CLI. Pure.
import { parseSnapshotTime } from "../snapshots/format";
import type { TableLoss } from "./policy";

/** A pin as stored (src/db/retention-pins.ts PinRecord has this shape). */
export type PinFacts = {
	id: string;
	createdAt: string;
	detectedIn: string;
	lastBefore: string;
	snapshotIds: string[];
	tables: TableLoss[];
	reason: string;
	alertedAt: string | null;
	releasedAt: string | null;
};

/** The API's view of a pin. */
export type PinView = PinFacts & { active: boolean; message: { fr: string; en: string } };

type Noun = { one: string; many: string; goneOne: string; goneMany: string };

const FR: Record<string, Noun> = {
	submissions: { one: "réponse", many: "réponses", goneOne: "a disparu", goneMany: "ont disparu" },
	roles: { one: "rôle", many: "rôles", goneOne: "a disparu", goneMany: "ont disparu" },
	erasures: { one: "demande d'effacement", many: "demandes d'effacement", goneOne: "a disparu", goneMany: "ont disparu" },
	erased_submissions: { one: "trace d'effacement", many: "traces d'effacement", goneOne: "a disparu", goneMany: "ont disparu" },
	audit_log: { one: "ligne du journal d'administration", many: "lignes du journal d'administration", goneOne: "a disparu", goneMany: "ont disparu" },
};

const EN: Record<string, Noun> = {
	submissions: { one: "answer", many: "answers", goneOne: "has disappeared", goneMany: "have disappeared" },
	roles: { one: "role", many: "roles", goneOne: "has disappeared", goneMany: "have disappeared" },
	erasures: { one: "erasure request", many: "erasure requests", goneOne: "has disappeared", goneMany: "have disappeared" },
	erased_submissions: { one: "erasure record", many: "erasure records", goneOne: "has disappeared", goneMany: "have disappeared" },
	audit_log: { one: "admin log line", many: "admin log lines", goneOne: "has disappeared", goneMany: "have disappeared" },
};

/** `02/12/2026 à 10:00 UTC` / `02/12/2026 at 10:00 UTC`, from a snapshot id or an ISO time. */
function formatWhen(idOrIso: string, lang: "fr" | "en"): string {
	const t = parseSnapshotTime(idOrIso) ?? new Date(idOrIso);
	if (Number.isNaN(t.getTime())) return idOrIso;
	const iso = t.toISOString();
	return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)} ${lang === "fr" ? "à" : "at"} ${iso.slice(11, 16)} UTC`;
}

function noun(lang: "fr" | "en", table: string, n: number): { word: string; gone: string } {
	const entry = (lang === "fr" ? FR : EN)[table] ?? { one: table, many: table, goneOne: lang === "fr" ? "a disparu" : "has disappeared", goneMany: lang === "fr" ? "ont disparu" : "have disappeared" };
	// French: 0 and 1 are singular; English: only 1.
	const single = lang === "fr" ? n < 2 : n === 1;
	return { word: single ? entry.one : entry.many, gone: single ? entry.goneOne : entry.goneMany };
}

/** Pure: the sentence an administrator reads about a pin. */
export function buildPinMessage(pin: PinFacts, lang: "fr" | "en"): string {
	const fr = lang === "fr";
	const parts: string[] = [];
	for (const t of pin.tables) {
		const lost = noun(lang, t.table, t.lost);
		const held = noun(lang, t.table, t.from).word;
		let line = fr
			? `la sauvegarde du ${formatWhen(t.fromSnapshot, lang)} contenait ${t.from} ${held}, celle du ${formatWhen(pin.detectedIn, lang)} en contient ${t.to} : ${t.lost} ${lost.word} ${lost.gone} sans demande d'effacement`
			: `the backup of ${formatWhen(t.fromSnapshot, lang)} held ${t.from} ${held}, the one of ${formatWhen(pin.detectedIn, lang)} holds ${t.to}: ${t.lost} ${lost.word} ${lost.gone} without an erasure request`;
		if (t.erased > 0) {
			line += fr
				? ` (${t.erased === 1 ? "1 autre a été effacée" : `${t.erased} autres ont été effacées`} à la demande)`
				: ` (${t.erased} more erased on request)`;
		}
		parts.push(line);
	}
	const n = pin.snapshotIds.length;
	const head = fr ? "Des données ont disparu : " : "Data has disappeared: ";
	let tail: string;
	if (pin.releasedAt) {
		tail = fr
			? `Épinglage libéré le ${formatWhen(pin.releasedAt, lang)} : ${n < 2 ? "la sauvegarde d'avant la baisse suit" : `les ${n} sauvegardes d'avant la baisse suivent`} de nouveau la politique de conservation normale.`
			: `Pin released on ${formatWhen(pin.releasedAt, lang)}: ${n === 1 ? "the backup from before the drop follows" : `the ${n} backups from before the drop follow`} the normal retention policy again.`;
	} else {
		tail = fr
			? `${n < 2 ? "La sauvegarde d'avant la baisse est conservée jusqu'à ce qu'un administrateur la libère" : `Les ${n} sauvegardes d'avant la baisse sont conservées jusqu'à ce qu'un administrateur les libère`}.`
			: `${n === 1 ? "The backup from before the drop is kept" : `The ${n} backups from before the drop are kept`} until an administrator releases ${n === 1 ? "it" : "them"}.`;
	}
	return `${head}${parts.join(fr ? " ; " : "; ")}. ${tail}`;
}

/** Pure: a stored pin as the API shows it. */
export function buildPinView(pin: PinFacts): PinView {
	return { ...pin, active: pin.releasedAt === null, message: { fr: buildPinMessage(pin, "fr"), en: buildPinMessage(pin, "en") } };
}
