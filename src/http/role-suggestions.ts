// The roles offered to respondents, by the form's picker and GET /api/roles alike: the
// questionnaire's own roles, then the typed roles that enough distinct respondents used
// (ROLE_SUGGEST_MIN_USES) or that an administrator approved. Nobody's lone free text is shown.
import { fetchSuggestedRoles, buildRespondentPaths, ROLE_CHOICES_LIMIT } from "../db/roles";
import type { Questionnaire, RoleQuestion } from "../questionnaire/definition";
import { buildPredefinedRoles, buildRoleSuggestions, type RoleSuggestion } from "../questionnaire/roles";

/** The role question of a definition (at most one, see findDefinitionProblems). */
export function findRoleQuestion(def: Questionnaire): RoleQuestion | undefined {
	return def.questions.find((q): q is RoleQuestion => q.type === "role");
}

export async function fetchRoleSuggestions(
	db: D1Database,
	def: Questionnaire,
	minRespondents: number,
	locale: "fr" | "en",
): Promise<RoleSuggestion[]> {
	const question = findRoleQuestion(def);
	if (!question) return [];
	const stored = await fetchSuggestedRoles(db, {
		minRespondents,
		respondentPaths: buildRespondentPaths(def.respondentKey),
		limit: ROLE_CHOICES_LIMIT,
	});
	return buildRoleSuggestions({ predefined: buildPredefinedRoles(question.suggestions), stored, locale, limit: ROLE_CHOICES_LIMIT });
}
