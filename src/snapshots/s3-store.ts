// The S3-compatible adapter of the SnapshotStore port: the replica outside Cloudflare (Backblaze B2,
// Scaleway, OVHcloud, AWS S3, an R2 bucket of another account…). Requests are signed with AWS
// Signature V4 by aws4fetch (a few KiB, fetch-based: no AWS SDK in the Worker). Path-style URLs
// (`<endpoint>/<bucket>/<key>`), which every one of those providers accepts.
import { AwsClient } from "aws4fetch";
import { sha256Hex } from "./format";
import { StoreError, type ObjectInfo, type SnapshotStore } from "./store";

export type S3Config = {
	endpoint: string;
	bucket: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
};

const META_PREFIX = "x-amz-meta-";

/** `snapshots/a b/c` -> `snapshots/a%20b/c` (each segment encoded, slashes kept). */
function encodeKey(key: string): string {
	return key.split("/").map(encodeURIComponent).join("/");
}

function decodeXml(text: string): string {
	return text
		.replaceAll("&lt;", "<")
		.replaceAll("&gt;", ">")
		.replaceAll("&quot;", '"')
		.replaceAll("&apos;", "'")
		.replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
		.replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(Number.parseInt(n, 16)))
		.replaceAll("&amp;", "&");
}

/** Every `<tag>…</tag>` value inside each `<block>…</block>` of an XML listing. */
function xmlBlocks(xml: string, block: string): string[] {
	return [...xml.matchAll(new RegExp(`<${block}>([\\s\\S]*?)</${block}>`, "g"))].map((m) => m[1]!);
}

function xmlValue(xml: string, tag: string): string | undefined {
	const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
	return m ? decodeXml(m[1]!) : undefined;
}

function metadataOf(headers: Headers): Record<string, string> {
	const out: Record<string, string> = {};
	headers.forEach((value, name) => {
		if (name.toLowerCase().startsWith(META_PREFIX)) out[name.toLowerCase().slice(META_PREFIX.length)] = value;
	});
	return out;
}

/** A failed response as a StoreError with the provider's error code (never the request's secrets). */
async function failure(op: string, key: string, res: Response): Promise<StoreError> {
	const body = await res.text().catch(() => "");
	const code = xmlValue(body, "Code") ?? `HTTP ${res.status}`;
	const kind = res.status === 401 || res.status === 403 ? "denied" : res.status >= 500 ? "unavailable" : "other";
	return new StoreError(kind, `${op} ${key}: ${code} (${res.status})`);
}

export function s3SnapshotStore(config: S3Config): SnapshotStore {
	const client = new AwsClient({
		accessKeyId: config.accessKeyId,
		secretAccessKey: config.secretAccessKey,
		service: "s3",
		region: config.region,
		retries: 2,
	});
	const base = `${config.endpoint.replace(/\/+$/, "")}/${encodeURIComponent(config.bucket)}`;
	const urlOf = (key: string) => `${base}/${encodeKey(key)}`;

	async function head(key: string): Promise<ObjectInfo | undefined> {
		const res = await client.fetch(urlOf(key), { method: "HEAD" });
		if (res.status === 404) return undefined;
		if (!res.ok) throw await failure("head", key, res);
		return { key, size: Number(res.headers.get("content-length") ?? 0), metadata: metadataOf(res.headers) };
	}

	/**
	 * ListObjectsV2, every page. The next page starts after the last key or prefix seen
	 * (`start-after`) rather than at an opaque continuation token: the same result on a listing
	 * that keys sort, and understood by every provider, simple S3 servers included.
	 */
	async function listPages(prefix: string, delimiter?: string): Promise<{ objects: ObjectInfo[]; prefixes: string[] }> {
		const objects: ObjectInfo[] = [];
		const prefixes: string[] = [];
		let after: string | undefined;
		for (;;) {
			const params = new URLSearchParams({ "list-type": "2", prefix });
			if (delimiter) params.set("delimiter", delimiter);
			if (after) params.set("start-after", after);
			const res = await client.fetch(`${base}?${params}`);
			if (!res.ok) throw await failure("list", prefix, res);
			const xml = await res.text();
			let last = after ?? "";
			for (const c of xmlBlocks(xml, "Contents")) {
				const key = xmlValue(c, "Key")!;
				objects.push({ key, size: Number(xmlValue(c, "Size") ?? 0), metadata: {} });
				if (key > last) last = key;
			}
			for (const p of xmlBlocks(xml, "CommonPrefixes")) {
				const folder = xmlValue(p, "Prefix")!;
				prefixes.push(folder);
				// Everything under this folder is summarised by it: continue after the whole folder.
				if (`${folder}\uffff` > last) last = `${folder}\uffff`;
			}
			if (xmlValue(xml, "IsTruncated") !== "true" || last === (after ?? "")) break;
			after = last;
		}
		return { objects, prefixes };
	}

	return {
		kind: "s3",
		async put(key, body, options = {}) {
			const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
			// Checked here, and signed into x-amz-content-sha256 by aws4fetch, so that the provider
			// also refuses a body changed on the way.
			if (options.sha256 && sha256Hex(bytes) !== options.sha256) {
				throw new StoreError("checksum", `put ${key}: SHA-256 does not match the body`);
			}
			// Providers that implement conditional writes refuse with 412; for those that ignore
			// If-None-Match the HEAD before keeps the contract for a single writer.
			if (options.ifAbsent && (await head(key))) return { written: false };
			const headers: Record<string, string> = { "content-type": options.contentType ?? "application/octet-stream" };
			for (const [k, v] of Object.entries(options.metadata ?? {})) headers[`${META_PREFIX}${k}`] = v;
			if (options.ifAbsent) headers["if-none-match"] = "*";
			const res = await client.fetch(urlOf(key), { method: "PUT", headers, body: bytes as Uint8Array<ArrayBuffer> });
			if (res.status === 412) return { written: false };
			if (!res.ok) throw await failure("put", key, res);
			await res.body?.cancel();
			return { written: true };
		},
		async get(key) {
			const res = await client.fetch(urlOf(key));
			if (res.status === 404) return undefined;
			if (!res.ok) throw await failure("get", key, res);
			const bytes = new Uint8Array(await res.arrayBuffer());
			return { key, size: bytes.byteLength, metadata: metadataOf(res.headers), bytes };
		},
		async getRange(key, offset, length) {
			if (length <= 0) {
				const info = await head(key);
				return info ? { ...info, bytes: new Uint8Array(0) } : undefined;
			}
			const res = await client.fetch(urlOf(key), { headers: { range: `bytes=${offset}-${offset + length - 1}` } });
			if (res.status === 404) return undefined;
			if (res.status === 416) {
				// The range starts at or past the end: nothing to read (or the object is gone).
				await res.body?.cancel();
				const info = await head(key);
				return info ? { ...info, bytes: new Uint8Array(0) } : undefined;
			}
			if (!res.ok) throw await failure("get", key, res);
			const bytes = new Uint8Array(await res.arrayBuffer());
			// 206 with Content-Range "bytes a-b/total". A server that ignores Range (200) or widens it
			// (some answer "bytes=0-0" with everything) sends more: keep only what was asked.
			const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
			const first = res.status === 206 && range ? Number(range[1]) : 0;
			const size = range ? Number(range[2]) : res.status === 200 ? bytes.byteLength : offset + bytes.byteLength;
			const wanted = bytes.byteLength > length || first !== offset ? bytes.slice(offset - first, offset - first + length) : bytes;
			return { key, size, metadata: metadataOf(res.headers), bytes: wanted };
		},
		async getStream(key) {
			const res = await client.fetch(urlOf(key));
			if (res.status === 404) return undefined;
			if (!res.ok || !res.body) throw await failure("get", key, res);
			return { key, size: Number(res.headers.get("content-length") ?? 0), metadata: metadataOf(res.headers), body: res.body };
		},
		head,
		async list(prefix) {
			const { objects } = await listPages(prefix);
			return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
		},
		async listFolders(prefix) {
			const { prefixes } = await listPages(prefix, "/");
			return [...new Set(prefixes)].sort();
		},
		async delete(keys) {
			// One DELETE per key: DeleteObjects needs Content-MD5, which WebCrypto does not offer, and
			// a snapshot has few objects. A missing key answers 204 as well (idempotent).
			for (const key of keys) {
				const res = await client.fetch(urlOf(key), { method: "DELETE" });
				if (!res.ok && res.status !== 404) throw await failure("delete", key, res);
				await res.body?.cancel();
			}
		},
	} satisfies SnapshotStore;
}
