// Right-to-erasure requests, pure part: the request schema, e-mail normalisation and the salted
// hash recorded instead of the address. The D1 statements live in src/db/erasures.ts.
import { z } from "zod";
import { createHash } from "node:crypto";

/** Body of POST /api/admin/erasures: exactly one of submissionId or email. */
export const erasureRequestSchema = z
	.strictObject({
		submissionId: z.string().trim().min(1, "must not be empty").max(100, "is too long").optional(),
		email: z.string().trim().max(254, "is too long").pipe(z.email({ error: "must be an e-mail address" })).optional(),
	})
	.superRefine((v, ctx) => {
		const given = (v.submissionId !== undefined ? 1 : 0) + (v.email !== undefined ? 1 : 0);
		if (given !== 1) {
			ctx.addIssue({
				code: "custom",
				path: [v.email !== undefined ? "email" : "submissionId"],
				message: "give exactly one of submissionId or email",
			});
		}
	});
export type ErasureRequest = z.output<typeof erasureRequestSchema>;

/** The form stores addresses as typed; matching is on trimmed, NFC, lower-case text. */
export function normaliseEmail(email: string): string {
	return email.normalize("NFC").trim().toLowerCase();
}

/**
 * SHA-256 of salt + ":" + normalised e-mail, hex. The salt is random per erasure entry, so the
 * hashes of two entries cannot be linked, and the log cannot be searched with a list of
 * addresses; an administrator who knows an address can still check one entry (docs/erasure.md).
 */
export function hashEmail(email: string, salt: string): string {
	return createHash("sha256").update(`${salt}:${normaliseEmail(email)}`).digest("hex");
}

/** An erasure id: sorts by time, safe in URLs. */
export function buildErasureId(at: Date, random: string): string {
	const iso = at.toISOString();
	return `erasure-${iso.slice(0, 10)}t${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}z-${random}`;
}

/** Lower-case hex of random bytes (ids, salts). */
export function randomHex(bytes: number): string {
	const b = crypto.getRandomValues(new Uint8Array(bytes));
	return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}
