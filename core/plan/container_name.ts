/**
 * The container name rule, in one place: what `lxc-start -n` takes and what names DEST's directory, the staging
 * directory and the Proxmox VE template (`NAME.tar.zst`). Letters, digits, `_`, `.` and `-`, starting with a letter
 * or digit, up to 64 characters: nothing a shell, a path or Proxmox VE's upload would change.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";

const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Whether `name` is a valid container name.
 *
 * @example
 * ```ts
 * import { isContainerName } from "./container_name.ts";
 * console.assert(isContainerName("web-1.example"));
 * console.assert(!isContainerName("../web") && !isContainerName("my app"));
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
