/**
 * Clearing the place an entry is about to take: whatever is there (a file, a symlink as a link, a directory with its
 * contents) goes, the parent's times are remembered first so the layer can restore them, and the resolver forgets
 * what the removal made stale.
 *
 * @module
 */

import { check, Errno, lstatMode, S_IFDIR, S_IFLNK, S_IFMT, unlinkat } from "../native/libc.ts";
import type { ConfinedRoot, DirHandle } from "./confined_root.ts";
import type { DirMetadata } from "./dir_metadata.ts";
import type { EntryMetadata } from "./entry_metadata.ts";
import { removeTree } from "./remove_tree.ts";

/** What the pieces of the rootfs writer share while they write one entry. */
export interface WriteContext {
  readonly root: ConfinedRoot;
  readonly dirs: DirMetadata;
  readonly meta: EntryMetadata;
}

/** Remove `parent/name` whatever it is; `mode` if already known. */
export function removeExisting({ root, dirs }: WriteContext, parent: DirHandle, name: Uint8Array, mode?: number): void {
  const m = mode ?? lstatMode(parent.fd, name);
  if (m === -Errno.ENOENT) return;
  check(m, "statx");
  dirs.touch(parent);
  const type = m & S_IFMT;
  if (type === S_IFDIR) {
    removeTree(parent.fd, name);
    root.invalidate();
  } else {
    const r = unlinkat(parent.fd, name, 0);
    if (r !== -Errno.ENOENT) check(r, "unlinkat");
    // A cached directory may have been reached through this link.
    if (type === S_IFLNK) root.invalidate();
  }
}
