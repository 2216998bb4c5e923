/**
 * One conversion at a time per DEST: an exclusive `flock` on `DIR/.NAME.oci2lxc-lock`, taken before any work and held
 * until the end.
 *
 * The lock file is removed by its holder before it lets go, so it is no leftover after a normal run; after a kill the
 * kernel drops the lock and the empty file stays until the next run for DEST takes and removes it. A waiter that locked
 * a file its holder has just removed sees that the name now points elsewhere (or nowhere) and locks again, so two runs
 * never both hold "the" lock.
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
  ftruncate,
  LOCK_EX,
  LOCK_NB,
  O_CREAT,
  O_NOFOLLOW,
  O_RDWR,
  openat,
  read,
  statx,
  unlinkat,
  writeAll,
} from "../native/libc.ts";

const encoder = new TextEncoder();

/** How often a `--wait` run tries the lock again. */
const WAIT_POLL_MS = 100;

/** A held lock on DEST; {@linkcode DestLock.release} removes the lock file and lets go. */
export interface DestLock {
  /** The lock file. */
  readonly path: string;
  /** Remove the lock file, then drop the lock. Safe to call twice. */
  release(): void;
}

/** Options for {@linkcode acquireDestLock}. */
export interface DestLockOptions {
  /** Wait for another run to finish instead of failing at once. */
  wait?: boolean | undefined;
  /** Stops a wait ("interrupted"). */
  signal?: AbortSignal | undefined;
  /** Told once, with the holder's PID, when the lock is held and we wait. */
  onWait?: ((holder: string) => void) | undefined;
}

/** `DIR/.NAME.oci2lxc-lock` for DEST `DIR/NAME`. */
export function destLockPath(dir: string, base: string): string {
  return `${dir === "/" ? "" : dir}/.${base}.oci2lxc-lock`;
}

/**
 * Take the lock on DEST `dir/base` (dir must exist). Without `wait`, fail at once when another run holds it, naming its
 * PID.
 *
 * @throws {Oci2LxcError} code "destination" when another run holds the lock, or the lock file cannot be made
 * @throws {Oci2LxcError} code "interrupted" when `signal` ends a wait
 */
export async function acquireDestLock(dir: string, base: string, options: DestLockOptions = {}): Promise<DestLock> {
  const path = destLockPath(dir, base);
  const bytes = encoder.encode(path);
  let told = false;
  for (;;) {
    const fd = openat(AT_FDCWD, bytes, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600);
    if (fd < 0) {
      throw new Oci2LxcError("destination", `Cannot lock ${dir}/${base}: cannot open ${path}: ${errnoText(fd)}`, {
        hint: `Check that ${dir} is writable`,
      });
    }
    const r = flock(fd, LOCK_EX | LOCK_NB);
    if (r === 0) {
      if (!sameFile(fd, bytes)) {
        close(fd); // the holder removed it as it let go: lock the file now at that name
        continue;
      }
      ftruncate(fd, 0);
      writeAll(fd, encoder.encode(`${Deno.pid}\n`));
      return new HeldLock(path, bytes, fd);
    }
    const holder = holderOf(fd);
    close(fd);
    if (r !== -Errno.EAGAIN) check(r, "flock", path);
    if (!options.wait) {
      throw new Oci2LxcError(
        "destination",
        `Cannot convert into ${dir}/${base}: another oci2lxc (${holder}) is converting into it`,
        { hint: `Wait for it to end, or pass --wait to wait for it (the lock is ${path})` },
      );
    }
    if (!told) options.onWait?.(holder);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    if (options.signal?.aborted) {
      throw new Oci2LxcError(
        "interrupted",
        `Cannot convert into ${dir}/${base}: interrupted while waiting for another oci2lxc (${holder})`,
      );
    }
  }
}

class HeldLock implements DestLock {
  readonly path: string;
  readonly #bytes: Uint8Array;
  #fd: number;

  constructor(path: string, bytes: Uint8Array, fd: number) {
    this.path = path;
    this.#bytes = bytes;
    this.#fd = fd;
  }

  release(): void {
    if (this.#fd < 0) return;
    // Removed while still held, so nobody can lock this file and think it is the current one.
    unlinkat(AT_FDCWD, this.#bytes, 0);
    close(this.#fd);
    this.#fd = -1;
  }
}

/** Whether `path` still names the file open as `fd`. */
function sameFile(fd: number, path: Uint8Array): boolean {
  const a = fstat(fd);
  const b = statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW);
  if (typeof a === "number" || typeof b === "number") return false;
  return a.ino === b.ino && a.dev === b.dev;
}

/** "PID N" from the lock file, or "PID unknown" when the holder has not written it yet. */
function holderOf(fd: number): string {
  const buf = new Uint8Array(32);
  const n = read(fd, buf);
  const pid = n > 0 ? new TextDecoder().decode(buf.subarray(0, n)).trim() : "";
  return /^\d+$/.test(pid) ? `PID ${pid}` : "PID unknown";
}

function errnoText(r: number): string {
  try {
    check(r, "openat");
  } catch (err) {
    return (err as Error).message;
  }
  return "";
}
