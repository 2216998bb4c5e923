/**
 * One download per blob across processes: an exclusive `flock` on `CACHE/locks/ALG-HEX`, held only while that one
 * blob is fetched into the cache, never across a conversion. A second user of the same blob polls the lock, then
 * finds the blob in the cache. As with DEST's lock (core/rootfs/dest_lock.ts) the holder removes the file before it
 * lets go, and a waiter that locked a removed file locks again, so two processes never both hold "the" lock.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  check,
  close,
  Errno,
  flock,
  fstat,
  LOCK_EX,
  LOCK_NB,
  O_CLOEXEC,
  O_CREAT,
  O_NOFOLLOW,
  O_RDWR,
  openat,
  statx,
  unlinkat,
} from "../native/libc.ts";

const encoder = new TextEncoder();

/** How often a waiter tries the lock again: a blob download takes seconds, a poll costs one syscall. */
const POLL_MS = 50;

/** A held blob lock. */
export interface BlobLock {
  /** Remove the lock file, then let go. Safe to call twice. */
  release(): void;
}

/** Take the lock at `path` without waiting; undefined when another holds it. */
export function tryBlobLock(path: string): BlobLock | undefined {
  const bytes = encoder.encode(path);
  // Bounded: a retry happens only when the holder removed the file between our open and our flock.
  for (let attempt = 0; attempt < 100; attempt++) {
    const fd = openat(AT_FDCWD, bytes, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600);
    check(fd, "openat", path);
    const r = flock(fd, LOCK_EX | LOCK_NB);
    if (r === 0) {
      if (sameFile(fd, bytes)) return held(fd, bytes);
      close(fd);
      continue;
    }
    close(fd);
    if (r === -Errno.EAGAIN) return undefined;
    check(r, "flock", path);
  }
  return undefined;
}

/**
 * Take the lock at `path`, waiting for another holder (polling, so the event loop and Ctrl-C stay responsive).
 * `onWait` is told once when we wait.
 *
 * @throws {Oci2LxcError} code "interrupted" when `signal` aborts the wait
 */
export async function blobLock(
  path: string,
  options: { signal?: AbortSignal | undefined; onWait?: (() => void) | undefined } = {},
): Promise<BlobLock> {
  let told = false;
  for (;;) {
    const lock = tryBlobLock(path);
    if (lock) return lock;
    if (!told) options.onWait?.();
    told = true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (options.signal?.aborted) {
      throw new Oci2LxcError("interrupted", `Cannot wait for another download of the same blob: interrupted`);
    }
  }
}

function held(fd: number, bytes: Uint8Array): BlobLock {
  let open = true;
  return {
    release() {
      if (!open) return;
      open = false;
      // Removed while still held, so nobody can lock this file and think it is the current one.
      unlinkat(AT_FDCWD, bytes, 0);
      close(fd);
    },
  };
}

/** Whether `path` still names the file open as `fd`. */
function sameFile(fd: number, path: Uint8Array): boolean {
  const a = fstat(fd);
  const b = statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);
  if (typeof a === "number" || typeof b === "number") return false;
  return a.ino === b.ino && a.dev === b.dev;
}
