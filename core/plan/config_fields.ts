/**
 * The fields of the image config LXC has no place for, and keys that are not fields of the OCI image config at all:
 * each gets a `dropped` entry saying why, so the report accounts for every field. Also the order of the report's field
 * list: the known fields in the spec's order, then the unknown keys as the image has them.
 *
 * @module
 */
import type { PlanField } from "./container_plan.ts";
import { isObject, type RuntimeConfig } from "./runtime_config.ts";

/** A config with thousands of made-up keys must not make a report of thousands of lines. */
const MAX_UNKNOWN_FIELDS = 50;
const KNOWN_FIELDS = [
  "User",
  "Env",
  "Entrypoint",
  "Cmd",
  "WorkingDir",
  "StopSignal",
  "Volumes",
  "ExposedPorts",
  "Labels",
  "Healthcheck",
  "OnBuild",
  "Shell",
  "ArgsEscaped",
] as const;
/** The known fields the plan does not map. */
type DroppedField = Exclude<
  (typeof KNOWN_FIELDS)[number],
  "User" | "Env" | "Entrypoint" | "Cmd" | "WorkingDir" | "StopSignal" | "Volumes"
>;
const DROPPED: Readonly<Record<DroppedField, string>> = {
  ExposedPorts:
    "LXC publishes no ports; the container has its own network namespace, reachable on its own address once a network is configured",
  Labels: "image metadata, not container configuration",
  Healthcheck: "LXC has no health checks",
  OnBuild: "a build-time trigger for images built FROM this one",
  Shell: "used only by RUN and friends while building",
  ArgsEscaped: "a Windows-only flag; the argv is used as given",
};

/**
 * Every field of the plan's report, in order: `mapped` holds the fates of the fields the plan maps; the dropped and
 * unknown ones are added here.
 */
export function orderedFields(
  rc: RuntimeConfig,
  mapped: readonly PlanField[],
  warn: (text: string) => void,
): PlanField[] {
  const fields = new Map<string, PlanField>(mapped.map((f) => [f.field, f]));
  for (const field of Object.keys(DROPPED) as DroppedField[]) {
    const v = rc[field];
    if (v === undefined || v === null) {
      fields.set(field, { field, status: "defaulted", reason: "not set" });
      continue;
    }
    let reason = DROPPED[field];
    if (field === "Labels" && isObject(v)) {
      const n = Object.keys(v).length;
      reason = `${n} label${n === 1 ? "" : "s"}: ${reason}`;
    }
    if (field === "ArgsEscaped" && v === false) reason = "false; nothing to do";
    fields.set(field, { field, status: "dropped", reason });
  }
  const unknown = Object.keys(rc).filter((k) => !(KNOWN_FIELDS as readonly string[]).includes(k));
  if (unknown.length > MAX_UNKNOWN_FIELDS) {
    warn(`the image config has ${unknown.length} unknown fields; the report lists the first ${MAX_UNKNOWN_FIELDS}`);
  }
  const listed = unknown.slice(0, MAX_UNKNOWN_FIELDS)
    .map((field): PlanField => ({ field, status: "dropped", reason: "not a field of the OCI image config" }));
  return [...KNOWN_FIELDS.map((f) => fields.get(f)!), ...listed];
}
