/**
 * The mirror options of the commands that read registries: `--registry-mirror HOST[:PORT]` (repeatable, tried in
 * order before registries.conf's mirrors and the registry itself) and `--registries-conf FILE` (instead of
 * /etc/containers/registries.conf). A command spreads {@linkcode MIRROR_OPTIONS} into its options and builds its
 * client with `new MirroredRegistry(pullEndpoints(registry, repository, byDigest, mirrorOptionValues(values)), …)`.
 *
 * @module
 */
import { Oci2LxcError, quoteForMessage } from "../core/errors.ts";
import type { MirrorOptions } from "../core/registry/mirrors.ts";
import type { OptionSpec, ParsedArgs } from "./commands.ts";

/** The option specs, to spread into a command's `options`. */
export const MIRROR_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  "registry-mirror": {
    type: "string",
    multiple: true,
    value: "HOST[:PORT]",
    help: "Pull through this mirror first (repeatable); a failing mirror falls back to the registry",
  },
  "registries-conf": {
    type: "string",
    value: "FILE",
    help: "Read registries and mirrors from FILE instead of /etc/containers/registries.conf",
  },
};

/**
 * Check the mirror options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mirrorOptionValues } from "./mirror_options.ts";
 * assert(mirrorOptionValues({ "registry-mirror": ["m.lan:5000"] }).registryMirrors?.[0] === "m.lan:5000");
 * ```
 * @throws {Oci2LxcError} code "usage" for a mirror that is not `HOST[:PORT][/PATH]`
 */
export function mirrorOptionValues(values: ParsedArgs["values"]): MirrorOptions {
  const mirrors = values["registry-mirror"];
  const list = Array.isArray(mirrors) ? mirrors : typeof mirrors === "string" ? [mirrors] : [];
  for (const mirror of list) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\/[a-z0-9._\/-]+)?$/.test(mirror)) {
      throw new Oci2LxcError("usage", `Cannot use --registry-mirror ${quoteForMessage(mirror)}: not HOST[:PORT]`, {
        hint: "Give the mirror's host and port, without a scheme: --registry-mirror mirror.lan:5000",
      });
    }
  }
  const conf = values["registries-conf"];
  return { registryMirrors: list, ...(typeof conf === "string" ? { registriesConf: conf } : {}) };
}
