#!/usr/bin/env node
// Run by `npm test` before the browser tests: makes sure the Chromium they drive is there, and
// Debian's `age` (the interoperability test decrypts the off-site copies with it).
// Debian's `chromium` package (docs/decisions.md, "Browser for the tests"): nothing to do when it
// is installed; otherwise installed with apt-get when this machine can (root, or sudo without a
// password); otherwise a message saying exactly what to install, and a non-zero exit.
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const DEFAULT_CHROMIUM = "/usr/bin/chromium";
const aptInstall = (pkg) => ["apt-get", "install", "-y", "--no-install-recommends", pkg];

/**
 * @typedef {object} ChromiumFacts
 * @property {string} path        the executable the tests will launch
 * @property {boolean} custom     true when CHROMIUM_PATH chose it
 * @property {boolean} exists     it exists and is executable
 * @property {string} platform    process.platform
 * @property {boolean} isRoot
 * @property {boolean} hasApt     apt-get is on PATH
 * @property {boolean} canSudo    `sudo -n true` succeeds (sudo without a password)
 *
 * @typedef {{ action: "none" }
 *   | { action: "install", commands: string[][] }
 *   | { action: "fail", message: string }} ChromiumPlan
 */

/**
 * Pure: what to do about the tests' Chromium. Installs only Debian's package at the default path,
 * and only without asking for anything (root, or `sudo -n`); never touches a CHROMIUM_PATH.
 * `pkg` is the Debian package that provides `f.path` (chromium by default).
 * @param {ChromiumFacts} f
 * @param {string} [pkg]
 * @returns {ChromiumPlan}
 */
export function planChromium(f, pkg = "chromium") {
	if (f.exists) return { action: "none" };
	const retry = "then run `npm test` again.";
	if (f.custom) {
		return { action: "fail", message: `CHROMIUM_PATH is ${f.path}, which is not an executable file: point it at a Chromium, or unset it to use Debian's ${DEFAULT_CHROMIUM}; ${retry}` };
	}
	if (f.platform !== "linux") {
		return { action: "fail", message: `The browser tests need Chromium. Install Chromium (or Chrome), set CHROMIUM_PATH to its executable, ${retry}` };
	}
	if (!f.hasApt) {
		return { action: "fail", message: `${f.path} is missing and this Linux has no apt-get: install Chromium with its package manager and set CHROMIUM_PATH to the executable, ${retry}` };
	}
	const apt = ["env", "DEBIAN_FRONTEND=noninteractive"];
	const update = [...apt, "apt-get", "update"];
	const install = [...apt, ...aptInstall(pkg)];
	if (f.isRoot) return { action: "install", commands: [update, install] };
	if (f.canSudo) return { action: "install", commands: [["sudo", "-n", ...update], ["sudo", "-n", ...install]] };
	return {
		action: "fail",
		message: `${f.path} is missing, and installing it needs root: run \`sudo apt-get install -y --no-install-recommends ${pkg}\` (Debian's ${pkg} package), ${retry}`,
	};
}

function isExecutable(file) {
	try {
		accessSync(file, constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

function onPath(command) {
	return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir && isExecutable(path.join(dir, command)));
}

/** The facts of this machine (runs `sudo -n true` only when it matters). */
export function findChromiumFacts(env = process.env) {
	const custom = Boolean(env.CHROMIUM_PATH);
	const file = env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
	const exists = isExecutable(file);
	const isRoot = process.getuid?.() === 0;
	const hasApt = process.platform === "linux" && onPath("apt-get");
	const canSudo = !exists && !custom && !isRoot && hasApt && onPath("sudo") && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0;
	return { path: file, custom, exists, platform: process.platform, isRoot, hasApt, canSudo };
}

function main() {
	const code = ensure(findChromiumFacts(), "chromium");
	if (code !== 0) return code;
	const age = { ...findChromiumFacts({ ...process.env, CHROMIUM_PATH: "" }), path: AGE, custom: false, exists: isExecutable(AGE) };
	return ensure(age, "age");
}

/** Debian's age, for the test that decrypts an off-site copy with the standard tool. */
export const AGE = "/usr/bin/age";

function ensure(facts, pkg) {
	const plan = planChromium(facts, pkg);
	if (plan.action === "none") return 0;
	if (plan.action === "fail") {
		console.error(`\n${plan.message}\n`);
		return 1;
	}
	console.error(`${facts.path} is missing: installing Debian's ${pkg} package for the tests.`);
	for (const [command, ...args] of plan.commands) {
		console.error(`$ ${[command, ...args].join(" ")}`);
		const run = spawnSync(command, args, { stdio: "inherit" });
		if (run.status !== 0) {
			console.error(`\nInstalling ${pkg} failed (${command} exited ${run.status ?? run.signal}). Install it yourself: \`sudo apt-get install -y --no-install-recommends ${pkg}\`, then run \`npm test\` again.\n`);
			return 1;
		}
	}
	if (!isExecutable(facts.path)) {
		console.error(`\nThe ${pkg} package is installed but ${facts.path} is still missing${pkg === "chromium" ? ": set CHROMIUM_PATH to the Chromium executable" : ""}.\n`);
		return 1;
	}
	return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) process.exitCode = main();
