/**
 * Which volume data moves where when one generation replaces another: every in-rootfs volume of the outgoing
 * generation that the incoming one declares too moves to the same path in its rootfs; one it no longer declares
 * moves to `volumes-aside/` beside the rootfs (kept, reported, never deleted), and what is already aside moves along
 * (back into the rootfs when the incoming image declares that volume again). Volume data moves with the container,
 * not with the generation.
 *
 * @module
 */
import { join } from "node:path";
import { asideName, plainPath, type VolumeMove, volumeOfAside } from "./generation_swap.ts";

/** The moves, and what they mean for the report. */
export interface PlannedMoves {
  moves: VolumeMove[];
  /** Volumes whose data moves into the incoming rootfs. */
  carried: string[];
  /** Volumes the incoming image does not declare: their data is kept in `volumes-aside/`. */
  aside: string[];
}

function rootfsPath(volume: string): string {
  return `rootfs/${volume.replace(/^\/+/, "")}`;
}

/**
 * Plan the moves from the container directory `fromDir` (volumes `fromVolumes`) into `toDir` (volumes `toVolumes`).
 * A path reached through a symlink on either side is not moved (it could lead out of the rootfs): `warn` says so,
 * and the data stays in the outgoing generation.
 */
export function planVolumeMoves(
  fromDir: string,
  fromVolumes: readonly string[],
  toDir: string,
  toVolumes: readonly string[],
  warn: (message: string) => void,
): PlannedMoves {
  const planned: PlannedMoves = { moves: [], carried: [], aside: [] };
  const add = (from: string, volume: string) => {
    if (!plainPath(fromDir, from, "dir")) {
      if (plainPath(fromDir, from, "absent-or-dir")) return; // nothing there: nothing to carry
      warn(`the data of the volume ${volume} is not moved: ${join(fromDir, from)} is reached through a symlink`);
      return;
    }
    if (toVolumes.includes(volume) && plainPath(toDir, rootfsPath(volume), "absent-or-dir")) {
      planned.moves.push({ from, to: rootfsPath(volume) });
      planned.carried.push(volume);
    } else {
      planned.moves.push({ from, to: asideName(volume) });
      planned.aside.push(volume);
    }
  };
  for (const volume of fromVolumes) add(rootfsPath(volume), volume);
  let asideNames: string[] = [];
  try {
    asideNames = [...Deno.readDirSync(join(fromDir, "volumes-aside"))].map((e) => e.name).sort();
  } catch {
    // nothing kept aside
  }
  for (const name of asideNames) add(`volumes-aside/${name}`, volumeOfAside(name));
  return planned;
}
