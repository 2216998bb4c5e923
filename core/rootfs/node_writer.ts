/**
 * Devices and FIFOs of a layer, made with mknod. When a device cannot be made (EPERM in a user namespace, or
 * approximate mode) it is skipped with a warning and never turned into a regular file.
 *
 * @module
 */

import {
  AT_EMPTY_PATH,
  check,
  chmodFd,
  close,
  Errno,
  lstatMode,
  makedev,
  mknodat,
  O_NOFOLLOW,
  O_PATH,
  openat,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  setxattrFd,
  utimensat,
} from "../native/libc.ts";
import type { TarEntry } from "../tar/tar_entry.ts";
import type { DirHandle } from "./confined_root.ts";
import { EMPTY, entryTimes } from "./entry_metadata.ts";
import { removeExisting, type WriteContext } from "./remove_existing.ts";

/** Write the device or FIFO `entry` as `parent/name`, replacing what is there; whether it was made. */
export function writeNode(ctx: WriteContext, entry: TarEntry, parent: DirHandle, name: Uint8Array): boolean {
  const meta = ctx.meta;
  const isDevice = entry.type !== "fifo";
  let dev = 0n;
  if (isDevice) {
    const { devMajor: major, devMinor: minor } = entry;
    const ok = Number.isInteger(major) && Number.isInteger(minor) && major >= 0 && minor >= 0 &&
      major <= 0xfff && minor <= 0xfffff;
    if (!ok) throw new Error(`device number ${major}:${minor} is out of range (major < 4096, minor < 1048576)`);
    dev = makedev(major, minor);
  }
  const [uid, gid] = meta.owner(entry);
  const xattrs = meta.xattrs(entry);
  const existing = lstatMode(parent.fd, name);
  if (existing !== -Errno.ENOENT) removeExisting(ctx, parent, name, check(existing, "statx"));
  if (isDevice && meta.approximate) {
    meta.warn(
      "device-skipped",
      entry,
      `${entry.type} device ${entry.devMajor}:${entry.devMinor} not created (not root)`,
    );
    return false;
  }
  const typeBits = entry.type === "char" ? S_IFCHR : entry.type === "block" ? S_IFBLK : S_IFIFO;
  const r = mknodat(parent.fd, name, typeBits, dev);
  if (r === -Errno.EPERM && isDevice) {
    meta.warn("device-skipped", entry, `${entry.type} device ${entry.devMajor}:${entry.devMinor} not created (EPERM)`);
    return false;
  }
  check(r, "mknodat");
  const fd = check(openat(parent.fd, name, O_PATH | O_NOFOLLOW), "openat");
  try {
    meta.chownFd(fd, uid, gid);
    check(chmodFd(fd, entry.mode & 0o7777), "chmod");
    for (const [key, value] of xattrs) meta.xattrResult(setxattrFd(fd, key, value), key, entry, false);
    const [atime, mtime] = entryTimes(entry);
    check(utimensat(fd, EMPTY, atime, mtime, AT_EMPTY_PATH), "utimensat");
  } finally {
    close(fd);
  }
  return true;
}
