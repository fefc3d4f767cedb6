// The SnapshotStore contract against the R2 adapter, on workerd's real local R2.
import { env } from "cloudflare:test";
import { r2SnapshotStore } from "../src/snapshots/r2-store";
import { describeSnapshotStoreContract } from "./contract/snapshot-store";

let n = 0;
describeSnapshotStoreContract("R2", async () => ({
	store: r2SnapshotStore(env.R2_BUCKET),
	prefix: `contract-${Date.now()}-${++n}/`,
}));
