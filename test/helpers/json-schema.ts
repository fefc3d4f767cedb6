// Test helper: a small JSON Schema (2020-12 subset, as OpenAPI 3.1 uses it) validator, enough to
// check the app's answers against the schemas of its own /api/openapi.json. Keywords it does not
// know are refused loudly, so a schema it cannot judge never passes by accident.

export type JsonSchema = Record<string, unknown>;

/** Keywords checked below, and annotations that constrain nothing. */
const KNOWN = new Set([
	"$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "items",
	"anyOf", "oneOf", "allOf", "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
	"format", "description", "example", "examples", "default", "title", "deprecated", "readOnly", "writeOnly", "contentMediaType",
]);

function typeOf(value: unknown): string {
	if (value === null) return "null";
	if (Array.isArray(value)) return "array";
	if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
	return typeof value;
}

function typeMatches(actual: string, wanted: string): boolean {
	return actual === wanted || (wanted === "number" && actual === "integer");
}

/**
 * Every way `value` breaks `schema` ("$.a.b: why"); empty when it conforms. `$ref`s are resolved
 * against `root` (the OpenAPI document: "#/components/schemas/Name").
 */
export function validateJson(schema: JsonSchema, value: unknown, root: JsonSchema, path = "$"): string[] {
	for (const key of Object.keys(schema)) {
		if (!KNOWN.has(key)) return [`${path}: schema keyword "${key}" is not supported by this validator`];
	}
	if (typeof schema.$ref === "string") {
		const target = schema.$ref
			.replace(/^#\//, "")
			.split("/")
			.reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], root);
		if (!target) return [`${path}: unresolved $ref ${schema.$ref}`];
		return validateJson(target as JsonSchema, value, root, path);
	}
	const errors: string[] = [];
	const actual = typeOf(value);
	if (schema.type !== undefined) {
		const wanted = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
		if (!wanted.some((t) => typeMatches(actual, t))) return [`${path}: expected ${wanted.join(" or ")}, got ${actual}`];
	}
	if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
		errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
	}
	if ("const" in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
	if (actual === "string") {
		const s = value as string;
		if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(s)) errors.push(`${path}: does not match ${schema.pattern}`);
		if (typeof schema.minLength === "number" && s.length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
		if (typeof schema.maxLength === "number" && s.length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
		if (schema.format === "date-time" && Number.isNaN(Date.parse(s))) errors.push(`${path}: not a date-time`);
	}
	if (actual === "number" || actual === "integer") {
		const n = value as number;
		if (typeof schema.minimum === "number" && n < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
		if (typeof schema.maximum === "number" && n > schema.maximum) errors.push(`${path}: above ${schema.maximum}`);
	}
	if (actual === "array") {
		const items = value as unknown[];
		if (typeof schema.minItems === "number" && items.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
		if (typeof schema.maxItems === "number" && items.length > schema.maxItems) errors.push(`${path}: more than ${schema.maxItems} items`);
		if (schema.items && typeof schema.items === "object") {
			items.forEach((item, i) => errors.push(...validateJson(schema.items as JsonSchema, item, root, `${path}[${i}]`)));
		}
	}
	if (actual === "object") {
		const obj = value as Record<string, unknown>;
		const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
		for (const key of (schema.required ?? []) as string[]) if (!(key in obj)) errors.push(`${path}: missing required "${key}"`);
		for (const [key, v] of Object.entries(obj)) {
			if (key in properties) errors.push(...validateJson(properties[key]!, v, root, `${path}.${key}`));
			else if (schema.additionalProperties === false) errors.push(`${path}: unexpected property "${key}"`);
			else if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
				errors.push(...validateJson(schema.additionalProperties as JsonSchema, v, root, `${path}.${key}`));
			}
		}
	}
	if (Array.isArray(schema.allOf)) for (const s of schema.allOf) errors.push(...validateJson(s as JsonSchema, value, root, path));
	if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s) => validateJson(s as JsonSchema, value, root, path).length === 0)) {
		errors.push(`${path}: matches none of anyOf`);
	}
	if (Array.isArray(schema.oneOf) && schema.oneOf.filter((s) => validateJson(s as JsonSchema, value, root, path).length === 0).length !== 1) {
		errors.push(`${path}: does not match exactly one of oneOf`);
	}
	return errors;
}
