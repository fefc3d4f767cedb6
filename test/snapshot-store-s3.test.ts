// The SnapshotStore contract against the S3-compatible adapter, on a real S3 server run locally
// (s3rver, started by test/s3/server.ts), reached over loopback from workerd.
import { inject } from "vitest";
import { s3SnapshotStore } from "../src/snapshots/s3-store";
import { describeSnapshotStoreContract } from "./contract/snapshot-store";

let n = 0;
describeSnapshotStoreContract(
	"S3-compatible (s3rver)",
	async () => ({
		store: s3SnapshotStore({
			endpoint: inject("s3Url"),
			bucket: "contract",
			region: "us-east-1",
			accessKeyId: "S3RVER",
			secretAccessKey: "S3RVER",
		}),
		prefix: `contract-${Date.now()}-${++n}/`,
	}),
	{ manyObjects: 1_010 },
);
