// scripts/ensure-chromium.mjs, run by `npm test` before the browser tests: the decision table
// (pure), then the script itself on this machine, where chromium is installed (a no-op).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CHROMIUM, findChromiumFacts, planChromium } from "../scripts/ensure-chromium.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const base = { path: DEFAULT_CHROMIUM, custom: false, exists: false, platform: "linux", isRoot: false, hasApt: true, canSudo: false };
const update = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update"];
const install = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--no-install-recommends", "chromium"];

describe("planChromium", () => {
	it.each<[string, Partial<typeof base>, ReturnType<typeof planChromium>]>([
		["present: nothing to do", { exists: true }, { action: "none" }],
		["present, even without root or apt", { exists: true, hasApt: false, platform: "darwin" }, { action: "none" }],
		["present at CHROMIUM_PATH", { exists: true, custom: true, path: "/opt/chrome/chrome" }, { action: "none" }],
		["missing, root with apt-get: apt-get update + install", { isRoot: true }, { action: "install", commands: [update, install] }],
		["missing, root and sudo: no sudo needed", { isRoot: true, canSudo: true }, { action: "install", commands: [update, install] }],
		["missing, not root, sudo -n works", { canSudo: true }, { action: "install", commands: [["sudo", "-n", ...update], ["sudo", "-n", ...install]] }],
	])("%s", (_, facts, plan) => {
		expect(planChromium({ ...base, ...facts })).toEqual(plan);
	});

	it.each<[string, Partial<typeof base>, RegExp]>([
		["missing, not root, no sudo: says exactly what to install", {}, /needs root: run `sudo apt-get install -y --no-install-recommends chromium` \(Debian's chromium package\)/],
		["missing, no apt-get", { isRoot: true, hasApt: false }, /no apt-get: install Chromium with its package manager and set CHROMIUM_PATH/],
		["not Linux", { platform: "darwin", isRoot: true }, /Install Chromium \(or Chrome\), set CHROMIUM_PATH/],
		["a CHROMIUM_PATH that does not exist is never replaced by an install", { custom: true, path: "/opt/nope/chrome", isRoot: true }, /CHROMIUM_PATH is \/opt\/nope\/chrome, which is not an executable file/],
	])("%s: fails with a clear message", (_, facts, message) => {
		const plan = planChromium({ ...base, ...facts });
		expect(plan.action).toBe("fail");
		expect(plan.action === "fail" && plan.message).toMatch(message);
		expect(plan.action === "fail" && plan.message).toMatch(/run `npm test` again/);
	});
});

describe("scripts/ensure-chromium.mjs on this machine", () => {
	const run = (env: Record<string, string | undefined>) =>
		spawnSync(process.execPath, [path.join(ROOT, "scripts/ensure-chromium.mjs")], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 });

	it("finds the installed chromium and does nothing (no output, exit 0)", () => {
		expect(findChromiumFacts({ PATH: process.env.PATH })).toMatchObject({ path: DEFAULT_CHROMIUM, custom: false, exists: true });
		const result = run({ CHROMIUM_PATH: undefined });
		expect(result.stderr).toBe("");
		expect(result.stdout).toBe("");
		expect(result.status).toBe(0);
	});

	it("exits 1 naming CHROMIUM_PATH when it points nowhere, without installing anything", () => {
		const result = run({ CHROMIUM_PATH: "/nonexistent/chromium" });
		expect(result.status).toBe(1);
		expect(result.stderr).toContain("CHROMIUM_PATH is /nonexistent/chromium");
		expect(result.stderr).not.toContain("apt-get update");
	});
});
