/**
 * Symlinks and hardlinks of a layer. A symlink gets owner, xattrs and times, never through the link; a hardlink gets
 * nothing of its own (it shares the inode) and its target is resolved inside the root like any other path.
 *
 * @module
 */

import {
  AT_SYMLINK_NOFOLLOW,
  check,
  close,
  Errno,
  fchownat,
  linkat,
  lstatMode,
  O_NOFOLLOW,
  O_PATH,
  openat,
  S_IFDIR,
  S_IFMT,
  setxattrFd,
  symlinkat,
  utimensat,
} from "../native/libc.ts";
import { displayName, type TarEntry } from "../tar/tar_entry.ts";
import type { DirHandle } from "./confined_root.ts";
import { bytesKey, checkPathLimits, cleanPath, joinKey } from "./entry_path.ts";
import { entryTimes } from "./entry_metadata.ts";
import { removeExisting, type WriteContext } from "./remove_existing.ts";

/** Write the symlink `entry` as `parent/name`, replacing what is there. */
export function writeSymlink(ctx: WriteContext, entry: TarEntry, parent: DirHandle, name: Uint8Array): void {
  if (entry.linkPath.length === 0) throw new Error("symlink target is empty");
  const [uid, gid] = ctx.meta.owner(entry);
  const xattrs = ctx.meta.xattrs(entry);
  let r = symlinkat(entry.linkPath, parent.fd, name);
  if (r === -Errno.EEXIST) {
    removeExisting(ctx, parent, name);
    r = symlinkat(entry.linkPath, parent.fd, name);
  }
  check(r, "symlinkat");
  linkMeta(ctx, entry, parent, name, uid, gid, xattrs);
}

/** Owner, xattrs and times of the symlink `parent/name`, never following it. */
export function linkMeta(
  ctx: WriteContext,
  entry: TarEntry,
  parent: DirHandle,
  name: Uint8Array,
  uid: number,
  gid: number,
  xattrs: [string, Uint8Array][],
): void {
  if (ctx.meta.mayChown()) check(fchownat(parent.fd, name, uid, gid, AT_SYMLINK_NOFOLLOW), "fchownat");
  if (xattrs.length > 0) {
    const fd = check(openat(parent.fd, name, O_PATH | O_NOFOLLOW), "openat");
    try {
      for (const [key, value] of xattrs) ctx.meta.xattrResult(setxattrFd(fd, key, value), key, entry, false);
    } finally {
      close(fd);
    }
  }
  const [atime, mtime] = entryTimes(entry);
  check(utimensat(parent.fd, name, atime, mtime, AT_SYMLINK_NOFOLLOW), "utimensat");
}

/**
 * Write the hardlink `entry` as `parent/name` (canonical path `canon`), replacing what is there; whether a link was
 * made (a link to itself changes nothing).
 */
export function writeHardlink(
  ctx: WriteContext,
  entry: TarEntry,
  parent: DirHandle,
  name: Uint8Array,
  canon: string,
): boolean {
  const src = cleanPath(entry.linkPath);
  const shown = displayName(entry.linkPath);
  if (src.hadDotDot || src.absolute) {
    ctx.meta.warn("unsafe-path", entry, `hardlink target ${shown} resolved inside the rootfs`);
  }
  if (src.path.length === 0) throw new Error("hardlink target is the root directory");
  checkPathLimits(src.path, "the hardlink target");
  const srcName = src.path.subarray(src.nameStart);
  const srcParentPath = src.path.subarray(0, Math.max(0, src.nameStart - 1));
  let srcParent = ctx.root.resolveDir(srcParentPath, false);
  if (srcParent === null) throw new Error(`hardlink target ${shown} does not exist`);
  if (joinKey(srcParent.canon, bytesKey(srcName)) === canon) return false;
  const existing = lstatMode(parent.fd, name);
  if (existing !== -Errno.ENOENT) {
    removeExisting(ctx, parent, name, check(existing, "statx"));
    // The removal may have invalidated the resolver's cache, and the target's parent with it.
    srcParent = ctx.root.resolveDir(srcParentPath, false);
    if (srcParent === null) throw new Error(`hardlink target ${shown} does not exist`);
  }
  // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink, as umoci does.
  const r = linkat(srcParent.fd, srcName, parent.fd, name, 0);
  if (r === -Errno.ENOENT) throw new Error(`hardlink target ${shown} does not exist`);
  if (r === -Errno.EPERM) {
    const mode = lstatMode(srcParent.fd, srcName);
    if (mode >= 0 && (mode & S_IFMT) === S_IFDIR) throw new Error(`hardlink target ${shown} is a directory`);
  }
  check(r, "linkat");
  return true;
}
