/**
 * The LXC version of the host that will run a config, and what follows from it for the keys we write.
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
 * import assert from "node:assert/strict";
 * import { parseLxcVersion } from "./lxc_version.ts";
 * assert.equal(parseLxcVersion("5.0.2\n")?.major, 5);
 * assert.equal(parseLxcVersion("garbage"), undefined);
 * ```
 */
export function parseLxcVersion(text: string): LxcVersion | undefined {
  const m = /^\s*(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

/**
 * The `lxc.init.cmd` splitter to quote for. LXC 5 splits at spaces (`split_init_cmd` in src/lxc/lxccontainer.c,
 * lxc-5.0.x tags); every LXC 6.0.x and 7.0.0 tag splits with `lxc_string_split_quoted` (src/lxc/string_utils.c, called
 * from `do_lxcapi_start` in lxccontainer.c); both checked with real containers (tests/e2e/lxc6_start_test.ts).
 *
 * LXC 5 and unknown versions get `"portable"`, not `"space"`: what LXC 5 alone would take as it is (a tab, a leading
 * quote) LXC 6 splits otherwise, and a host upgrade from 5 to 6 must not change what a config runs. LXC 6 gets
 * `"quoted"`; the renderer still prefers the portable form and the shell launcher, and quotes for LXC 6 only when
 * neither fits.
 */
export function initCmdSplitterFor(
  version: LxcVersion | undefined,
): InitCmdSplitter {
  return version && version.major >= 6 ? "quoted" : "portable";
}

/**
 * The key that gives the container's first process its environment. Upstream LXC split `lxc.environment` (which also
 * reaches host-side hooks) into `lxc.environment.runtime` (init only) and `lxc.environment.hooks` in 7.0.0 (commit
 * fbd37f04c, src/lxc/confile.c; no 5.0.x or 6.0.x tag up to v6.0.6 has it, and LXC 5.0.2 and 6.0.4 refuse the key).
 * Proxmox backported it into its lxc-pve 6.0.5-3 (Proxmox VE 9.1), which reports itself as 6.0.5 like upstream 6.0.5,
 * so a plain version number cannot tell them apart: the Proxmox path (`--format pve --pve-version 9.1`) decides that
 * itself, and here only 7.0.0 and later get the new key.
 */
export function environmentKeyFor(version: LxcVersion | undefined): "lxc.environment" | "lxc.environment.runtime" {
  return version && version.major >= 7 ? "lxc.environment.runtime" : "lxc.environment";
}
