/**
 * Remove a directory tree relative to a directory fd without following any symlink and without crossing into another
 * mount, with a bounded number of open fds however deep the tree is.
 *
 * @module
 */

import { throwIfInterrupted } from "../errors.ts";
import { letEventLoopRun } from "../event_loop_pause.ts";
import {
  AT_REMOVEDIR,
  check,
  chmodFd,
  close,
  DT_DIR,
  DT_UNKNOWN,
  Errno,
  fchmod,
  fstat,
  geteuid,
  lstatMode,
  mountIdOf,
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

/** Entries removed between two turns of the event loop in {@linkcode removeTreeAsync}. */
const ENTRIES_PER_PAUSE = 256;

const DOTDOT = new Uint8Array([0x2e, 0x2e]);
const decoder = new TextDecoder();

interface Frame {
  fd: number;
  name: Uint8Array;
  pending: Uint8Array[];
  /** Something below was left in place (a mount point), so this directory cannot be removed either. */
  kept: boolean;
}

/**
 * The tree held mount points, which were left in place with the directories above them; everything else is removed.
 * `mountPoints` are relative to the removed tree's root (`.` when the root itself is one).
 */
export class MountPointInTreeError extends Error {
  /** The mount points left in place, relative to the tree's root. */
  readonly mountPoints: readonly string[];

  constructor(mountPoints: string[]) {
    super(`${mountPoints.slice(0, 3).join(", ")}${mountPoints.length > 3 ? ", …" : ""} is a mount point; not crossed`);
    this.name = "MountPointInTreeError";
    this.mountPoints = mountPoints;
  }
}

/**
 * Remove `parentFd/name`, whatever it is: a directory with everything in it (symlinks inside are removed as links,
 * never followed), or anything else with one unlink. A missing name is not an error. Directories with mode 0000 or
 * without write permission are opened up first when not root. A directory on another mount than `parentFd` (a bind
 * mount, a running container's /proc) is never entered: it and its ancestors stay, the rest goes, and a
 * {@linkcode MountPointInTreeError} says which.
 *
 * @throws {import("../native/libc.ts").LibcError} when something cannot be removed
 * @throws {MountPointInTreeError} when mount points were left in place
 */
export function removeTree(parentFd: number, name: Uint8Array): void {
  const steps = removeSteps(parentFd, name);
  while (!steps.next().done) { /* no pauses */ }
}

/**
 * {@linkcode removeTree} with a turn of the event loop every few hundred entries, so signal listeners run while a
 * large tree goes; once `signal` is aborted it stops (what is left stays) and throws the "interrupted" error.
 */
export async function removeTreeAsync(
  parentFd: number,
  name: Uint8Array,
  options: { signal?: AbortSignal | undefined; what?: string } = {},
): Promise<void> {
  const steps = removeSteps(parentFd, name);
  while (!steps.next().done) {
    await letEventLoopRun();
    throwIfInterrupted(options.signal, `remove ${options.what ?? "the tree"}`, "while removing it");
  }
}

function* removeSteps(parentFd: number, name: Uint8Array): Generator<void, void, void> {
  const r = unlinkat(parentFd, name, 0);
  if (r === 0 || r === -Errno.ENOENT) return;
  if (r !== -Errno.EISDIR) check(r, "unlinkat");
  const mount = mountOf(parentFd);
  const first = openForRemoval(parentFd, name);
  if (first < 0) {
    if (first === -Errno.ENOENT) return;
    check(first, "openat");
  }
  if (mountOf(first) !== mount) {
    close(first);
    throw new MountPointInTreeError(["."]);
  }
  const frames: Frame[] = [];
  const kept: string[] = [];
  let budget = ENTRIES_PER_PAUSE;
  try {
    const scanInto = (frame: Frame) => {
      const found = scan(frame.fd);
      frame.pending = found.dirs;
      budget -= found.entries;
      if (found.busy.length > 0) {
        // A file bind-mounted here: unlink says EBUSY, and it stays with its directories.
        for (const b of found.busy) kept.push(relativePath([...frames.slice(0, frames.indexOf(frame) + 1)], b));
        for (const f of frames) f.kept = true;
      }
    };
    frames.push({ fd: first, name, pending: [], kept: false });
    scanInto(frames[0]!);
    while (frames.length > 0) {
      if (--budget <= 0) {
        budget = ENTRIES_PER_PAUSE;
        yield;
      }
      const top = frames[frames.length - 1]!;
      const child = top.pending.pop();
      if (child !== undefined) {
        const fd = openForRemoval(top.fd, child);
        if (fd === -Errno.ENOENT) continue;
        if (fd === -Errno.ENOTDIR) {
          if (removeNonDir(top.fd, child) === "busy") {
            kept.push(relativePath(frames, child));
            for (const f of frames) f.kept = true;
          }
          continue;
        }
        check(fd, "openat");
        if (mountOf(fd) !== mount) {
          // Never list, chmod or unlink anything on another mount: that is someone's data.
          close(fd);
          kept.push(relativePath(frames, child));
          for (const f of frames) f.kept = true;
          continue;
        }
        if (frames.length >= MAX_OPEN) {
          check(close(top.fd), "close");
          top.fd = -1;
        }
        const frame: Frame = { fd, name: child, pending: [], kept: false };
        frames.push(frame);
        scanInto(frame);
        continue;
      }
      frames.pop();
      if (frames.length === 0) {
        close(top.fd);
        top.fd = -1;
        if (top.kept) throw new MountPointInTreeError(kept);
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
      if (!top.kept) check(unlinkat(parent.fd, top.name, AT_REMOVEDIR), "unlinkat");
    }
  } finally {
    for (const f of frames) if (f.fd >= 0) close(f.fd);
  }
}

/** The mount id of an fd's inode, or its device number where the kernel has no mount ids (before 5.8). */
function mountOf(fd: number): string {
  const id = mountIdOf(fd);
  if (id >= 0) return `m${id}`;
  const st = fstat(fd);
  if (typeof st === "number") return check(st, "statx") as never;
  return `d${st.dev}`;
}

function relativePath(frames: Frame[], child: Uint8Array): string {
  return [...frames.slice(1).map((f) => decoder.decode(f.name)), decoder.decode(child)].join("/");
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

/** Unlink every non-directory in the directory; return its subdirectories and the mount points found. */
function scan(fd: number): { dirs: Uint8Array[]; busy: Uint8Array[]; entries: number } {
  const entries = readDir(fd);
  if (typeof entries === "number") return check(entries, "getdents64") as never;
  const dirs: Uint8Array[] = [];
  const busy: Uint8Array[] = [];
  for (const e of entries) {
    let isDir = e.type === DT_DIR;
    if (e.type === DT_UNKNOWN) {
      const mode = lstatMode(fd, e.name);
      if (mode === -Errno.ENOENT) continue;
      isDir = mode >= 0 && (mode & S_IFMT) === S_IFDIR;
    }
    if (isDir) dirs.push(e.name);
    else {
      const r = removeNonDir(fd, e.name);
      if (r === "dir") dirs.push(e.name);
      else if (r === "busy") busy.push(e.name);
    }
  }
  return { dirs, busy, entries: entries.length };
}

/** Unlink a non-directory: "dir" when it turned out to be a directory, "busy" when it is a mount point. */
function removeNonDir(fd: number, name: Uint8Array): "done" | "dir" | "busy" {
  const r = unlinkat(fd, name, 0);
  if (r === 0 || r === -Errno.ENOENT) return "done";
  if (r === -Errno.EISDIR) return "dir";
  if (r === -Errno.EBUSY) return "busy";
  check(r, "unlinkat");
  return "done";
}
