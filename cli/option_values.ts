/**
 * The values of `convert`'s options, checked before any work starts. A real
 * run and `--dry-run` call the same checks here, so a dry run cannot accept
 * what the real run refuses at its end (`--vmid 99999999999999999999`,
 * `--pve-version 6`), and `Number()`'s leniency (`1e3`, `0x10`, ` 12 `)
 * never turns a typo into another id.
 *
 * @module
 */
import { Oci2LxcError, quoteForMessage } from "../core/errors.ts";
import { findForbiddenChar } from "../core/lxc/config_value.ts";

/** The Proxmox VE container id range (pve-container's `pve-vmid` format). */
const VMID_MIN = 100;
const VMID_MAX = 999_999_999;

/**
 * `--vmid N`: decimal digits only, from 100 to 999999999.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseVmid } from "./option_values.ts";
 * assert.equal(parseVmid("120"), 120);
 * ```
 */
export function parseVmid(text: string): number {
  const vmid = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(vmid >= VMID_MIN && vmid <= VMID_MAX)) {
    throw new Oci2LxcError(
      "usage",
      `Cannot use --vmid ${quoteForMessage(text)}: give the container id in digits, from ${VMID_MIN} to ${VMID_MAX}`,
      { hint: "Pass the id you will give pct create, e.g. --vmid 120" },
    );
  }
  return vmid;
}

/**
 * `--lxc-version X.Y[.Z]`: the version `lxc-start --version` prints (a distribution suffix is allowed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLxcVersion } from "./option_values.ts";
 * assert.equal(checkLxcVersion("5.0.2"), "5.0.2");
 * ```
 */
export function checkLxcVersion(text: string): string {
  // A distribution's suffix (`6.0.0~git2024…`, `5.0.2-1+deb12u2`) is part of what lxc-start --version prints.
  if (!/^[0-9]{1,4}\.[0-9]{1,4}(?:\.[0-9]{1,4})?(?:[~+-][A-Za-z0-9.~+-]*)?$/.test(text)) {
    throw new Oci2LxcError("usage", `Cannot use --lxc-version ${quoteForMessage(text)}: give a version like 5.0.2`, {
      hint: "Run lxc-start --version on the host that will run the container",
    });
  }
  return text;
}

/**
 * DEST for plain LXC output: its path goes into the config (`lxc.rootfs.path`, mount entries), which cannot hold
 * a line break or control character.
 */
export function checkDestForConfig(absDest: string): void {
  const bad = findForbiddenChar(absDest, false);
  if (bad === undefined) return;
  throw new Oci2LxcError("usage", `Cannot use DEST ${quoteForMessage(absDest)}: it contains ${bad}`, {
    hint: "DEST's path is written into DEST/config (lxc.rootfs.path), which cannot hold it: choose a DEST without " +
      "control characters or line breaks (in its parent directories too)",
  });
}
