/**
 * A directory treated as a root: every path is resolved inside it, symlinks included, so nothing a layer says can reach
 * outside.
 *
 * The kernel does the work where it can: `openat2(RESOLVE_IN_ROOT)` resolves a path as if the directory were `/`
 * (absolute symlinks and `..` stay inside). When openat2 is missing (ENOSYS, Linux < 5.6 or a seccomp filter), or when
 * directories must be created on the way, a userspace walk does the same component by component, in the manner of
 * `filepath-securejoin`: `openat(O_PATH|O_NOFOLLOW)` per component, `readlinkat` on symlinks, restart from the root for
 * absolute targets, `..` clamped at the root, at most 40 symlinks (ELOOP).
 *
 * Resolved directories are cached by the path that asked for them. The cache holds fds; callers must call
 * {@linkcode ConfinedRoot.invalidate} whenever a directory or symlink is removed or replaced, because a cached fd
 * may then point at a removed directory or at the old target of a symlink.
 *
 * Work stays linear in a path's depth: the walk keeps each level's fd and canonical key instead of rebuilding them, a
 * path whose parent is cached costs one `openat` (tar archives list a directory before what it holds), and
 * {@linkcode ConfinedRoot.visitCanonical} opens many directories in one pass over the tree instead of one walk from
 * the root each. Real paths longer than {@linkcode MAX_PATH_BYTES} are refused, so a chain of symlinks cannot build
 * a tree deeper than PATH_MAX either.
 *
 * @module
 */

import {
  AT_FDCWD,
  check,
  close,
  Errno,
  fstat,
  LibcError,
  lstatMode,
  mkdirat,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  openat,
  openat2,
  procFdPath,
  readlinkat,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  S_IFLNK,
  S_IFMT,
  unlinkat,
} from "../native/libc.ts";
import { bytesKey, joinKey, keyBytes, MAX_PATH_BYTES, PathLimitError, splitPath } from "./entry_path.ts";

/** A resolved directory inside the root. */
export interface DirHandle {
  /** An O_PATH directory fd; owned by the root's cache, valid until the next {@linkcode ConfinedRoot.release}. */
  readonly fd: number;
  /** The directory's real path below the root, as a byte key (`bytesKey`); `""` is the root. */
  readonly canon: string;
  readonly ino: number;
  readonly dev: number;
}

/** Options for {@linkcode ConfinedRoot}. */
export interface ConfinedRootOptions {
  /** Never use openat2 (tests force the fallback this way). */
  userspace?: boolean;
  /** Called before a walk creates or removes a name in `dir`. */
  beforeChange?: (dir: DirHandle) => void;
  /** Called with an O_PATH fd of each directory a walk created, to set its owner. */
  createdDir?: (fd: number) => void;
}

/** A directory in the tree {@linkcode ConfinedRoot.visitCanonical} walks. */
interface VisitNode {
  readonly canon: string;
  /** The last component of `canon`. */
  readonly name: string;
  readonly children: VisitNode[];
  /** Asked for by the caller, not only on the way. */
  wanted: boolean;
}

const MAX_CACHED = 512;
const MAX_LINKS = 40;
const DOT = new Uint8Array([0x2e]);
const SLASH = 0x2f;

/**
 * Confined directory resolution below one root directory.
 *
 * @example Resolving a parent directory
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfinedRoot } from "./confined_root.ts";
 * const dir = Deno.makeTempDirSync();
 * const root = new ConfinedRoot(dir);
 * const etc = root.resolveDir(new TextEncoder().encode("/../etc"), true)!;
 * assert.equal(etc.canon, "etc");
 * root.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class ConfinedRoot {
  /** O_PATH fd of the root directory. */
  readonly fd: number;
  /** The root itself. */
  readonly rootHandle: DirHandle;
  #userspace: boolean;
  #rootReal: Uint8Array | undefined;
  #cache = new Map<string, DirHandle>();
  #retired: number[] = [];
  #beforeChange: (dir: DirHandle) => void;
  #createdDir: (fd: number) => void;

  constructor(path: string, options: ConfinedRootOptions = {}) {
    this.fd = check(
      openat(AT_FDCWD, new TextEncoder().encode(path), O_PATH | O_DIRECTORY),
      "openat",
      path,
    );
    const st = fstat(this.fd);
    if (typeof st === "number") throw new LibcError("statx", -st, path);
    this.rootHandle = { fd: this.fd, canon: "", ino: st.ino, dev: st.dev };
    this.#beforeChange = options.beforeChange ?? (() => {});
    this.#createdDir = options.createdDir ?? (() => {});
    this.#userspace = options.userspace ?? false;
    if (!this.#userspace) {
      const link = readlinkat(AT_FDCWD, procFdPath(this.fd));
      const probe = openat2(
        this.fd,
        DOT,
        O_PATH | O_DIRECTORY,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
      );
      if (typeof link === "number" || probe < 0) {
        // ENOSYS (old kernel) or EPERM (seccomp filter), or no /proc to name what openat2 found.
        this.#userspace = true;
      } else {
        this.#rootReal = link;
        close(probe);
      }
    }
  }

  /** True when resolution is done by the kernel (openat2), false for the userspace walk. */
  get usesOpenat2(): boolean {
    return !this.#userspace;
  }

  /**
   * Resolve a directory below the root; `path` is relative, components separated by `/`. Symlinks are followed inside
   * the root. With `create`, missing directories are made (mode 0755) and a non-directory in the way is replaced by a
   * directory; without it, `null` means "not there" (or not a directory).
   *
   * @throws {LibcError} on a symlink loop (ELOOP) or any other failure
   */
  resolveDir(path: Uint8Array, create: boolean): DirHandle | null {
    if (path.length === 0) return this.rootHandle;
    const key = bytesKey(path);
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const handle = this.#fromCachedParent(path, key) ?? this.#resolve(path, create);
    if (handle !== null) this.#cache.set(key, handle);
    return handle;
  }

  /**
   * Open each directory named by a canonical path (as in {@linkcode DirHandle.canon}) without following any symlink
   * and call `visit` with its O_PATH fd, which `visit` owns and must close, or with -errno when it is not there
   * (ENOENT; ENOTDIR for a non-directory or a symlink). A directory is visited after every directory below it. The
   * paths are walked as a tree, depth first, with the fds of the current path kept open, so each directory on the way
   * is opened once for the whole set: the work is linear in the size of the tree they span, not depth times count.
   */
  visitCanonical(canons: Iterable<string>, visit: (canon: string, fd: number) => void): void {
    // The tree the paths span, built from each path up to the first ancestor already in it: linear in their length.
    const root: VisitNode = { canon: "", name: "", children: [], wanted: false };
    const nodes = new Map<string, VisitNode>([["", root]]);
    for (const canon of canons) {
      const known = nodes.get(canon);
      if (known !== undefined) {
        known.wanted = true;
        continue;
      }
      let child: VisitNode = { canon, name: canon.slice(canon.lastIndexOf("/") + 1), children: [], wanted: true };
      nodes.set(canon, child);
      for (;;) {
        const parentCanon = child.canon.slice(0, Math.max(0, child.canon.lastIndexOf("/")));
        const parent = nodes.get(parentCanon);
        if (parent !== undefined) {
          parent.children.push(child);
          break;
        }
        const made: VisitNode = {
          canon: parentCanon,
          name: parentCanon.slice(parentCanon.lastIndexOf("/") + 1),
          children: [child],
          wanted: false,
        };
        nodes.set(parentCanon, made);
        child = made;
      }
    }
    // Depth first with the fds of the current path open; a directory is visited when it is left.
    const frames: { node: VisitNode; fd: number; next: number }[] = [{ node: root, fd: this.fd, next: 0 }];
    try {
      while (frames.length > 0) {
        const frame = frames[frames.length - 1]!;
        const child = frame.node.children[frame.next++];
        if (child !== undefined) {
          const fd = frame.fd < 0
            ? frame.fd
            : openat(frame.fd, keyBytes(child.name), O_PATH | O_DIRECTORY | O_NOFOLLOW);
          frames.push({ node: child, fd: fd === -Errno.ELOOP ? -Errno.ENOTDIR : fd, next: 0 });
          continue;
        }
        frames.pop();
        if (frame.node.wanted) {
          // A frame is never used again once left, so its fd passes to `visit`; the root's stays ours.
          visit(frame.node.canon, frame.fd === this.fd ? openat(this.fd, DOT, O_PATH | O_DIRECTORY) : frame.fd);
        } else if (frame.fd >= 0 && frame.fd !== this.fd) {
          close(frame.fd);
        }
      }
    } finally {
      for (const { fd } of frames) if (fd >= 0 && fd !== this.fd) close(fd);
    }
  }

  /**
   * Open a canonical path (as found in {@linkcode DirHandle.canon}) as an O_PATH directory fd without following any
   * symlink. Returns the fd (owned by the caller) or -errno.
   */
  openCanonical(canon: string): number {
    if (canon === "") return openat(this.fd, DOT, O_PATH | O_DIRECTORY);
    const bytes = keyBytes(canon);
    if (!this.#userspace) {
      const fd = openat2(
        this.fd,
        bytes,
        O_PATH | O_DIRECTORY | O_NOFOLLOW,
        RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
      );
      if (fd !== -Errno.ENAMETOOLONG && fd !== -Errno.EAGAIN) return fd;
    }
    let cur = this.fd;
    for (const part of splitPath(bytes)) {
      const fd = openat(cur, part, O_PATH | O_DIRECTORY | O_NOFOLLOW);
      if (cur !== this.fd) close(cur);
      if (fd < 0) return fd === -Errno.ELOOP ? -Errno.ENOTDIR : fd;
      cur = fd;
    }
    return cur;
  }

  /** Forget every cached directory (their fds close at the next {@linkcode release}). */
  invalidate(): void {
    for (const h of this.#cache.values()) this.#retired.push(h.fd);
    this.#cache.clear();
  }

  /** Close fds of invalidated handles and trim the cache; handles given out before are invalid after this. */
  release(): void {
    for (const fd of this.#retired) close(fd);
    this.#retired.length = 0;
    if (this.#cache.size > MAX_CACHED) {
      for (const [key, h] of this.#cache) {
        close(h.fd);
        this.#cache.delete(key);
        if (this.#cache.size <= MAX_CACHED / 2) break;
      }
    }
  }

  /** Close every fd, the root's included. */
  close(): void {
    this.invalidate();
    this.release();
    close(this.fd);
  }

  /**
   * `parent/name` when `parent` is cached and `name` is a directory (not a symlink, not `.` or `..`): one openat from
   * the cached fd finds what a walk from the root would, since a symlink or a removed directory on the way would have
   * invalidated the cache. `null` leaves the path to the full resolution (missing, a symlink, not a directory, too
   * long).
   */
  #fromCachedParent(path: Uint8Array, key: string): DirHandle | null {
    const slash = path.lastIndexOf(SLASH);
    const name = path.subarray(slash + 1);
    if (name.length === 0 || (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e)))) {
      return null;
    }
    const parent = slash < 0 ? this.rootHandle : this.#cache.get(key.slice(0, slash));
    if (parent === undefined) return null;
    const canon = joinKey(parent.canon, key.slice(slash + 1));
    if (canon.length + 1 > MAX_PATH_BYTES) return null;
    const fd = openat(parent.fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    return fd < 0 ? null : this.#handle(fd, canon);
  }

  #resolve(path: Uint8Array, create: boolean): DirHandle | null {
    if (!this.#userspace) {
      for (let attempt = 0; attempt < 4; attempt++) {
        const fd = openat2(
          this.fd,
          path,
          O_PATH | O_DIRECTORY,
          RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        );
        if (fd >= 0) {
          const canon = this.#canonFromProc(fd);
          if (canon !== null && canon.length + 1 > MAX_PATH_BYTES) {
            close(fd);
            throw tooDeep(canon.length);
          }
          if (canon !== null) return this.#handle(fd, canon);
          close(fd);
          break;
        }
        if (fd === -Errno.EAGAIN) continue; // a concurrent rename; RESOLVE_IN_ROOT asks us to retry
        if (fd === -Errno.ENOSYS) {
          this.#userspace = true;
          break;
        }
        if (fd === -Errno.ENOENT || fd === -Errno.ENOTDIR) {
          if (!create) return null;
          break; // the walk creates what is missing
        }
        if (fd === -Errno.ELOOP || fd === -Errno.ENAMETOOLONG) break; // the walk names the loop or copes with length
        check(fd, "openat2");
      }
    }
    return this.#walk(path, create);
  }

  /** The canonical key of an fd opened below the root, from its `/proc/self/fd` link. */
  #canonFromProc(fd: number): string | null {
    const root = this.#rootReal;
    if (root === undefined) return null;
    const link = readlinkat(AT_FDCWD, procFdPath(fd));
    if (typeof link === "number") return null;
    const rootIsSlash = root.length === 1;
    if (link.length === root.length && !rootIsSlash) {
      for (let i = 0; i < root.length; i++) {
        if (link[i] !== root[i]) return null;
      }
      return "";
    }
    const skip = rootIsSlash ? 1 : root.length + 1;
    if (link.length < skip || (!rootIsSlash && link[root.length] !== 0x2f)) {
      return null;
    }
    for (let i = 0; i < root.length; i++) if (link[i] !== root[i]) return null;
    return bytesKey(link.subarray(skip));
  }

  #handle(fd: number, canon: string): DirHandle {
    const st = fstat(fd);
    if (typeof st === "number") {
      close(fd);
      throw new LibcError("statx", -st);
    }
    return { fd, canon, ino: st.ino, dev: st.dev };
  }

  /** securejoin-style resolution with optional creation; see the module doc. */
  #walk(path: Uint8Array, create: boolean): DirHandle | null {
    // Each level keeps its fd (for `..` in symlink targets) and its canonical key, built once.
    const stack: { fd: number; canon: string }[] = [];
    const queue = splitPath(path).reverse();
    let links = 0;
    const top = () => (stack.length === 0 ? this.fd : stack[stack.length - 1]!.fd);
    const canonOf = () => (stack.length === 0 ? "" : stack[stack.length - 1]!.canon);
    const push = (fd: number, name: Uint8Array) => {
      const canon = joinKey(canonOf(), bytesKey(name));
      if (canon.length + 1 > MAX_PATH_BYTES) {
        close(fd);
        throw tooDeep(canon.length);
      }
      stack.push({ fd, canon });
    };
    /** Refuse, before anything is made, a directory whose real path would be too long. */
    const refuseTooDeep = (name: Uint8Array) => {
      const length = (stack.length === 0 ? 0 : canonOf().length + 1) + name.length;
      if (length + 1 > MAX_PATH_BYTES) throw tooDeep(length);
    };
    const closeAll = () => {
      for (const s of stack) close(s.fd);
      stack.length = 0;
    };
    const notifyChange = () => {
      if (stack.length === 0) return this.#beforeChange(this.rootHandle);
      const st = fstat(top());
      if (typeof st === "number") throw new LibcError("statx", -st);
      this.#beforeChange({
        fd: top(),
        canon: canonOf(),
        ino: st.ino,
        dev: st.dev,
      });
    };
    try {
      while (queue.length > 0) {
        const c = queue.pop()!;
        if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue;
        if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) {
          const up = stack.pop(); // clamped: popping the root is a no-op
          if (up !== undefined) close(up.fd);
          continue;
        }
        const fd = openat(top(), c, O_PATH | O_DIRECTORY | O_NOFOLLOW);
        if (fd >= 0) {
          push(fd, c);
          continue;
        }
        if (fd === -Errno.ENOTDIR || fd === -Errno.ELOOP) {
          const mode = lstatMode(top(), c);
          if (mode >= 0 && (mode & S_IFMT) === S_IFLNK) {
            if (++links > MAX_LINKS) {
              throw new LibcError("openat", Errno.ELOOP, "(too many symlinks)");
            }
            const target = readlinkat(top(), c);
            if (typeof target === "number") check(target, "readlinkat");
            const bytes = target as Uint8Array;
            if (bytes.length === 0) {
              if (!create) return null;
              throw new LibcError(
                "readlinkat",
                Errno.ENOENT,
                "(empty symlink)",
              );
            }
            if (bytes[0] === 0x2f) closeAll(); // absolute: start again at the root
            const parts = splitPath(bytes);
            for (let i = parts.length - 1; i >= 0; i--) queue.push(parts[i]!);
            continue;
          }
          if (mode < 0 && mode !== -Errno.ENOENT) check(mode, "statx");
          if (!create) return null;
          refuseTooDeep(c);
          if (mode >= 0) {
            // A non-directory where a directory must be: replace it (umoci does the same).
            notifyChange();
            const r = unlinkat(top(), c, 0);
            if (r !== -Errno.ENOENT) check(r, "unlinkat");
          }
        } else if (fd === -Errno.ENOENT) {
          if (!create) return null;
          refuseTooDeep(c);
        } else {
          check(fd, "openat");
        }
        notifyChange();
        const made = mkdirat(top(), c, 0o755);
        if (made !== -Errno.EEXIST) check(made, "mkdirat");
        const created = check(
          openat(top(), c, O_PATH | O_DIRECTORY | O_NOFOLLOW),
          "openat",
        );
        push(created, c);
        if (made === 0) this.#createdDir(created);
      }
      const canon = canonOf();
      const last = stack.pop();
      const fd = last?.fd ??
        check(openat(this.fd, DOT, O_PATH | O_DIRECTORY), "openat");
      return this.#handle(fd, canon);
    } finally {
      closeAll();
    }
  }
}

/** The error for a real path below the root that would pass {@linkcode MAX_PATH_BYTES}. */
function tooDeep(canonLength: number): PathLimitError {
  return new PathLimitError(
    `the path resolves (symlinks followed) to a real path of at least ${canonLength + 1} bytes; ` +
      `Linux allows at most ${MAX_PATH_BYTES} (PATH_MAX)`,
  );
}
