/**
 * The container name rule, in one place: what `lxc-start -n` takes and what names DEST's directory, the staging
 * directory and the Proxmox VE template (`NAME.tar.zst`). Letters, digits, `_`, `.` and `-`, starting with a letter
 * or digit, up to 64 characters: nothing a shell, a path or Proxmox VE's upload would change. And the plan's
 * hostname, which comes from the name: the name is checked, not changed (it names the container directory the
 * caller asked for); a name that is not a valid hostname is made into one (with a warning), while a `--hostname`
 * that is not valid is refused. The hostname rule itself is `hostname.ts`.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { hostnameFrom, isHostname } from "./hostname.ts";

const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Whether `name` is a valid container name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isContainerName } from "./container_name.ts";
 * assert(isContainerName("web-1.example"));
 * assert(!isContainerName("../web") && !isContainerName("my app"));
 * ```
 */
export function isContainerName(name: string): boolean {
  return CONTAINER_NAME.test(name);
}

/**
 * Throw a usage error when `name` is not a valid container name.
 *
 * @throws {Oci2LxcError} `usage`, with `hint` when given
 */
export function checkContainerName(name: string, hint?: string): void {
  if (isContainerName(name)) return;
  throw new Oci2LxcError(
    "usage",
    `Cannot use container name ${JSON.stringify(name)}: use letters, digits, "_", "." and "-", up to 64`,
    hint === undefined ? {} : { hint },
  );
}

/**
 * Check the container `name` and decide the hostname: `hostname` when given, else the name made a valid hostname.
 *
 * @throws {Oci2LxcError} `usage` for a name or hostname LXC would not take
 */
export function planHostname(name: string, hostname: string | undefined, warn: (text: string) => void): string {
  checkContainerName(name);
  if (hostname !== undefined) {
    if (!isHostname(hostname)) {
      throw new Oci2LxcError("usage", `Cannot use hostname ${JSON.stringify(hostname)}: not a valid hostname`);
    }
    return hostname;
  }
  if (isHostname(name)) return name;
  const made = hostnameFrom(name);
  warn(`the name "${name}" is not a valid hostname; the hostname is "${made}"`);
  return made;
}
