/**
 * User and group id maps: which container id becomes which host id on disk.
 *
 * @module
 */

/** One contiguous run of ids: `container … container+size-1` ↦ `host … host+size-1`. */
export interface IdRange {
  readonly container: number;
  readonly host: number;
  readonly size: number;
}

/** The uid and gid maps of a container, as LXC's `lxc.idmap` lines say them. */
export interface IdMap {
  readonly uid: readonly IdRange[];
  readonly gid: readonly IdRange[];
}

/**
 * The host id for a container id, or `undefined` when no range covers it.
 *
 * @example Shifting into an unprivileged range
 * ```ts
 * import assert from "node:assert/strict";
 * import { mapId } from "./id_map.ts";
 * const ranges = [{ container: 0, host: 100000, size: 65536 }];
 * assert.equal(mapId(ranges, 33), 100033);
 * assert.equal(mapId(ranges, 70000), undefined);
 * ```
 */
export function mapId(ranges: readonly IdRange[], id: number): number | undefined {
  return through(ranges, id, "container", "host");
}

/**
 * The container id for a host id: {@linkcode mapId} in reverse, or `undefined` when no range covers it.
 *
 * @example Shifting back from an unprivileged range
 * ```ts
 * import assert from "node:assert/strict";
 * import { unmapId } from "./id_map.ts";
 * const ranges = [{ container: 0, host: 100000, size: 65536 }];
 * assert.equal(unmapId(ranges, 100033), 33);
 * assert.equal(unmapId(ranges, 33), undefined);
 * ```
 */
export function unmapId(ranges: readonly IdRange[], id: number): number | undefined {
  return through(ranges, id, "host", "container");
}

/** One direction of the map: the `to` id of the range whose `from` side covers `id`. */
function through(
  ranges: readonly IdRange[],
  id: number,
  from: "container" | "host",
  to: "container" | "host",
): number | undefined {
  for (const r of ranges) {
    if (id >= r[from] && id - r[from] < r.size) return r[to] + (id - r[from]);
  }
  return undefined;
}

/** Describe ranges for messages: `0-65535 → 100000-165535`. */
export function describeRanges(ranges: readonly IdRange[]): string {
  if (ranges.length === 0) return "no ranges";
  return ranges
    .map((r) => `${r.container}-${r.container + r.size - 1} → ${r.host}-${r.host + r.size - 1}`)
    .join(", ");
}
