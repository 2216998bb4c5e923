/**
 * Remove a directory tree relative to a directory fd without following any
 * symlink, with a bounded number of open fds however deep the tree is.
 *
 * @module
 */

import {
  AT_REMOVEDIR,
  check,
  chmodFd,
  close,
  DT_DIR,
  DT_UNKNOWN,
  Errno,
  fchmod,
  geteuid,
  lstatMode,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  openat,
  readDir,
  S_IFDIR,
  S_IFMT,
  unlinkat,
} from "../native/libc.ts";

/** Directories deeper than this below the start close their parent's fd and reopen it through `..`. */
const MAX_OPEN = 128;

const DOTDOT = new Uint8Array([0x2e, 0x2e]);

interface Frame {
  fd: number;
  name: Uint8Array;
  pending: Uint8Array[];
}

/**
 * Remove `parentFd/name`, whatever it is: a directory with everything in it
 * (symlinks inside are removed as links, never followed), or anything else
 * with one unlink. A missing name is not an error. Directories with mode
 * 0000 or without write permission are opened up first when not root.
 *
 * @throws {import("../native/libc.ts").LibcError} when something cannot be removed
 */
export function removeTree(parentFd: number, name: Uint8Array): void {
  const r = unlinkat(parentFd, name, 0);
  if (r === 0 || r === -Errno.ENOENT) return;
  if (r !== -Errno.EISDIR) check(r, "unlinkat");
  const first = openForRemoval(parentFd, name);
  if (first < 0) {
    if (first === -Errno.ENOENT) return;
    check(first, "openat");
  }
  const frames: Frame[] = [];
  try {
    frames.push({ fd: first, name, pending: [] });
    frames[0]!.pending = scan(first);
    while (frames.length > 0) {
      const top = frames[frames.length - 1]!;
      const child = top.pending.pop();
      if (child !== undefined) {
        const fd = openForRemoval(top.fd, child);
        if (fd === -Errno.ENOENT) continue;
        if (fd === -Errno.ENOTDIR) {
          removeNonDir(top.fd, child);
          continue;
        }
        check(fd, "openat");
        if (frames.length >= MAX_OPEN) {
          check(close(top.fd), "close");
          top.fd = -1;
        }
        const frame: Frame = { fd, name: child, pending: [] };
        frames.push(frame);
        frame.pending = scan(fd);
        continue;
      }
      frames.pop();
      if (frames.length === 0) {
        close(top.fd);
        top.fd = -1;
        check(unlinkat(parentFd, name, AT_REMOVEDIR), "unlinkat");
        return;
      }
      const parent = frames[frames.length - 1]!;
      if (parent.fd < 0) {
        parent.fd = check(
          openat(top.fd, DOTDOT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW),
          "openat",
        );
      }
      close(top.fd);
      top.fd = -1;
      check(unlinkat(parent.fd, top.name, AT_REMOVEDIR), "unlinkat");
    }
  } finally {
    for (const f of frames) if (f.fd >= 0) close(f.fd);
  }
}

/** Open a directory for listing, making it readable and writable first if we are not root. */
function openForRemoval(dirfd: number, name: Uint8Array): number {
  let fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (fd === -Errno.EACCES) {
    const p = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    if (p < 0) return p;
    chmodFd(p, 0o700);
    close(p);
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  }
  // Without CAP_DAC_OVERRIDE a directory without write permission keeps its entries.
  if (fd >= 0 && geteuid() !== 0) fchmod(fd, 0o700);
  return fd;
}

/** Unlink every non-directory in the directory; return the names of its subdirectories. */
function scan(fd: number): Uint8Array[] {
  const entries = readDir(fd);
  if (typeof entries === "number") return check(entries, "getdents64") as never;
  const dirs: Uint8Array[] = [];
  for (const e of entries) {
    let isDir = e.type === DT_DIR;
    if (e.type === DT_UNKNOWN) {
      const mode = lstatMode(fd, e.name);
      if (mode === -Errno.ENOENT) continue;
      isDir = mode >= 0 && (mode & S_IFMT) === S_IFDIR;
    }
    if (isDir) dirs.push(e.name);
    else if (!removeNonDir(fd, e.name)) dirs.push(e.name);
  }
  return dirs;
}

/** Unlink a non-directory; false when it turned out to be a directory. */
function removeNonDir(fd: number, name: Uint8Array): boolean {
  const r = unlinkat(fd, name, 0);
  if (r === 0 || r === -Errno.ENOENT) return true;
  if (r === -Errno.EISDIR) return false;
  return check(r, "unlinkat") === 0;
}
