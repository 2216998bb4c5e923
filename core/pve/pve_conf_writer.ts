/**
 * The writer of `/etc/pve/lxc/VMID.conf` lines: how PVE reads that file decides what is quoted, escaped or refused.
 *
 * @module
 */

import { Oci2LxcError } from "../errors.ts";
import { checkConfigValue, encodeConfigValue, sanitiseComment } from "../lxc/config_value.ts";

/** Collects `key: value` lines in the order PVE writes them: properties sorted, then raw lxc lines. */
export class PveConfWriter {
  readonly #comments: string[] = [];
  readonly #options = new Map<string, string>();
  readonly #raw: string[] = [];

  /** A `#` line: part of the container's description in PVE. */
  comment(text: string): void {
    // PVE decodes %XX in descriptions, so a literal % is written as %25.
    this.#comments.push(`#${sanitiseComment(text).replaceAll("%", "%25")}`);
  }

  /** A PVE property; PVE refuses line breaks in all and control characters in most (`entrypoint` takes tabs). */
  option(key: string, value: string, what = key, allowTab = false): void {
    checkConfigValue(value, what, "config", allowTab);
    if (value.trim() !== value || value === "") {
      throw new Oci2LxcError("config", `Cannot use ${what}: Proxmox VE trims blanks at the ends of ${key}`);
    }
    this.#options.set(key, value);
  }

  /** A raw `lxc.*` line, encoded so that LXC reads back exactly `value`. */
  raw(key: string, value: string | number, what = key): void {
    if (!/^lxc(\.[a-z0-9_-]+)+$/.test(key)) throw new TypeError(`Cannot write raw key ${sanitiseComment(key)}`);
    const text = String(value);
    checkConfigValue(text, what);
    const encoded = encodeConfigValue(text);
    this.#raw.push(encoded === "" ? `${key}:` : `${key}: ${encoded}`);
  }

  /** A raw line whose value PVE itself parses further (no quoting possible). */
  rawVerbatim(key: string, value: string): void {
    this.#raw.push(`${key}: ${value}`);
  }

  toString(): string {
    const options = [...this.#options].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}: ${v}`);
    return [...this.#comments, ...options, ...this.#raw].join("\n") + "\n";
  }
}
