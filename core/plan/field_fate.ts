/**
 * What happened to one image config field, decided the same way for every field the plan maps: the caller's option
 * overrides it, else the image's value is mapped, else a default stands in. One function, so the report and the config
 * comments describe every field in the same words.
 *
 * @module
 */
import type { PlanField } from "./container_plan.ts";

/** How one field was decided. */
export interface FieldSources {
  /** Why the caller's option replaced the image's value (`replaced by --user`); absent when it did not. */
  readonly overridden?: string | undefined;
  /** Whether the image set the field (a value worth mapping: not empty). */
  readonly imageSet: boolean;
  /** A note on the mapped value, e.g. `merged with --env`. */
  readonly mapped?: string | undefined;
  /** What stood in for a missing value, e.g. `not set: /`. */
  readonly defaulted: string;
}

/**
 * The {@linkcode PlanField} of `field`, which became the LXC key `to` (none when `undefined`).
 *
 * @example The image's User, replaced by the caller's
 * ```ts
 * import assert from "node:assert/strict";
 * import { fieldFate } from "./field_fate.ts";
 * const fate = fieldFate("User", "lxc.init.uid", {
 *   overridden: "replaced by --user",
 *   imageSet: true,
 *   defaulted: "not set: root",
 * });
 * assert.deepEqual(fate, { field: "User", status: "overridden", to: "lxc.init.uid", reason: "replaced by --user" });
 * ```
 */
export function fieldFate(field: string, to: string | undefined, sources: FieldSources): PlanField {
  const target = to === undefined ? {} : { to };
  if (sources.overridden !== undefined) {
    return { field, status: "overridden", ...target, reason: sources.overridden };
  }
  if (sources.imageSet) {
    return { field, status: "mapped", ...target, ...(sources.mapped === undefined ? {} : { reason: sources.mapped }) };
  }
  return { field, status: "defaulted", ...target, reason: sources.defaulted };
}
