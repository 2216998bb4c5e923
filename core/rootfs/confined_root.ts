/**
 * A directory treated as a root: every path is resolved inside it, symlinks
 * included, so nothing a layer says can reach outside.
 *
 * The kernel does the work where it can: `openat2(RESOLVE_IN_ROOT)` resolves
 * a path as if the directory were `/` (absolute symlinks and `..` stay
 * inside). When openat2 is missing (ENOSYS, Linux < 5.6 or a seccomp
 * filter), or when directories must be created on the way, a userspace walk
 * does the same component by component, in the manner of
 * `filepath-securejoin`: `openat(O_PATH|O_NOFOLLOW)` per component,
 * `readlinkat` on symlinks, restart from the root for absolute targets, `..`
 * clamped at the root, at most 40 symlinks (ELOOP).
 *
 * Resolved directories are cached by the path that asked for them. The cache
 * holds fds; callers must call {@linkcode ConfinedRoot.invalidate} whenever a
 * directory or symlink is removed or replaced, because a cached fd may then
 * point at a removed directory or at the old target of a symlink.
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
import { bytesKey, keyBytes, splitPath } from "./entry_path.ts";

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

const MAX_CACHED = 512;
const MAX_LINKS = 40;
const DOT = new Uint8Array([0x2e]);

/**
 * Confined directory resolution below one root directory.
 *
 * @example Resolving a parent directory
 * ```ts
 * import { ConfinedRoot } from "./confined_root.ts";
 * const dir = Deno.makeTempDirSync();
 * const root = new ConfinedRoot(dir);
 * const etc = root.resolveDir(new TextEncoder().encode("/../etc"), true)!;
 * console.assert(etc.canon === "etc");
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
   * Resolve a directory below the root; `path` is relative, components
   * separated by `/`. Symlinks are followed inside the root. With `create`,
   * missing directories are made (mode 0755) and a non-directory in the way
   * is replaced by a directory; without it, `null` means "not there" (or not a
   * directory).
   *
   * @throws {LibcError} on a symlink loop (ELOOP) or any other failure
   */
  resolveDir(path: Uint8Array, create: boolean): DirHandle | null {
    if (path.length === 0) return this.rootHandle;
    const key = bytesKey(path);
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit;
    const handle = this.#resolve(path, create);
    if (handle !== null) this.#cache.set(key, handle);
    return handle;
  }

  /**
   * Open a canonical path (as found in {@linkcode DirHandle.canon}) as an O_PATH
   * directory fd without following any symlink. Returns the fd (owned by the
   * caller) or -errno.
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
    const stack: { fd: number; name: Uint8Array }[] = [];
    const queue = splitPath(path).reverse();
    let links = 0;
    const top = () => (stack.length === 0 ? this.fd : stack[stack.length - 1]!.fd);
    const canonOf = () => stack.map((s) => bytesKey(s.name)).join("/");
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
          stack.push({ fd, name: c });
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
          if (mode >= 0) {
            // A non-directory where a directory must be: replace it (umoci does the same).
            notifyChange();
            const r = unlinkat(top(), c, 0);
            if (r !== -Errno.ENOENT) check(r, "unlinkat");
          }
        } else if (fd === -Errno.ENOENT) {
          if (!create) return null;
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
        stack.push({ fd: created, name: c });
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
