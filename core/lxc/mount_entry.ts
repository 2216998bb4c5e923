/**
 * `lxc.mount.entry` values. LXC reads them like an fstab line (getmntent): fields are separated by blanks, and a blank
 * or backslash inside a path is written as an octal escape (`\040`, `\011`, `\134`), which LXC 5.0.2 decodes (checked
 * with a bind mount whose source and target have spaces, tabs and backslashes).
 *
 * @module
 */

/** Escape one fstab field. */
export function escapeMountField(text: string): string {
  return text.replace(
    /[\\ \t]/g,
    (ch) => ch === "\\" ? "\\134" : ch === " " ? "\\040" : "\\011",
  );
}

/**
 * The value of one `lxc.mount.entry`. `target` is a container path; it is written relative to the rootfs, as LXC
 * expects for paths inside it.
 *
 * @example A bind mount with a space in the path
 * ```ts
 * import assert from "node:assert/strict";
 * import { mountEntry } from "./mount_entry.ts";
 * const line = mountEntry("/srv/my data", "/data", "none", "bind,create=dir");
 * assert.equal(line, "/srv/my\\040data data none bind,create=dir 0 0");
 * ```
 */
export function mountEntry(
  source: string,
  target: string,
  fstype: string,
  options: string,
): string {
  const relative = target.replace(/^\/+/, "");
  if (relative === "") {
    throw new TypeError("Cannot write a mount entry for the root directory");
  }
  return `${escapeMountField(source)} ${escapeMountField(relative)} ${fstype} ${options} 0 0`;
}
