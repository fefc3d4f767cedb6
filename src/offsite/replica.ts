// The off-site replica as configured (OFFSITE_S3_*, BACKUP_AGE_RECIPIENTS): its store, its
// encryption, and what the status and the dead man's switch need to know about it.
import type { Config } from "../config";
import { buildAgeEncryptor } from "../snapshots/age";
import type { Encryptor } from "../snapshots/codec";
import { parseSnapshotTime } from "../snapshots/format";
import { s3SnapshotStore } from "../snapshots/s3-store";
import { listSnapshotFolders, type SnapshotStore } from "../snapshots/store";
import { isCopied } from "./replicate";

export type Replica = { store: SnapshotStore; encrypt: Encryptor | undefined; endpoint: string; bucket: string };

/** The replica of this deployment, or null when none is configured. */
export function findReplica(config: Config): Replica | null {
	if (!config.OFFSITE_S3_ENDPOINT || !config.OFFSITE_S3_BUCKET || !config.OFFSITE_S3_ACCESS_KEY_ID || !config.OFFSITE_S3_SECRET_ACCESS_KEY) {
		return null;
	}
	return {
		store: s3SnapshotStore({
			endpoint: config.OFFSITE_S3_ENDPOINT,
			bucket: config.OFFSITE_S3_BUCKET,
			region: config.OFFSITE_S3_REGION,
			accessKeyId: config.OFFSITE_S3_ACCESS_KEY_ID,
			secretAccessKey: config.OFFSITE_S3_SECRET_ACCESS_KEY,
		}),
		encrypt: config.BACKUP_AGE_RECIPIENTS.length > 0 ? buildAgeEncryptor(config.BACKUP_AGE_RECIPIENTS) : undefined,
		endpoint: config.OFFSITE_S3_ENDPOINT,
		bucket: config.OFFSITE_S3_BUCKET,
	};
}

export type ReplicaNewest = { snapshotId: string; at: string } | null;

/**
 * The newest committed snapshot of the replica (its time is the snapshot id's). One listing of the
 * folders, then newest first until one has its manifest: usually 1 list + 1 or 2 heads.
 */
export async function fetchReplicaNewest(replica: Replica): Promise<ReplicaNewest> {
	const ids = await listSnapshotFolders(replica.store);
	for (let i = ids.length - 1; i >= 0; i--) {
		const id = ids[i]!;
		if ((await isCopied(replica.store, id, true)) || (await isCopied(replica.store, id, false))) {
			return { snapshotId: id, at: parseSnapshotTime(id)!.toISOString() };
		}
	}
	return null;
}
