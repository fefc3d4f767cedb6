// Helpers for the tests of the restore preview: one answer sent through the form's API (so that
// rows, counters and role counts stay consistent for the tests that follow), and its received
// time written the way the preview's sentence writes it.
import { expect } from "vitest";

/** POST one answer; returns its received_at (ISO, read back from D1 with `sql`). */
export async function postAnswer(baseUrl: string, ip: string, sql: (statement: string) => Record<string, unknown>[]): Promise<string> {
	const res = await fetch(`${baseUrl}/api/submissions`, {
		method: "POST",
		headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip },
		body: JSON.stringify({ answers: { cafe: "Café Aperçu", ville: "Dijon", role: "Formateur", satisfaction: 4, consentement: true } }),
	});
	expect(res.status, await res.clone().text()).toBe(201);
	const { id } = (await res.json()) as { id: string };
	return String(sql(`SELECT received_at FROM submissions WHERE id = '${id}'`)[0]!.received_at);
}

/** "3 déc. à 06 h 41" in Europe/Paris (with the year only when it is not this year's). */
export function frenchShortDate(iso: string): string {
	const d = new Date(iso);
	const year = (x: Date) => new Intl.DateTimeFormat("en", { timeZone: "Europe/Paris", year: "numeric" }).format(x);
	const parts = new Intl.DateTimeFormat("fr-FR", {
		timeZone: "Europe/Paris",
		day: "numeric",
		month: "short",
		...(year(d) === year(new Date()) ? {} : { year: "numeric" as const }),
		hour: "2-digit",
		minute: "2-digit",
		hourCycle: "h23",
	}).formatToParts(d);
	const p = (t: string) => parts.find((x) => x.type === t)?.value ?? "";
	return `${[p("day"), p("month"), p("year")].filter(Boolean).join(" ")} à ${p("hour")}\u00a0h\u00a0${p("minute")}`;
}
