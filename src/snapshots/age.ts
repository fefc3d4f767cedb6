// The encryption stage of the codec for copies outside Cloudflare: age (age-encryption.org/v1),
// through typage, the reference TypeScript implementation. The Worker only ever holds recipients
// (public keys, "age1…"); decrypting needs an identity ("AGE-SECRET-KEY-1…") that stays with the
// administrator. Output is the standard binary age format: `age -d -i key.txt` reads it.
// Runs in workerd and in Node: hence the explicit ".ts" imports.
import { Decrypter, Encrypter } from "age-encryption";
import type { Decryptor, Encryptor } from "./codec.ts";

/** An X25519 age recipient (what `age-keygen` prints as "public key"). */
const RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
/** A native age identity, as in the key file `age-keygen` writes. */
const IDENTITY = /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/;

/** Pure: parse BACKUP_AGE_RECIPIENTS (comma, space or newline separated). Throws naming the bad one. */
export function parseRecipients(text: string): string[] {
	const list = text
		.split(/[\s,]+/)
		.map((s) => s.trim())
		.filter(Boolean);
	for (const r of list) {
		if (!RECIPIENT.test(r)) throw new Error(`"${r.slice(0, 12)}…" is not an age public key (age1…)`);
	}
	return [...new Set(list)];
}

/** Pure: the identities of an age key file (comments and blank lines ignored). */
export function parseIdentityFile(text: string): string[] {
	const ids = text
		.split(/\r?\n/)
		.map((l) => l.trim())
		.filter((l) => l && !l.startsWith("#"));
	if (ids.length === 0 || ids.some((l) => !IDENTITY.test(l))) {
		throw new Error("not an age identity file (expected lines starting with AGE-SECRET-KEY-1)");
	}
	return ids;
}

/** Encrypt to every recipient (any one identity decrypts). */
export function buildAgeEncryptor(recipients: readonly string[]): Encryptor {
	if (recipients.length === 0) throw new Error("at least one age recipient is needed");
	return {
		scheme: "age",
		recipients,
		async encrypt(data) {
			const e = new Encrypter();
			for (const r of recipients) e.addRecipient(r);
			return e.encrypt(data);
		},
	};
}

/** Decrypt with any of the given identities (old ones included, so rotated copies stay readable). */
export function buildAgeDecryptor(identities: readonly string[]): Decryptor {
	return {
		scheme: "age",
		async decrypt(data) {
			const d = new Decrypter();
			for (const i of identities) d.addIdentity(i);
			return d.decrypt(data, "uint8array");
		},
	};
}
