// How a pin explains itself to an administrator (plain French, and English): table-driven.
import { describe, expect, it } from "vitest";
import { buildPinMessage, buildPinView, type PinFacts } from "../src/retention/pin-text";

const P = "2026-11-24T020000Z-aaaa";
const N = "2026-11-25T020000Z-bbbb";

function pin(over: Partial<PinFacts> = {}): PinFacts {
	return {
		id: `pin-${N}`,
		createdAt: "2026-11-25T02:10:00.000Z",
		detectedIn: N,
		lastBefore: P,
		snapshotIds: [P],
		tables: [{ table: "submissions", fromSnapshot: P, from: 40, to: 10, erased: 0, lost: 30 }],
		reason: `data loss seen in ${N}: submissions 40 → 10 (30 missing)`,
		alertedAt: null,
		releasedAt: null,
		...over,
	};
}

describe("buildPinMessage", () => {
	it.each([
		{
			name: "the reproduction, one snapshot kept",
			pin: pin(),
			fr: "Des données ont disparu : la sauvegarde du 24/11/2026 à 02:00 UTC contenait 40 réponses, celle du 25/11/2026 à 02:00 UTC en contient 10 : 30 réponses ont disparu sans demande d'effacement. La sauvegarde d'avant la baisse est conservée jusqu'à ce qu'un administrateur la libère.",
			en: "Data has disappeared: the backup of 24/11/2026 at 02:00 UTC held 40 answers, the one of 25/11/2026 at 02:00 UTC holds 10: 30 answers have disappeared without an erasure request. The backup from before the drop is kept until an administrator releases it.",
		},
		{
			name: "singular, part explained by erasures, several snapshots",
			pin: pin({
				snapshotIds: ["a", "b", "c"],
				tables: [{ table: "submissions", fromSnapshot: P, from: 1, to: 0, erased: 1, lost: 1 }],
			}),
			fr: "Des données ont disparu : la sauvegarde du 24/11/2026 à 02:00 UTC contenait 1 réponse, celle du 25/11/2026 à 02:00 UTC en contient 0 : 1 réponse a disparu sans demande d'effacement (1 autre a été effacée à la demande). Les 3 sauvegardes d'avant la baisse sont conservées jusqu'à ce qu'un administrateur les libère.",
			en: "Data has disappeared: the backup of 24/11/2026 at 02:00 UTC held 1 answer, the one of 25/11/2026 at 02:00 UTC holds 0: 1 answer has disappeared without an erasure request (1 more erased on request). The 3 backups from before the drop are kept until an administrator releases them.",
		},
		{
			name: "two tables, released",
			pin: pin({
				snapshotIds: ["a", "b"],
				tables: [
					{ table: "submissions", fromSnapshot: P, from: 40, to: 8, erased: 2, lost: 30 },
					{ table: "roles", fromSnapshot: P, from: 5, to: 3, erased: 0, lost: 2 },
				],
				releasedAt: "2026-11-26T09:30:00.000Z",
			}),
			fr: "Des données ont disparu : la sauvegarde du 24/11/2026 à 02:00 UTC contenait 40 réponses, celle du 25/11/2026 à 02:00 UTC en contient 8 : 30 réponses ont disparu sans demande d'effacement (2 autres ont été effacées à la demande) ; la sauvegarde du 24/11/2026 à 02:00 UTC contenait 5 rôles, celle du 25/11/2026 à 02:00 UTC en contient 3 : 2 rôles ont disparu sans demande d'effacement. Épinglage libéré le 26/11/2026 à 09:30 UTC : les 2 sauvegardes d'avant la baisse suivent de nouveau la politique de conservation normale.",
			en: "Data has disappeared: the backup of 24/11/2026 at 02:00 UTC held 40 answers, the one of 25/11/2026 at 02:00 UTC holds 8: 30 answers have disappeared without an erasure request (2 more erased on request); the backup of 24/11/2026 at 02:00 UTC held 5 roles, the one of 25/11/2026 at 02:00 UTC holds 3: 2 roles have disappeared without an erasure request. Pin released on 26/11/2026 at 09:30 UTC: the 2 backups from before the drop follow the normal retention policy again.",
		},
	])("$name", (c) => {
		expect(buildPinMessage(c.pin, "fr")).toBe(c.fr);
		expect(buildPinMessage(c.pin, "en")).toBe(c.en);
	});

	it("the view says whether the pin holds", () => {
		expect(buildPinView(pin())).toMatchObject({ active: true, message: { fr: expect.stringContaining("30 réponses") } });
		expect(buildPinView(pin({ releasedAt: "2026-11-26T09:30:00.000Z" })).active).toBe(false);
	});
});
