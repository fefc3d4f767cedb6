// Manifest authentication: an HMAC-SHA256 of the manifest's exact bytes with BACKUP_SIGNING_KEY, a
// secret the bucket does not hold. Anyone who can write to the bucket can write a manifest and its
// SHA-256, but not this signature: a planted snapshot is reported and never restored unchecked.
// Runs in workerd and in Node (WebCrypto in both): hence the explicit ".ts" imports.
import type { Manifest } from "./format.ts";

/** Object metadata key holding the signature: `hmac-sha256:<keyId>:<64 hex>`. */
export const MANIFEST_SIGNATURE_META = "manifest-signature";

/**
 * - valid: signed with the configured key;
 * - unsigned: no signature (written before signing existed, or by a deployment without a key);
 * - invalid: a signature that does not verify (tampered manifest, or planted by someone without the key);
 * - other-key: signed with a different key (a rotated or another deployment's key);
 * - no-key: this deployment has no BACKUP_SIGNING_KEY, so nothing can be checked.
 */
export type SignatureStatus = "valid" | "unsigned" | "invalid" | "other-key" | "no-key";

const encoder = new TextEncoder();

function toHex(bytes: ArrayBuffer): string {
	return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function importKey(secret: string): Promise<CryptoKey> {
	return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

/** A short, public name of a key (it reveals nothing usable): lets messages tell rotation from forgery. */
export async function buildKeyId(secret: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", encoder.encode(`cafes-partenaires signing key id\n${secret}`));
	return toHex(digest).slice(0, 16);
}

/** The signature of a manifest's exact text. */
export async function signManifest(text: string, secret: string): Promise<string> {
	const mac = await crypto.subtle.sign("HMAC", await importKey(secret), encoder.encode(text));
	return `hmac-sha256:${await buildKeyId(secret)}:${toHex(mac)}`;
}

const SIGNATURE = /^hmac-sha256:([0-9a-f]{16}):([0-9a-f]{64})$/;

/** Check a manifest's signature (constant-time comparison by WebCrypto's verify). */
export async function checkManifestSignature(
	text: string,
	signature: string | undefined,
	secret: string | undefined,
): Promise<SignatureStatus> {
	if (!secret) return "no-key";
	if (!signature) return "unsigned";
	const m = SIGNATURE.exec(signature);
	if (!m) return "invalid";
	if (m[1] !== (await buildKeyId(secret))) return "other-key";
	const mac = new Uint8Array(m[2]!.match(/../g)!.map((h) => Number.parseInt(h, 16)));
	const ok = await crypto.subtle.verify("HMAC", await importKey(secret), mac, encoder.encode(text));
	return ok ? "valid" : "invalid";
}

/** Is a snapshot with this status trusted without an explicit override? */
export function isTrusted(status: SignatureStatus): boolean {
	return status === "valid" || status === "no-key";
}

/** Plain French sentence for a status that is not trusted (shown to the administrator). */
export function describeSignature(status: SignatureStatus): string {
	switch (status) {
		case "valid":
			return "signée par cette installation";
		case "no-key":
			return "non vérifiable : BACKUP_SIGNING_KEY n'est pas configurée";
		case "unsigned":
			return "non signée (écrite avant la signature des sauvegardes, ou par une installation sans clé)";
		case "other-key":
			return "signée avec une autre clé (clé changée, ou autre installation)";
		case "invalid":
			return "signature invalide : ce manifeste a été modifié ou déposé par quelqu'un qui n'a pas la clé";
	}
}

/** Clock skew tolerated before a snapshot counts as "from the future". */
export const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

/** A snapshot that the monitor does not count, and why. */
export type IgnoredSnapshot = { snapshotId: string; reason: "future" | Exclude<SignatureStatus, "valid" | "no-key"> };

/** Pure: why a readable manifest is not counted as a verified backup (null: it counts). */
export function findIgnoreReason(manifest: Pick<Manifest, "finishedAt">, signature: SignatureStatus, now: Date): IgnoredSnapshot["reason"] | null {
	if (!isTrusted(signature)) return signature as IgnoredSnapshot["reason"];
	const at = Date.parse(manifest.finishedAt);
	if (!Number.isFinite(at) || at > now.getTime() + FUTURE_TOLERANCE_MS) return "future";
	return null;
}
