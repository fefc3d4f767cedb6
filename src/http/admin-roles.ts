// The administrator's roles: the list (uses, distinct respondents, whether the form suggests it),
// approve or withdraw an approval, rename, and merge one role into another. Every change is one
// D1 batch with its audit_log line (src/db/roles.ts); bad input is the error envelope.
import { z } from "@hono/zod-openapi";
import {
	buildRespondentPaths,
	fetchAdminRoles,
	fetchRole,
	fetchRoleCount,
	mergeRole,
	renameRole,
	updateRoleApproval,
} from "../db/roles";
import { logEvent } from "../log";
import { questionnaire as defaultQuestionnaire, type Questionnaire } from "../questionnaire/definition";
import { buildPredefinedRoles, buildRoleRef, ROLE_MAX_LENGTH, type PredefinedRole } from "../questionnaire/roles";
import { findActiveWrite } from "../restore/runs";
import { ApiError } from "./errors";
import { findRoleQuestion } from "./role-suggestions";
import { createAdminRoute, createRouter, jsonBody, onInvalid, type AppContext } from "./router";
import { errorResponse, IsoTime, jsonResponse, SERVER_ERROR } from "./schemas";

/** At most this many roles are listed on the dashboard (the most used; `total` says how many exist). */
export const ADMIN_ROLES_LIMIT = 500;

const AdminRoleSchema = z
	.strictObject({
		key: z.string().openapi({ description: "Deduplication key; the role's identity in the other routes." }),
		label: z.string(),
		uses: z.number().int().openapi({ description: "Answers under this key." }),
		totalUses: z.number().int().openapi({ description: "Answers under this key and the keys merged into it." }),
		respondents: z.number().int().openapi({ description: "Distinct respondents among those answers." }),
		predefined: z.boolean().openapi({ description: "Listed by the questionnaire: always suggested." }),
		approvedAt: IsoTime.nullable(),
		mergedInto: z.string().nullable().openapi({ description: "Key of the role this one now counts as." }),
		suggested: z.boolean().openapi({ description: "Offered to respondents by the form and GET /api/roles." }),
		createdAt: IsoTime.nullable().openapi({ description: "First use (null: a questionnaire role nobody chose yet)." }),
		lastUsedAt: IsoTime.nullable(),
	})
	.openapi("AdminRole");

const AdminRoleListSchema = z
	.strictObject({
		minRespondents: z.number().int().openapi({ description: "ROLE_SUGGEST_MIN_USES: respondents needed for a typed role to be suggested." }),
		total: z.number().int().openapi({ description: "Roles stored (the list holds at most 500)." }),
		roles: z.array(AdminRoleSchema),
	})
	.openapi("AdminRoleList");

type AdminRole = z.output<typeof AdminRoleSchema>;

const RoleKeyParam = z
	.string()
	.min(1)
	.max(ROLE_MAX_LENGTH * 4)
	.openapi({ param: { name: "key", in: "path" }, example: "gerant·e", description: "The role's key, URL-encoded." });

const RolePatchSchema = z
	.strictObject({
		label: z.string().max(ROLE_MAX_LENGTH * 4).optional().openapi({ description: "New name (normalised like a typed role)." }),
		approved: z.boolean().optional().openapi({ description: "true: always suggested; false: only by its uses." }),
	})
	.refine((b) => b.label !== undefined || b.approved !== undefined, { message: "give label, approved or both" })
	.openapi("RolePatch");

const RoleMergeSchema = z.strictObject({ into: z.string().min(1).openapi({ description: "Key of the role to merge into." }) }).openapi("RoleMerge");

/** The questionnaire's roles, and the key each alias (e.g. the English name) stands for. */
function predefinedOf(def: Questionnaire): PredefinedRole[] {
	return buildPredefinedRoles(findRoleQuestion(def)?.suggestions);
}

/** The dashboard's list: stored roles, plus the questionnaire's that nobody chose yet. */
async function fetchRoleList(c: AppContext, def: Questionnaire) {
	const min = c.var.config.ROLE_SUGGEST_MIN_USES;
	const predefined = predefinedOf(def);
	const predefinedKeys = new Set(predefined.map((p) => p.key));
	const [rows, total] = await Promise.all([
		fetchAdminRoles(c.env.DB, { respondentPaths: buildRespondentPaths(def.respondentKey), limit: ADMIN_ROLES_LIMIT }),
		fetchRoleCount(c.env.DB),
	]);
	const roles: AdminRole[] = rows.map((r) => {
		const isPredefined = predefinedKeys.has(r.key);
		return {
			key: r.key,
			label: r.label,
			uses: r.uses,
			totalUses: r.totalUses,
			respondents: r.respondents,
			predefined: isPredefined,
			approvedAt: r.approvedAt,
			mergedInto: r.mergedInto,
			suggested: r.mergedInto === null && (isPredefined || r.approvedAt !== null || r.respondents >= min),
			createdAt: r.createdAt,
			lastUsedAt: r.lastUsedAt,
		};
	});
	const stored = new Set(rows.map((r) => r.key));
	for (const p of predefined) {
		if (stored.has(p.key)) continue;
		roles.push({
			key: p.key,
			label: p.label.fr,
			uses: 0,
			totalUses: 0,
			respondents: 0,
			predefined: true,
			approvedAt: null,
			mergedInto: null,
			suggested: true,
			createdAt: null,
			lastUsedAt: null,
		});
	}
	return { minRespondents: min, total, roles };
}

/** A role edit while a restore writes the roles table would be lost or undone: refuse it. */
async function refuseDuringRestore(c: AppContext, now: Date): Promise<void> {
	const restoring = await findActiveWrite(c.env, now);
	if (restoring) throw new ApiError(409, "restore_in_progress", `Restore ${restoring} is running; repeat this change once it has finished.`);
}

const listResponse = jsonResponse(AdminRoleListSchema, "The roles after the change (the same list as GET /api/admin/roles).");

/** The administrator's role routes for one definition (the default one in production). */
export function createAdminRoleRoutes(def: Questionnaire) {
	const routes = createRouter();

	routes.openapi(
		createAdminRoute({
			method: "get",
			path: "/api/admin/roles",
			tags: ["admin"],
			summary: "Every role: uses, distinct respondents, approval, merges, and whether the form suggests it",
			responses: { 200: jsonResponse(AdminRoleListSchema, "Roles of their own first, most used first (at most 500)."), 500: SERVER_ERROR },
		}),
		async (c) => c.json(await fetchRoleList(c, def), 200, { "Cache-Control": "no-store" }),
	);

	routes.openapi(
		createAdminRoute({
			method: "patch",
			path: "/api/admin/roles/{key}",
			tags: ["admin"],
			summary: "Rename a role and/or approve it (or withdraw the approval)",
			description:
				"A new name with another key creates the role under that name and merges the old one into it, so that " +
				"respondents who type the new name count as the same role. Audit-logged (`role_rename`, `role_approve`, `role_unapprove`).",
			middleware: [jsonBody] as const,
			request: {
				params: z.object({ key: RoleKeyParam }),
				body: { required: true, content: { "application/json": { schema: RolePatchSchema } } },
			},
			responses: {
				200: listResponse,
				400: errorResponse("`invalid_json`, `invalid_request` (`fields` says which), or `invalid_label`: nothing readable is left of the name."),
				404: errorResponse("`role_not_found`."),
				409: errorResponse(
					"`role_merged`: the role counts as another one, change that one; `role_exists`: another role has this name, merge into it; " +
						"`role_predefined`: a questionnaire role is renamed in the questionnaire; `restore_in_progress`.",
				),
				415: errorResponse("`unsupported_media_type`: the body must be application/json."),
				500: SERVER_ERROR,
			},
		}),
		async (c) => {
			const { key } = c.req.valid("param");
			const { label, approved } = c.req.valid("json");
			const now = new Date();
			const at = now.toISOString();
			const role = await fetchRole(c.env.DB, key);
			const predefined = predefinedOf(def);
			if (!role) throw new ApiError(404, "role_not_found", "No role has this key.");
			if (role.mergedInto !== null) {
				throw new ApiError(409, "role_merged", "This role was merged into another one; change that one instead.", { key: role.mergedInto });
			}
			let rename: { key: string; label: string } | undefined;
			if (label !== undefined) {
				const ref = buildRoleRef(label);
				if (!ref) throw new ApiError(400, "invalid_label", "Nothing readable is left of this name.", { label: "empty after normalisation" });
				if (ref.label !== role.label || ref.key !== role.key) rename = ref;
			}
			if (rename) {
				if (predefined.some((p) => p.key === role.key)) {
					throw new ApiError(409, "role_predefined", "This role comes from the questionnaire: rename it in the questionnaire's definition.");
				}
				if (rename.key !== role.key) {
					const clash = predefined.find((p) => p.aliases.has(rename.key))?.key ?? (await fetchRole(c.env.DB, rename.key))?.key;
					if (clash !== undefined) {
						throw new ApiError(409, "role_exists", "Another role already has this name: merge this role into it instead.", { into: clash });
					}
				}
			}
			// A renamed role keeps its approval (under its new key when the key changes).
			const approve = approved !== undefined && approved !== (role.approvedAt !== null) ? approved : undefined;
			if (rename || approve !== undefined) await refuseDuringRestore(c, now);
			if (rename) await renameRole(c.env.DB, role.key, rename, at);
			if (approve !== undefined) await updateRoleApproval(c.env.DB, rename?.key ?? role.key, approve, at);
			logEvent("role_changed", { renamed: rename !== undefined, approval: approve ?? null });
			return c.json(await fetchRoleList(c, def), 200);
		},
		onInvalid((fields) =>
			"key" in fields
				? { code: "invalid_id", message: "Not a role key." }
				: { code: "invalid_request", message: "Give a new label, approved (true or false), or both." },
		),
	);

	routes.openapi(
		createAdminRoute({
			method: "post",
			path: "/api/admin/roles/{key}/merge",
			tags: ["admin"],
			summary: "Merge a role (and the roles already merged into it) into another",
			description:
				"The merged role keeps its key, so its answers are unchanged; it takes the other role's name everywhere and " +
				"counts towards it for suggestions. Audit-logged (`role_merge`).",
			middleware: [jsonBody] as const,
			request: {
				params: z.object({ key: RoleKeyParam }),
				body: { required: true, content: { "application/json": { schema: RoleMergeSchema } } },
			},
			responses: {
				200: listResponse,
				400: errorResponse("`invalid_json`, `invalid_request`, `unknown_role` (`fields.into`), or `same_role`: a role cannot be merged into itself."),
				404: errorResponse("`role_not_found`."),
				409: errorResponse("`role_predefined`: a questionnaire role always stays; merge the other way; `restore_in_progress`."),
				415: errorResponse("`unsupported_media_type`: the body must be application/json."),
				500: SERVER_ERROR,
			},
		}),
		async (c) => {
			const { key } = c.req.valid("param");
			const { into } = c.req.valid("json");
			const now = new Date();
			const predefined = predefinedOf(def);
			const from = await fetchRole(c.env.DB, key);
			if (!from) throw new ApiError(404, "role_not_found", "No role has this key.");
			if (predefined.some((p) => p.key === from.key)) {
				throw new ApiError(409, "role_predefined", "This role comes from the questionnaire and always stays: merge the other role into it.");
			}
			// A target that was itself merged stands for the role it was merged into.
			const stored = await fetchRole(c.env.DB, into);
			const targetKey = stored?.mergedInto ?? stored?.key ?? predefined.find((p) => p.key === into)?.key;
			if (targetKey === undefined) throw new ApiError(400, "unknown_role", "No role has the key given in `into`.", { into: "no such role" });
			if (targetKey === from.key) throw new ApiError(400, "same_role", "A role cannot be merged into itself.", { into: "the same role" });
			const missingPredefined = stored ? undefined : predefined.find((p) => p.key === targetKey);
			await refuseDuringRestore(c, now);
			await mergeRole(
				c.env.DB,
				from.key,
				targetKey,
				now.toISOString(),
				missingPredefined ? { key: missingPredefined.key, label: missingPredefined.label.fr } : undefined,
			);
			logEvent("role_merged", {});
			return c.json(await fetchRoleList(c, def), 200);
		},
		onInvalid((fields) =>
			"key" in fields ? { code: "invalid_id", message: "Not a role key." } : { code: "invalid_request", message: "Give `into`, the key of the role to merge into." },
		),
	);

	return routes;
}

export const adminRoleRoutes = createAdminRoleRoutes(defaultQuestionnaire);
