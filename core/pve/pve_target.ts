/**
 * Which Proxmox VE a config is for: the `--pve-version` text (a Proxmox VE version, or the pve-container release
 * `pveversion -v` lists) read as the version whose output differs and the lowest pve-container release the host can
 * run, which decides the features a 9.1 conf may count on.
 *
 * @module
 */

import { Oci2LxcError } from "../errors.ts";
import type { PveVersion } from "./pve_init_cmd.ts";

/** A pve-container release: major, minor, patch. */
export type PveContainerVersion = readonly [number, number, number];

/** What a version text lets the config count on. */
export interface PveTarget {
  /** The Proxmox VE version, as far as the output differs. */
  readonly version: PveVersion;
  /** The lowest pve-container release a host with that version can run. */
  readonly pveContainer: PveContainerVersion;
}

/** The first pve-container of each Proxmox VE version (pve-container's "bump version" commits). */
export const FIRST_PVE_CONTAINER: Readonly<Record<PveVersion, PveContainerVersion>> = {
  "7": [4, 0, 0],
  "8": [5, 0, 0],
  "9.0": [6, 0, 0],
  "9.1": [6, 0, 15],
};
/** pve-manager 9.1.12 (May 2026) and later depend on pve-container >= 6.1.6 (pve-manager commit b10c2570). */
const PVE_MANAGER_9_1_NEEDS: PveContainerVersion = [6, 1, 6];
/** pve-container releases from which a 9.1 conf may use a feature. */
export const INIT_USER_KEYS: PveContainerVersion = [6, 1, 0];
export const PVE_MOUNTS_SHM: PveContainerVersion = [6, 1, 10];

/** Whether pve-container release `have` is `want` or later. */
export function pveContainerAtLeast(have: PveContainerVersion, want: PveContainerVersion): boolean {
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

/**
 * What a `--pve-version` text means: a Proxmox VE version as `pveversion` prints it (`7`, `8.4`, `9.0`, `9.1`,
 * `9.1.14`, `9.2`…), or the pve-container release that `pveversion -v` lists (`pve-container/6.1.0`, also
 * `pve-container: 6.1.0`). A bare `9.1` counts on pve-container 6.0.15 only, the first 9.1 release; `9.1.12` and later,
 * and `9.2` on, bring 6.1.6 or later.
 *
 * @throws {Oci2LxcError} `usage` for anything else, or a version before 7
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePveTarget } from "./pve_target.ts";
 * assert.equal(parsePveTarget("9.1").pveContainer.join("."), "6.0.15");
 * assert.equal(parsePveTarget("pve-container/6.1.10").version, "9.1");
 * ```
 */
export function parsePveTarget(text: string): PveTarget {
  const pc = /^\s*pve-container\s*[:/= ]\s*(\d+)\.(\d+)(?:[.-](\d+))?(?:[-~+][0-9A-Za-z.~+-]*)?\s*$/i.exec(text);
  if (pc) {
    const v: PveContainerVersion = [Number(pc[1]), Number(pc[2]), Number(pc[3] ?? 0)];
    if (v[0] === 4) return { version: "7", pveContainer: v };
    if (v[0] === 5) return { version: "8", pveContainer: v };
    if (v[0] >= 6) {
      return { version: pveContainerAtLeast(v, FIRST_PVE_CONTAINER["9.1"]) ? "9.1" : "9.0", pveContainer: v };
    }
  }
  const m = pc ? null : /^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(text);
  const major = m ? Number(m[1]) : NaN;
  const minor = m?.[2] === undefined ? 0 : Number(m[2]);
  const patch = m?.[3] === undefined ? 0 : Number(m[3]);
  const of = (version: PveVersion): PveTarget => ({ version, pveContainer: FIRST_PVE_CONTAINER[version] });
  if (major === 7) return of("7");
  if (major === 8) return of("8");
  if (major === 9 && minor === 0) return of("9.0");
  if (major === 9 && minor === 1 && patch < 12) return of("9.1");
  if (major >= 9) return { version: "9.1", pveContainer: PVE_MANAGER_9_1_NEEDS };
  throw new Oci2LxcError(
    "usage",
    `Cannot use Proxmox VE version ${JSON.stringify(text)}: give 7, 8, 9.0, 9.1 (or 9.1.N), or pve-container/X.Y.Z`,
    { hint: "Read it from pveversion, e.g. pve-manager/8.4.1 → --pve-version 8; pveversion -v lists pve-container" },
  );
}

/**
 * The Proxmox VE version for a version text (see {@linkcode parsePveTarget}): `7`, `7.4`, `8.2`, `9`, `9.0`, `9.1`,
 * `9.2`… (later versions behave as 9.1).
 *
 * @throws {Oci2LxcError} `usage` for anything else, or a version before 7
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePveVersion } from "./pve_target.ts";
 * assert.equal(parsePveVersion("8.2"), "8");
 * assert.equal(parsePveVersion("9"), "9.0");
 * assert.equal(parsePveVersion("9.3"), "9.1");
 * ```
 */
export function parsePveVersion(text: string): PveVersion {
  return parsePveTarget(text).version;
}
