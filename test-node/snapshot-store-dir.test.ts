// The SnapshotStore contract against the local-directory adapter, on a real temporary folder.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { directorySnapshotStore } from "../src/snapshots/dir-store";
import { describeSnapshotStoreContract } from "../test/contract/snapshot-store";

const roots: string[] = [];
afterAll(async () => {
	for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function freshRoot(): Promise<string> {
	const root = await mkdtemp(path.join(tmpdir(), "store-contract-"));
	roots.push(root);
	return root;
}

describeSnapshotStoreContract("local directory", async () => ({ store: directorySnapshotStore(await freshRoot()), prefix: "p/" }));

describe("local directory adapter: what a person sees on disk", () => {
	it("keeps the bucket's layout, with metadata in hidden sidecars and no partial files left", async () => {
		const root = await freshRoot();
		const store = directorySnapshotStore(root);
		await store.put("snapshots/2026-11-25T020000Z-abc/chunk-000001.ndjson.gz", "x", { metadata: { rows: "1" } });
		await store.put("snapshots/2026-11-25T020000Z-abc/manifest.json", "{}", { ifAbsent: true });
		const files = await readdir(path.join(root, "snapshots", "2026-11-25T020000Z-abc"));
		expect(files.filter((f) => !f.startsWith(".")).sort()).toEqual(["chunk-000001.ndjson.gz", "manifest.json"]);
		expect(files.some((f) => f.includes("partial"))).toBe(false);
	});

	it("refuses keys that would leave its folder", async () => {
		const store = directorySnapshotStore(await freshRoot());
		for (const key of ["../evil", "a/../../evil", "a\\b", "/abs", "a//b", ".hidden"]) {
			await expect(store.put(key, "x")).rejects.toThrow(/invalid object key/);
		}
	});
});

describeSnapshotStoreContract("local directory with the mirror's key prefix", async () => ({
	store: directorySnapshotStore(await freshRoot(), { keyPrefix: "snapshots/" }),
	prefix: "snapshots/p/",
}));

describe("local directory adapter with a key prefix (the administrator's mirror)", () => {
	it("keeps one folder per snapshot right under its root", async () => {
		const root = await freshRoot();
		const store = directorySnapshotStore(root, { keyPrefix: "snapshots/" });
		await store.put("snapshots/2026-11-25T020000Z-abc/manifest.json", "{}");
		expect(await readdir(root)).toEqual(["2026-11-25T020000Z-abc"]);
		expect(await store.listFolders("snapshots/")).toEqual(["snapshots/2026-11-25T020000Z-abc/"]);
		await expect(store.put("elsewhere/x", "x")).rejects.toThrow(/invalid object key/);
	});
});
