// The restore preview's conclusion in words: computed once on the server from the dry-run report
// (answers first, the backup by its local date, the oldest answer a replace would remove), with
// the confirmation texts repeating the numbers. Through the real RestoreWorkflow, and pure cases.
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { buildRestoreSummary } from "../src/restore/summary";
import { clearSnapshots, writeSnapshotOfDatabase } from "./helpers/snapshot";
import { runRestore, seed, wipe, type SeedSubmission } from "./helpers/restore-snapshot";

const db = env.DB;
const bucket = env.R2_BUCKET;
const T0 = new Date("2026-11-20T02:00:00Z");
const NOW = new Date("2026-12-03T10:00:00Z");

function subs(n: number, prefix = "s", day = "2026-11-12"): SeedSubmission[] {
	return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i + 1}`, role: "formateur", day }));
}

beforeEach(async () => {
	await wipe(db);
	await clearSnapshots(bucket);
});

type Summary = { fr: string; en: string; merge: { fr: string }; replace: { fr: string }; confirm: { merge: { fr: string }; replace: { fr: string; en: string } }; blocked: boolean };

describe("the dry run concludes in words", () => {
	it("names the backup by its date and the answers a replace would remove, from the oldest one's time", async () => {
		await seed(db, subs(6));
		const m = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 3);
		// Three answers arrive after the backup (received 2 Dec at 10:00 UTC = 11 h 00 in Paris).
		await seed(db, subs(3, "new", "2026-12-02"));
		const run = (await runRestore(m.snapshotId, "dry-run")) as unknown as { status: string; report: { oldestRemovedAt?: string }; summary: Summary };
		expect(run.status).toBe("complete");
		expect(run.report.oldestRemovedAt).toBe("2026-12-02T10:00:00.000Z");
		const s = run.summary;
		// The role's use count moved with the new answers: it differs too (answers are named first).
		expect(s.replace.fr).toBe("Remplacer supprimerait 3 réponses reçues depuis le 2 déc. à 11\u00a0h\u00a000, n'ajouterait rien et modifierait 1 rôle.");
		expect(s.merge.fr).toBe("Fusionner n'ajouterait rien : tout ce que contient la sauvegarde est déjà là.");
		// The backup by its local date (20 Nov 02:00 UTC = 03 h 00 in Paris), the sentence first.
		expect(s.fr.startsWith("Sauvegarde du 20 nov. à 03\u00a0h\u00a000 (6 réponses). Remplacer supprimerait 3 réponses")).toBe(true);
		expect(s.en).toContain("Replacing would remove 3 answers received since 2 Dec at 11:00, would add nothing and would change 1 role.");
		// The confirmation repeats the numbers, in the future tense.
		expect(s.confirm.replace.fr).toContain("Remplacer supprimera 3 réponses reçues depuis le 2 déc. à 11\u00a0h\u00a000, n'ajoutera rien et modifiera 1 rôle.");
		expect(s.blocked).toBe(false);
	});

	it("a merge that would add answers says how many; an identical database changes nothing", async () => {
		await seed(db, subs(5));
		const m = await writeSnapshotOfDatabase(bucket, db, T0, undefined, 3);
		const same = (await runRestore(m.snapshotId, "dry-run")) as unknown as { summary: Summary };
		expect(same.summary.replace.fr).toBe("Remplacer ne changerait rien : les données actuelles sont déjà celles de la sauvegarde.");
		await db.prepare("DELETE FROM submissions WHERE id IN ('s-1', 's-2')").run();
		const run = (await runRestore(m.snapshotId, "dry-run")) as unknown as { summary: Summary };
		expect(run.summary.merge.fr).toBe("Fusionner ajouterait 2 réponses, sans rien supprimer ni modifier.");
		expect(run.summary.confirm.merge.fr).toContain("Fusionner ajoutera 2 réponses");
		expect(run.summary.replace.fr).toBe("Remplacer ajouterait 2 réponses.");
	});
});

describe("buildRestoreSummary (pure)", () => {
	const id = "2026-12-02T020000Z-abcd1234";
	it("answers first, other tables after; without the oldest time, the count alone", () => {
		const s = buildRestoreSummary(
			id,
			{ tables: { roles: { added: 1, disappear: 2 }, submissions: { inSnapshot: 120, added: 0, differ: 1, disappear: 3 }, counters: { differ: 4 } } },
			"Europe/Paris",
			NOW,
		);
		expect(s.replace.fr).toBe("Remplacer supprimerait 3 réponses et 2 rôles, ajouterait 1 rôle et modifierait 1 réponse.");
		expect(s.merge.fr).toBe("Fusionner ajouterait 1 rôle, sans rien supprimer ni modifier.");
		expect(s.fr).toMatch(/^Sauvegarde du 2 déc\. à 03\u00a0h\u00a000 \(120 réponses\)\. Remplacer/);
		// Internal tables (counters) are never named.
		expect(s.fr).not.toMatch(/compteur|counter/i);
	});

	it("erased answers are said never to come back; a blocked snapshot says to choose another", () => {
		const erased = buildRestoreSummary(id, { tables: { submissions: { inSnapshot: 4, skippedErased: 2 } } }, "Europe/Paris", NOW);
		expect(erased.fr).toContain("2 réponses effacées à la demande de leurs auteurs ne seraient jamais restaurées.");
		const blocked = buildRestoreSummary(id, { tables: { submissions: { inSnapshot: 4 } }, rejected: { total: 1 } }, "Europe/Paris", NOW);
		expect(blocked.blocked).toBe(true);
		expect(blocked.fr).toContain("1 ligne ne passe pas le contrôle des lignes. Choisissez une autre sauvegarde.");
	});

	it("an empty report and a non-standard id still give sentences", () => {
		const s = buildRestoreSummary("odd-id", { tables: {} }, "Europe/Paris", NOW);
		expect(s.fr).toBe(
			"Sauvegarde du odd-id (0 réponse). Remplacer ne changerait rien : les données actuelles sont déjà celles de la sauvegarde. Fusionner n'ajouterait rien : tout ce que contient la sauvegarde est déjà là.",
		);
	});
});
