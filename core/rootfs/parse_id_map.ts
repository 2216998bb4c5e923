/**
 * `--idmap u:0:100000:65536,g:0:100000:65536` (LXC's `lxc.idmap` order: type, container id, host id, count) and
 * `--unprivileged`'s default.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import type { IdMap, IdRange } from "./id_map.ts";

/** The map `--unprivileged` means: container 0-65535 to host 100000-165535, as LXC and Proxmox default. */
export const DEFAULT_UNPRIVILEGED_MAP: IdMap = {
  uid: [{ container: 0, host: 100000, size: 65536 }],
  gid: [{ container: 0, host: 100000, size: 65536 }],
};

/**
 * Parse an idmap. `b:` sets both maps. Ranges must not overlap on either side, and each map must cover container id 0
 * (the container's root).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIdMap } from "./parse_id_map.ts";
 * const map = parseIdMap("b:0:100000:65536");
 * assert(map.uid[0]!.host === 100000 && map.gid[0]!.size === 65536);
 * ```
 */
export function parseIdMap(text: string): IdMap {
  const uid: IdRange[] = [];
  const gid: IdRange[] = [];
  for (const part of text.split(",")) {
    const m = /^([ugb]):(\d+):(\d+):(\d+)$/.exec(part.trim());
    if (!m) {
      throw new Oci2LxcError("usage", `Cannot parse --idmap "${text}": "${part}" is not TYPE:CONTAINER:HOST:COUNT`, {
        hint: "Write it like --idmap u:0:100000:65536,g:0:100000:65536 (TYPE is u, g or b for both)",
      });
    }
    const range = { container: Number(m[2]), host: Number(m[3]), size: Number(m[4]) };
    if (range.size < 1 || range.container + range.size > 2 ** 32 - 1 || range.host + range.size > 2 ** 32 - 1) {
      throw new Oci2LxcError("usage", `Cannot parse --idmap "${text}": "${part}" is out of range`);
    }
    if (m[1] !== "g") uid.push(range);
    if (m[1] !== "u") gid.push(range);
  }
  for (const [kind, ranges] of [["uid", uid], ["gid", gid]] as const) {
    if (!ranges.some((r) => r.container === 0)) {
      throw new Oci2LxcError("usage", `Cannot use --idmap "${text}": no ${kind} range starts at container id 0`, {
        hint: "The container's root must be mapped, e.g. u:0:100000:65536",
      });
    }
    const sorted = (key: "container" | "host") => [...ranges].sort((a, b) => a[key] - b[key]);
    for (const key of ["container", "host"] as const) {
      const list = sorted(key);
      for (let i = 1; i < list.length; i++) {
        if (list[i]![key] < list[i - 1]![key] + list[i - 1]!.size) {
          throw new Oci2LxcError("usage", `Cannot use --idmap "${text}": ${kind} ranges overlap on the ${key} side`);
        }
      }
    }
  }
  return { uid, gid };
}
