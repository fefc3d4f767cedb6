// The local-directory adapter of the SnapshotStore port: the same layout as the bucket, on a disk
// (the administrator's mirror, the CLI's downloads, tests). Node only (node:fs); never bundled into
// the Worker. Metadata and checksums live in a hidden sidecar per object, so that the folder a
// person sees holds exactly the snapshot's objects.
import { createHash, randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { StoreError, type ObjectInfo, type SnapshotStore } from "./store.ts";

/** Sidecar of `dir/name`: `dir/.name.meta.json` (hidden, never listed as an object). */
function sidecarOf(file: string): string {
	return path.join(path.dirname(file), `.${path.basename(file)}.meta.json`);
}

const TEMP_MARK = ".partial-";

/** A key is a relative "/" path of plain segments: no "..", no empty segment, no backslash. */
function checkKey(key: string): void {
	const segments = key.split("/");
	if (
		key.length === 0 ||
		key.includes("\\") ||
		key.includes("\0") ||
		segments.some((s) => s === "" || s === "." || s === ".." || s.startsWith("."))
	) {
		throw new StoreError("other", `invalid object key: ${JSON.stringify(key)}`);
	}
}

function isMissing(err: unknown): boolean {
	return (err as NodeJS.ErrnoException)?.code === "ENOENT";
}

/**
 * `options.keyPrefix` (e.g. "snapshots/") is stripped from every key on disk: the administrator's
 * mirror keeps one folder per snapshot right under `root` (`<root>/<snapshotId>/…`) while the keys
 * stay the bucket's. Keys outside the prefix are refused.
 */
export function directorySnapshotStore(root: string, options: { keyPrefix?: string } = {}): SnapshotStore {
	const keyPrefix = options.keyPrefix ?? "";
	const fileOf = (key: string) => {
		if (!key.startsWith(keyPrefix)) throw new StoreError("other", `invalid object key: ${JSON.stringify(key)}`);
		const rel = key.slice(keyPrefix.length);
		checkKey(rel);
		return path.join(root, ...rel.split("/"));
	};

	async function readMeta(file: string): Promise<Record<string, string>> {
		try {
			const meta = JSON.parse(await readFile(sidecarOf(file), "utf8")) as { metadata?: Record<string, string> };
			return meta.metadata ?? {};
		} catch {
			return {};
		}
	}

	/** Every object file under `dir`, as keys relative to the root. */
	async function walk(dir: string, out: ObjectInfo[]): Promise<void> {
		let entries;
		try {
			entries = await readdir(dir, { withFileTypes: true });
		} catch (err) {
			if (isMissing(err)) return;
			throw err;
		}
		for (const e of entries) {
			if (e.name.startsWith(".")) continue; // sidecars and partial writes
			const full = path.join(dir, e.name);
			if (e.isDirectory()) await walk(full, out);
			else if (e.isFile()) {
				const key = keyPrefix + path.relative(root, full).split(path.sep).join("/");
				out.push({ key, size: (await stat(full)).size, metadata: await readMeta(full) });
			}
		}
	}

	return {
		kind: "directory",
		async put(key, body, options = {}) {
			const file = fileOf(key);
			const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
			if (options.sha256 && createHash("sha256").update(bytes).digest("hex") !== options.sha256) {
				throw new StoreError("checksum", `put ${key}: SHA-256 does not match the body`);
			}
			await mkdir(path.dirname(file), { recursive: true });
			// Write beside the target, then rename (atomic on one file system) or link (create-only).
			const temp = path.join(path.dirname(file), `${TEMP_MARK}${randomBytes(6).toString("hex")}`);
			await writeFile(temp, bytes);
			const meta = { metadata: options.metadata ?? {}, sha256: options.sha256 ?? null, contentType: options.contentType ?? null };
			try {
				if (options.ifAbsent) {
					try {
						await link(temp, file);
					} catch (err) {
						if ((err as NodeJS.ErrnoException).code === "EEXIST") return { written: false };
						throw err;
					}
					await writeFile(sidecarOf(file), JSON.stringify(meta));
				} else {
					// Metadata first: a reader that sees the new bytes never sees older metadata after.
					await writeFile(sidecarOf(file), JSON.stringify(meta));
					await rename(temp, file);
				}
			} finally {
				await rm(temp, { force: true });
			}
			return { written: true };
		},
		async get(key) {
			const file = fileOf(key);
			try {
				const bytes = new Uint8Array(await readFile(file));
				return { key, size: bytes.byteLength, metadata: await readMeta(file), bytes };
			} catch (err) {
				if (isMissing(err)) return undefined;
				throw err;
			}
		},
		async getRange(key, offset, length) {
			const file = fileOf(key);
			let handle;
			try {
				handle = await open(file, "r");
			} catch (err) {
				if (isMissing(err)) return undefined;
				throw err;
			}
			try {
				const { size } = await handle.stat();
				const len = Math.max(0, Math.min(length, size - offset));
				const bytes = new Uint8Array(len);
				let read = 0;
				while (read < len) {
					const { bytesRead } = await handle.read(bytes, read, len - read, offset + read);
					if (bytesRead === 0) break;
					read += bytesRead;
				}
				return { key, size, metadata: await readMeta(file), bytes: bytes.subarray(0, read) };
			} finally {
				await handle.close();
			}
		},
		async getStream(key) {
			const obj = await this.get(key);
			if (!obj) return undefined;
			const { bytes, ...info } = obj;
			return { ...info, body: new Blob([bytes as Uint8Array<ArrayBuffer>]).stream() };
		},
		async head(key) {
			const file = fileOf(key);
			try {
				const s = await stat(file);
				if (!s.isFile()) return undefined;
				return { key, size: s.size, metadata: await readMeta(file) };
			} catch (err) {
				if (isMissing(err)) return undefined;
				throw err;
			}
		},
		async list(prefix) {
			// Walk from the deepest folder the prefix names, then filter by the full prefix.
			if (!prefix.startsWith(keyPrefix) && !keyPrefix.startsWith(prefix)) return [];
			const rel = prefix.length > keyPrefix.length ? prefix.slice(keyPrefix.length) : "";
			const cut = rel.lastIndexOf("/");
			const base = cut < 0 ? root : path.join(root, ...rel.slice(0, cut).split("/"));
			const out: ObjectInfo[] = [];
			await walk(base, out);
			return out.filter((o) => o.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
		},
		async listFolders(prefix) {
			const folders = new Set<string>();
			for (const o of await this.list(prefix)) {
				const rest = o.key.slice(prefix.length);
				const slash = rest.indexOf("/");
				if (slash > 0) folders.add(prefix + rest.slice(0, slash + 1));
			}
			return [...folders].sort();
		},
		async delete(keys) {
			for (const key of keys) {
				const file = fileOf(key);
				for (const f of [file, sidecarOf(file)]) {
					try {
						await unlink(f);
					} catch (err) {
						if (!isMissing(err)) throw err;
					}
				}
			}
		},
	} satisfies SnapshotStore;
}
