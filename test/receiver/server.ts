// Vitest globalSetup (runs in Node, not workerd): a real HTTP server on 127.0.0.1 that plays
// every notification provider (EmailJS, Resend, webhook, heartbeat) and records each request,
// so tests can check what the Worker actually sent. Its URL reaches the Worker's bindings
// (vitest.config.ts, via `inject`) and the tests (`inject("receiverUrl")`).
//
// Behaviour is chosen by the request path, so concurrent test files never interfere:
//   .../fail500/...  answers 500          .../fail401/...  answers 401
//   .../hang/...     never answers        .../flaky/...    503 on the first request, then 200
//   .../emails       Resend-like {"id"}   anything else    200 "OK"
// Control API: GET /_captured?prefix=/x  -> JSON array of recorded requests under that prefix.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

export type CapturedRequest = {
	seq: number;
	method: string;
	path: string;
	headers: Record<string, string>;
	body: string;
};

declare module "vitest" {
	export interface ProvidedContext {
		receiverUrl: string;
	}
}

const MAX_RECORDS = 20_000;

export default async function setup(project: TestProject) {
	const records: CapturedRequest[] = [];
	const seenFlaky = new Set<string>();
	const hanging = new Set<http.ServerResponse>();
	let seq = 0;

	const server = http.createServer((req, res) => {
		const url = new URL(req.url ?? "/", "http://127.0.0.1");
		if (req.method === "GET" && url.pathname === "/_captured") {
			const prefix = url.searchParams.get("prefix") ?? "/";
			res.writeHead(200, { "Content-Type": "application/json" });
			res.end(JSON.stringify(records.filter((r) => r.path.startsWith(prefix))));
			return;
		}
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => chunks.push(c));
		req.on("end", () => {
			const headers: Record<string, string> = {};
			for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : (v ?? "");
			if (records.length < MAX_RECORDS) {
				records.push({ seq: ++seq, method: req.method ?? "", path: url.pathname, headers, body: Buffer.concat(chunks).toString("utf8") });
			}
			const p = url.pathname;
			if (p.includes("/hang/")) {
				hanging.add(res); // never answered; closed at teardown
				res.on("close", () => hanging.delete(res));
				return;
			}
			if (p.includes("/fail500/")) return reply(res, 500, "text/plain", "Internal Server Error");
			if (p.includes("/fail401/")) return reply(res, 401, "application/json", '{"message":"invalid key"}');
			if (p.includes("/flaky/") && !seenFlaky.has(p)) {
				seenFlaky.add(p);
				return reply(res, 503, "text/plain", "Service Unavailable");
			}
			if (p.endsWith("/emails")) return reply(res, 200, "application/json", JSON.stringify({ id: `re_${seq}` }));
			return reply(res, 200, "text/plain", "OK");
		});
	});

	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	project.provide("receiverUrl", `http://127.0.0.1:${port}`);

	return async () => {
		for (const res of hanging) res.destroy();
		server.closeAllConnections();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	};
}

function reply(res: http.ServerResponse, status: number, type: string, body: string) {
	res.writeHead(status, { "Content-Type": type });
	res.end(body);
}
