/**
 * Reading fields of the image's runtime config (`config.config`) with a type check. The config is JSON from the image,
 * so every field can have any shape; a wrong one is a `config` error that names the field, and `null` counts as absent
 * (Docker writes `"Cmd": null`).
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";

/** The runtime config as an object of unchecked fields. */
export type RuntimeConfig = Readonly<Record<string, unknown>>;

/** Whether `v` is an array of strings. */
export const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");
/** Whether `v` is a string. */
export const isString = (v: unknown): v is string => typeof v === "string";
/** Whether `v` is a JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The error for a field of the image config that has the wrong type. */
function configTypeError(field: string, expected: string): Oci2LxcError {
  return new Oci2LxcError("config", `Cannot use ${field} of the image config: expected ${expected}`, {
    hint: "The image config is malformed; rebuild the image",
  });
}

/** The runtime config of `config` (`{}` when absent). */
export function runtimeConfig(config: { readonly config?: unknown }): RuntimeConfig {
  const rc: unknown = config.config ?? {};
  if (!isObject(rc)) throw configTypeError("config", "an object");
  return rc;
}

/** Who gave a value, for messages and the error code: the caller's `flag` (`usage`) or the image's `field` (`config`). */
export function valueSource(
  fromOption: boolean,
  flag: string,
  field: string,
): { readonly what: string; readonly code: "usage" | "config" } {
  return fromOption ? { what: flag, code: "usage" } : { what: `${field} of the image config`, code: "config" };
}

/** Read an optional field with a type check; null counts as absent. */
export function optionalField<T>(
  rc: RuntimeConfig,
  field: string,
  check: (v: unknown) => v is T,
  expected: string,
): T | undefined {
  const v = rc[field];
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw configTypeError(field, expected);
  return v;
}
