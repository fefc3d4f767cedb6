// Vitest globalSetup (runs in Node): a real S3-compatible server on 127.0.0.1 for the off-site
// replica — s3rver (npm), which implements the S3 REST API (SigV4 authentication, ListObjectsV2,
// x-amz-meta-* metadata) over a folder. Chosen because it installs with `npm ci` on every OS,
// needs no Docker and no JVM; Debian ships no S3 server. Its URL and credentials reach the
// Worker's bindings (vitest.config.ts) and the tests (`inject("s3Url")`).
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { TestProject } from "vitest/node";

declare module "vitest" {
	export interface ProvidedContext {
		s3Url: string;
	}
}

/** s3rver's fixed credentials (it accepts only these). */
export const S3_ACCESS_KEY_ID = "S3RVER";
export const S3_SECRET_ACCESS_KEY = "S3RVER";
/** Buckets created at start: one for the replica binding, one for the contract suite. */
export const S3_BUCKETS = ["offsite-replica", "contract"];

export default async function setup(project: TestProject) {
	const directory = await mkdtemp(path.join(tmpdir(), "s3rver-"));
	const script = path.join(import.meta.dirname, "run-s3rver.mjs");
	const child = spawn(process.execPath, ["--openssl-legacy-provider", script, directory, ...S3_BUCKETS], {
		// stdin stays open while this process lives: the server exits when it closes.
		stdio: ["pipe", "pipe", "inherit"],
	});
	const port = await new Promise<number>((resolve, reject) => {
		child.once("exit", (code) => reject(new Error(`s3rver exited with code ${code}`)));
		createInterface({ input: child.stdout! }).once("line", (line) => resolve((JSON.parse(line) as { port: number }).port));
	});
	project.provide("s3Url", `http://127.0.0.1:${port}`);
	return async () => {
		child.removeAllListeners("exit");
		child.kill("SIGTERM");
		await new Promise((r) => child.once("exit", r));
		await rm(directory, { recursive: true, force: true });
	};
}
