/**
 * A small JSON Schema (draft 2020-12) validator for the keywords our schemas
 * use: type, properties, required, additionalProperties, items, prefixItems,
 * minItems, enum, const, minimum, pattern, $ref (to `#/$defs/…`) and $defs.
 * Any other keyword is refused rather than ignored, so a schema cannot
 * silently promise more than is checked. Annotations ($schema, title,
 * description) are allowed.
 */

/** A JSON Schema object or boolean schema. */
export type Schema = boolean | { [keyword: string]: unknown };

const ANNOTATIONS = new Set(["$schema", "$id", "title", "description", "$comment"]);
const KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "prefixItems",
  "minItems",
  "enum",
  "const",
  "minimum",
  "pattern",
  "$ref",
  "$defs",
]);

/**
 * Validate `value` against `schema` (whose `$defs` the `$ref`s point into).
 * Returns one message per violation, each naming the JSON pointer of the
 * value; an empty list means valid. Throws on keywords it does not know.
 */
export function validateJson(schema: Schema, value: unknown): string[] {
  const errors: string[] = [];
  check(schema, value, "", schema, errors);
  return errors;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(expected: string, value: unknown): boolean {
  const actual = typeOf(value);
  return actual === expected || (expected === "number" && actual === "integer");
}

function resolveRef(root: Schema, ref: string): Schema {
  if (!ref.startsWith("#/")) throw new Error(`Cannot resolve $ref ${ref}: only local #/… refs are supported`);
  let node: unknown = root;
  for (const part of ref.slice(2).split("/")) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    node = (node as Record<string, unknown> | undefined)?.[key];
  }
  if (node === undefined) throw new Error(`Cannot resolve $ref ${ref}: nothing there`);
  return node as Schema;
}

function check(schema: Schema, value: unknown, at: string, root: Schema, errors: string[]): void {
  const where = at || "/";
  if (schema === true) return;
  if (schema === false) {
    errors.push(`${where}: no value is allowed here`);
    return;
  }
  for (const keyword of Object.keys(schema)) {
    if (!KEYWORDS.has(keyword) && !ANNOTATIONS.has(keyword)) {
      throw new Error(`Cannot validate with keyword ${keyword} at ${where}: the validator does not implement it`);
    }
  }
  if (typeof schema.$ref === "string") check(resolveRef(root, schema.$ref), value, at, root, errors);

  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type as string[] : [schema.type as string];
    if (!types.some((t) => typeMatches(t, value))) {
      errors.push(`${where}: expected ${types.join(" or ")}, got ${typeOf(value)}`);
      return;
    }
  }
  if ("const" in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) {
    errors.push(`${where}: expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push(`${where}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === "number" && typeof schema.minimum === "number" && value < schema.minimum) {
    errors.push(`${where}: ${value} is below the minimum ${schema.minimum}`);
  }
  if (typeof value === "string" && typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) {
    errors.push(`${where}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }

  if (Array.isArray(value)) {
    const prefix = (schema.prefixItems as Schema[] | undefined) ?? [];
    if (typeof schema.minItems === "number" && value.length < schema.minItems) {
      errors.push(`${where}: ${value.length} items, fewer than ${schema.minItems}`);
    }
    value.forEach((item, i) => {
      const itemSchema = i < prefix.length ? prefix[i] : schema.items as Schema | undefined;
      if (itemSchema !== undefined) check(itemSchema, item, `${at}/${i}`, root, errors);
    });
  }

  if (typeOf(value) === "object") {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required as string[] | undefined) ?? []) {
      if (!(name in object)) errors.push(`${where}: required property ${JSON.stringify(name)} is missing`);
    }
    for (const [name, item] of Object.entries(object)) {
      const pointer = `${at}/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`;
      if (name in properties) check(properties[name]!, item, pointer, root, errors);
      else if (schema.additionalProperties !== undefined) {
        if (schema.additionalProperties === false) errors.push(`${pointer}: property is not allowed`);
        else check(schema.additionalProperties as Schema, item, pointer, root, errors);
      }
    }
  }
}
