/**
 * The LXC version of the host that will run a config, and what follows from
 * it for the keys we write.
 *
 * @module
 */
import type { InitCmdSplitter } from "./quote_init_cmd.ts";

/** A parsed LXC version such as `5.0.2`. */
export interface LxcVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/**
 * Parse the output of `lxc-start --version` (`5.0.2`, `6.0.4`, `6.0.0~git…`).
 *
 * @example
 * ```ts
 * import { parseLxcVersion } from "./lxc_version.ts";
 * console.assert(parseLxcVersion("5.0.2\n")?.major === 5);
 * console.assert(parseLxcVersion("garbage") === undefined);
 * ```
 */
export function parseLxcVersion(text: string): LxcVersion | undefined {
  const m = /^\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

/**
 * The `lxc.init.cmd` splitter to quote for. LXC 5 splits at spaces (checked
 * on 5.0.2). For LXC 6 and later, and when the version is unknown, we quote
 * for both splitters ("portable"), because that LXC 6 uses
 * `lxc_string_split_quoted` for `lxc.init.cmd` is only reported, not checked.
 */
export function initCmdSplitterFor(
  version: LxcVersion | undefined,
): InitCmdSplitter {
  if (version && version.major < 6) return "space";
  return "portable";
}

/**
 * The key that gives the container's first process its environment: LXC
 * 6.0.5 split `lxc.environment` (which also reaches host-side hooks) into
 * `lxc.environment.runtime` (init only) and `lxc.environment.hooks`; use the
 * former where the version has it.
 */
export function environmentKeyFor(version: LxcVersion | undefined): "lxc.environment" | "lxc.environment.runtime" {
  if (!version) return "lxc.environment";
  const atLeast605 = version.major > 6 || (version.major === 6 && (version.minor > 0 || version.patch >= 5));
  return atLeast605 ? "lxc.environment.runtime" : "lxc.environment";
}
