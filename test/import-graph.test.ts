// The layers of docs/architecture.md, enforced: every import between folders of src/ points
// downwards, so there is no cycle between folders, and only the R2 adapter touches the R2 API.
import { describe, expect, it } from "vitest";

const sources = import.meta.glob(["../src/**/*.ts", "../src/**/*.tsx"], { query: "?raw", import: "default", eager: true });

/**
 * Rank of each folder (or root file) of src/: a module may import its own folder or a folder of a
 * LOWER rank only. Siblings share a rank, so they cannot import each other.
 */
const RANK: Record<string, number> = {
	log: 0,
	version: 0,
	"local-time": 0,
	questionnaire: 0,
	platform: 0,
	snapshots: 1,
	db: 1,
	config: 2,
	catalogue: 2,
	backup: 3,
	offsite: 3,
	verify: 3,
	retention: 3,
	restore: 3,
	notify: 4,
	monitor: 5,
	jobs: 6,
	http: 7,
	worker: 8,
};

/** "src/backup/export.ts" -> "backup"; "src/config.ts" -> "config". */
function unitOf(file: string): string {
	const rel = file.replace(/^(\.\.\/)?src\//, "");
	const slash = rel.indexOf("/");
	return slash < 0 ? rel.replace(/\.tsx?$/, "") : rel.slice(0, slash);
}

function resolve(from: string, spec: string): string {
	const parts = from.split("/").slice(0, -1);
	for (const seg of spec.split("/")) {
		if (seg === "..") parts.pop();
		else if (seg !== ".") parts.push(seg);
	}
	return parts.join("/");
}

type Edge = { from: string; to: string; file: string; spec: string };

function collectEdges(): Edge[] {
	const edges: Edge[] = [];
	for (const [file, text] of Object.entries(sources)) {
		for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^"';]*?from\s+["'](\.{1,2}\/[^"']+)["']/g)) {
			const target = resolve(file, m[1]!);
			edges.push({ from: unitOf(file), to: unitOf(target), file, spec: m[1]! });
		}
	}
	return edges;
}

describe("import graph", () => {
	const edges = collectEdges();

	it("sees the source tree (the glob is not empty, every folder has a rank)", () => {
		expect(Object.keys(sources).length).toBeGreaterThan(50);
		const units = new Set(Object.keys(sources).map(unitOf));
		expect([...units].filter((u) => !(u in RANK))).toEqual([]);
	});

	it("imports point downwards only: no folder imports a sibling or a layer above it", () => {
		const upward = edges
			.filter((e) => e.from !== e.to && RANK[e.to]! >= RANK[e.from]!)
			.map((e) => `${e.file} imports ${e.spec} (${e.from} -> ${e.to})`);
		expect(upward).toEqual([]);
	});

	it("has no cycle between folders", () => {
		const next = new Map<string, Set<string>>();
		for (const e of edges) if (e.from !== e.to) (next.get(e.from) ?? next.set(e.from, new Set()).get(e.from)!).add(e.to);
		const state = new Map<string, "open" | "done">();
		const cycles: string[] = [];
		const visit = (u: string, path: string[]) => {
			if (state.get(u) === "done") return;
			if (state.get(u) === "open") {
				cycles.push([...path.slice(path.indexOf(u)), u].join(" -> "));
				return;
			}
			state.set(u, "open");
			for (const v of next.get(u) ?? []) visit(v, [...path, u]);
			state.set(u, "done");
		};
		for (const u of next.keys()) visit(u, []);
		expect(cycles).toEqual([]);
	});

	it("only the R2 adapter touches the R2 API: everything else goes through the SnapshotStore port", () => {
		const offenders = Object.entries(sources)
			.filter(([file]) => !file.endsWith("src/snapshots/r2-store.ts"))
			.filter(([, text]) => /\bR2Bucket\b|\bR2Object\b|\.R2_BUCKET\b/.test(text))
			.map(([file]) => file);
		expect(offenders).toEqual([]);
	});
});
