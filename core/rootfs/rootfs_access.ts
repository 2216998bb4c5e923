/**
 * Confined file access to an assembled rootfs, for the planner and for
 * plugins: read /etc/passwd, create /etc/network, write a config file. Every
 * path is resolved inside the root (symlinks included, absolute targets
 * re-rooted), so an image cannot steer a plugin's write to the host. A path
 * with a NUL byte, and any call after close(), is refused.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import {
  AT_EMPTY_PATH,
  AT_SYMLINK_NOFOLLOW,
  chmodFd,
  close,
  Errno,
  fchownat,
  fstat,
  mkdirat,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_RDONLY,
  O_WRONLY,
  openat,
  read,
  readDir,
  readlinkat,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  statx,
  symlinkat,
  unlinkat,
  writeAll,
} from "../native/libc.ts";
import { ConfinedRoot } from "./confined_root.ts";
import { keyBytes } from "./entry_path.ts";
import { describeRanges, type IdMap, mapId } from "./id_map.ts";

const encoder = new TextEncoder();
const MAX_LINKS = 40;
const EMPTY = new Uint8Array(0);
const O_NONBLOCK = 0o4000; // the same on x86_64 and aarch64

/** Owner and mode for files and directories a plugin creates (container ids). */
export interface CreateOptions {
  /** Permission bits; 0o644 for files and 0o755 for directories by default. */
  mode?: number;
  /** Container uid (shifted through the idmap); 0 by default. */
  uid?: number;
  /** Container gid (shifted through the idmap); 0 by default. */
  gid?: number;
}

/** What a path is, after following symlinks inside the root. */
export type PathKind = "file" | "directory" | "other" | undefined;

/**
 * Confined reads and writes below a rootfs directory.
 *
 * @example Reading a file through a symlink that points outside
 * ```ts
 * import assert from "node:assert/strict";
 * import { RootfsAccess } from "./rootfs_access.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/etc`);
 * Deno.writeTextFileSync(`${dir}/etc/hostname`, "inside\n");
 * Deno.symlinkSync("/etc/hostname", `${dir}/name`); // absolute: re-rooted at the rootfs
 * const root = new RootfsAccess(dir);
 * assert.equal(root.readText("/name"), "inside\n");
 * root.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class RootfsAccess {
  readonly #root: ConfinedRoot;
  readonly #idmap: IdMap | undefined;
  #closed = false;
  /** The rootfs directory on the host, for messages. */
  readonly path: string;

  constructor(path: string, options: { idmap?: IdMap | undefined } = {}) {
    this.path = path;
    this.#idmap = options.idmap;
    this.#root = new ConfinedRoot(path);
  }

  /**
   * The file's bytes, or undefined when it is missing or not a regular file. Only a regular file is opened: a FIFO
   * or a device node the image put there reads as missing.
   */
  readFile(path: string, limit = 16 << 20): Uint8Array | undefined {
    this.#usable(path);
    const fd = this.#open(path, O_RDONLY, S_IFREG);
    if (fd === undefined) return undefined;
    try {
      const st = fstat(fd);
      if (typeof st === "number" || (st.mode & S_IFMT) !== S_IFREG) {
        return undefined;
      }
      if (st.size > limit) {
        throw new Oci2LxcError(
          "rootfs",
          `Cannot read ${path} in the rootfs: it is larger than ${limit} bytes`,
          { hint: `Check the image's ${path}, or pass readFile() a larger limit if such a file is expected` },
        );
      }
      const out = new Uint8Array(st.size);
      let at = 0;
      while (at < out.length) {
        const n = read(fd, out.subarray(at));
        if (n <= 0) break;
        at += n;
      }
      return out.subarray(0, at);
    } finally {
      close(fd);
    }
  }

  /** The file as UTF-8 text, or undefined. */
  readText(path: string): string | undefined {
    const bytes = this.readFile(path);
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  }

  /** Whether something exists at `path` (following symlinks inside the root). */
  exists(path: string): boolean {
    return this.kind(path) !== undefined;
  }

  /** What `path` is, following symlinks inside the root. */
  kind(path: string): PathKind {
    this.#usable(path);
    const found = this.#locate(path);
    if (!found) return undefined;
    const st = statx(found.dirFd, found.name, AT_SYMLINK_NOFOLLOW);
    if (typeof st === "number") return undefined;
    const type = st.mode & S_IFMT;
    return type === S_IFREG ? "file" : type === S_IFDIR ? "directory" : "other";
  }

  /** The path with every symlink resolved inside the root, or undefined when it does not exist. */
  realPath(path: string): string | undefined {
    this.#usable(path);
    const found = this.#locate(path);
    if (!found || typeof statx(found.dirFd, found.name, AT_SYMLINK_NOFOLLOW) === "number") return undefined;
    const name = new TextDecoder().decode(found.name);
    if (name === ".") return "/";
    const dir = this.#canonOf.get(found.dirFd) ?? "";
    return `/${dir ? `${dir}/` : ""}${name}`;
  }

  /** What `path` itself is, without following a final symlink ("symlink" for a link). */
  lkind(path: string): PathKind | "symlink" {
    this.#usable(path);
    const parts = this.#foldDotDot(components(path));
    if (parts === undefined) return undefined;
    if (parts.length === 0) return "directory";
    const parent = this.#root.resolveDir(encoder.encode(parts.slice(0, -1).join("/")), false);
    if (!parent) return undefined;
    const st = statx(parent.fd, encoder.encode(parts[parts.length - 1]!), AT_SYMLINK_NOFOLLOW);
    if (typeof st === "number") return undefined;
    const type = st.mode & S_IFMT;
    return type === S_IFLNK ? "symlink" : type === S_IFREG ? "file" : type === S_IFDIR ? "directory" : "other";
  }

  /** Whether the directory is empty; undefined when it is missing or not a directory. */
  isDirEmpty(path: string): boolean | undefined {
    this.#usable(path);
    const fd = this.#open(path, O_RDONLY | O_DIRECTORY, S_IFDIR);
    if (fd === undefined) return undefined;
    try {
      const entries = readDir(fd);
      return typeof entries === "number" ? undefined : entries.length === 0;
    } finally {
      close(fd);
    }
  }

  /**
   * Create a directory and its missing parents (parents: 0755, root-owned). An existing directory is left as it is;
   * anything else in the way, after following symlinks inside the root, is an error, never replaced.
   */
  mkdir(path: string, options: CreateOptions = {}): void {
    this.#usable(path);
    this.#makeDirs(components(path), options, `Cannot create ${path} in the rootfs`, path);
  }

  /**
   * Write a file, replacing what is there: the file is always a new one, with the owner and mode of `options`. A
   * symlink at the path is replaced by the file, never written through; a hardlinked file is replaced too, so its
   * other names keep their content. Missing parents are made as {@linkcode RootfsAccess.mkdir} makes them.
   */
  writeFile(
    path: string,
    data: Uint8Array | string,
    options: CreateOptions = {},
  ): void {
    this.#usable(path);
    const parts = this.#foldDotDot(components(path)) ?? [];
    if (parts.length === 0) {
      throw new Oci2LxcError(
        "rootfs",
        `Cannot write ${path || `""`} in the rootfs: it names the root`,
      );
    }
    const ids = this.#ids(options, path); // an owner outside the idmap is refused before anything is written
    const parentPath = parts.slice(0, -1).join("/");
    this.#makeDirs(parts.slice(0, -1), undefined, `Cannot write ${path} in the rootfs`, path);
    const parent = this.#root.resolveDir(encoder.encode(parentPath), false);
    if (!parent) {
      throw new Oci2LxcError(
        "rootfs",
        `Cannot write ${path} in the rootfs: its directory is missing`,
      );
    }
    const name = encoder.encode(parts[parts.length - 1]!);
    const mode = statx(parent.fd, name, AT_SYMLINK_NOFOLLOW);
    if (typeof mode !== "number") {
      if ((mode.mode & S_IFMT) === S_IFDIR) {
        throw new Oci2LxcError(
          "rootfs",
          `Cannot write ${path} in the rootfs: it is a directory`,
        );
      }
      // Whatever is there goes, the file is new (O_EXCL): writing into it would go through a symlink, into every
      // other name of a hardlinked inode (one outside the root too), or keep an old owner and mode.
      unlinkat(parent.fd, name, 0);
      this.#root.invalidate(); // it may have been a symlink that cached directories went through
    }
    const fd = openat(
      parent.fd,
      name,
      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
      options.mode ?? 0o644,
    );
    if (fd < 0) {
      throw new Oci2LxcError(
        "rootfs",
        `Cannot write ${path} in the rootfs: open failed (errno ${-fd})`,
      );
    }
    try {
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      const w = writeAll(fd, bytes);
      if (w < 0) {
        throw new Oci2LxcError(
          "rootfs",
          `Cannot write ${path} in the rootfs: write failed (errno ${-w})`,
        );
      }
      // Always: a setgid directory would give the new file its group, and the owner comes before the mode, whose
      // setuid bit a chown would clear.
      fchownat(fd, EMPTY, ids[0], ids[1], AT_EMPTY_PATH);
      chmodFd(fd, options.mode ?? 0o644);
    } finally {
      close(fd);
    }
  }

  /**
   * Create (or replace a non-directory with) a symlink at `path` holding `target` verbatim. Missing parents are made
   * as {@linkcode RootfsAccess.mkdir} makes them.
   */
  symlink(target: string, path: string): void {
    this.#usable(path);
    this.#usable(target);
    const parts = this.#foldDotDot(components(path)) ?? [];
    if (parts.length === 0) {
      throw new Oci2LxcError("rootfs", `Cannot create a symlink at ${path || `""`}: it names the root`);
    }
    const [uid, gid] = this.#ids({}, path);
    this.#makeDirs(parts.slice(0, -1), undefined, `Cannot create a symlink at ${path}`, path);
    const parent = this.#root.resolveDir(encoder.encode(parts.slice(0, -1).join("/")), false);
    if (!parent) throw new Oci2LxcError("rootfs", `Cannot create a symlink at ${path}: its directory is missing`);
    const name = encoder.encode(parts[parts.length - 1]!);
    const st = statx(parent.fd, name, AT_SYMLINK_NOFOLLOW);
    if (typeof st !== "number") {
      if ((st.mode & S_IFMT) === S_IFDIR) {
        throw new Oci2LxcError("rootfs", `Cannot create a symlink at ${path}: a directory is there`);
      }
      unlinkat(parent.fd, name, 0);
      this.#root.invalidate(); // it may have been a symlink that cached directories went through
    }
    const made = symlinkat(encoder.encode(target), parent.fd, name);
    if (made < 0) throw new Oci2LxcError("rootfs", `Cannot create a symlink at ${path}: errno ${-made}`);
    if (this.#idmap) fchownat(parent.fd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
  }

  /** Release the root's file descriptors; any later call is refused, a second close() does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#root.close();
  }

  /**
   * Refuse a path the kernel would read otherwise (it ends at a NUL byte, so `/etc/hostname\0x` would name
   * /etc/hostname), and any call after close(): the root's fd numbers may by then belong to another directory.
   */
  #usable(path: string): void {
    if (this.#closed) {
      throw new Oci2LxcError("rootfs", `Cannot use ${path} in the rootfs: its access to ${this.path} was closed`, {
        hint: "Use context.rootfs only while the hook it was given to runs; the conversion closes it afterwards",
      });
    }
    if (path.includes("\0")) {
      throw new Oci2LxcError(
        "rootfs",
        `Cannot use ${JSON.stringify(path)} in the rootfs: a path cannot hold a NUL byte`,
        { hint: "Remove the NUL byte from the path or symlink target the plugin gives to context.rootfs" },
      );
    }
  }

  /**
   * Make each missing directory of `parts` in turn, following symlinks inside the root: the last one with `last`
   * (when given), the others 0755 and owned by the container's root. Something in the way that is not a directory
   * (after following symlinks) is an error, never replaced.
   */
  #makeDirs(parts: string[], last: CreateOptions | undefined, action: string, path: string): void {
    // Owners are checked against the idmap before anything is made.
    const lastIds = last === undefined ? undefined : this.#ids(last, path);
    const rootIds = this.#ids({}, path);
    let dir = "";
    for (let i = 0; i < parts.length; i++) {
      const own = i === parts.length - 1 && last !== undefined && lastIds !== undefined;
      const sub = dir ? `${dir}/${parts[i]}` : parts[i]!;
      if (parts[i] === "..") {
        dir = sub; // the directory above one that is there: resolveDir goes up from where symlinks led
        continue;
      }
      // Not `create`: that would replace a non-directory in the way; each step below checked it is a directory.
      const parent = this.#root.resolveDir(encoder.encode(dir), false);
      if (!parent) throw new Oci2LxcError("rootfs", `${action}: /${dir} is not a directory`);
      const name = encoder.encode(parts[i]!);
      const ids = own ? lastIds : rootIds;
      const made = mkdirat(parent.fd, name, own ? (last.mode ?? 0o755) : 0o755);
      if (made === 0) {
        // Always: a setgid parent would give the new directory its group.
        fchownat(parent.fd, name, ids[0], ids[1], AT_SYMLINK_NOFOLLOW);
        if (own && last.mode !== undefined) this.#chmodAt(parent.fd, name, last.mode, path);
      } else if (made !== -Errno.EEXIST) {
        throw new Oci2LxcError("rootfs", `${action}: mkdir failed (errno ${-made})`);
      } else if (this.kind(sub) !== "directory") {
        const reason = this.lkind(sub) === "symlink"
          ? "is a symlink to a missing path or to something that is not a directory"
          : "exists and is not a directory";
        throw new Oci2LxcError("rootfs", `${action}: /${sub} ${reason}`);
      }
      dir = sub;
    }
    // Directories were made: cached handles may be stale. Nothing holds one now, so their fds can close at once.
    this.#root.invalidate();
    this.#root.release();
  }

  /** Find the directory fd and final name of `path`, following symlinks (bounded) inside the root. */
  /** Canonical directory path of each fd #locate returned, for realPath. */
  #canonOf = new Map<number, string>();

  #locate(path: string): { dirFd: number; name: Uint8Array } | undefined {
    let parts: string[] | undefined = components(path);
    for (let hops = 0; hops <= MAX_LINKS; hops++) {
      parts = this.#foldDotDot(parts);
      if (parts === undefined) return undefined;
      if (parts.length === 0) {
        return { dirFd: this.#root.fd, name: new Uint8Array([0x2e]) };
      }
      const parentPath = parts.slice(0, -1).join("/");
      const parent = this.#root.resolveDir(encoder.encode(parentPath), false);
      if (!parent) return undefined;
      const name = encoder.encode(parts[parts.length - 1]!);
      const st = statx(parent.fd, name, AT_SYMLINK_NOFOLLOW);
      if (typeof st === "number") return undefined;
      if ((st.mode & S_IFMT) !== S_IFLNK) {
        this.#canonOf.set(parent.fd, new TextDecoder().decode(keyToPath(parent.canon)));
        return { dirFd: parent.fd, name };
      }
      const target = readlinkat(parent.fd, name);
      if (typeof target === "number") return undefined;
      const text = new TextDecoder().decode(target);
      // A relative target continues from the link's directory, whose real path has no symlink to go up from.
      parts = text.startsWith("/") ? components(text) : [...canonParts(parent.canon), ...components(text)];
    }
    return undefined; // a loop: treat as missing, like ELOOP
  }

  /**
   * A path whose last component is `..` names the directory above the one before it, after symlinks: resolve it
   * whole (the kernel, or the walk, goes up from where a link led) and give its real components, so the last one is
   * a name in its parent again. Undefined when that directory is not there.
   */
  #foldDotDot(parts: string[]): string[] | undefined {
    if (parts[parts.length - 1] !== "..") return parts;
    const dir = this.#root.resolveDir(encoder.encode(parts.join("/")), false);
    return dir ? canonParts(dir.canon) : undefined;
  }

  /**
   * Open `path` only when it is of `type` (S_IFREG or S_IFDIR): opening a FIFO waits for a writer, and opening a
   * device node acts on the host's device. O_NONBLOCK keeps that true for whatever is there at the open itself.
   */
  #open(path: string, flags: number, type: number): number | undefined {
    const found = this.#locate(path);
    if (!found) return undefined;
    const st = statx(found.dirFd, found.name, AT_SYMLINK_NOFOLLOW);
    if (typeof st === "number" || (st.mode & S_IFMT) !== type) return undefined;
    const fd = openat(found.dirFd, found.name, flags | O_NOFOLLOW | O_NONBLOCK);
    return fd < 0 ? undefined : fd;
  }

  #ids(options: CreateOptions, path: string): [number, number] {
    const uid = options.uid ?? 0;
    const gid = options.gid ?? 0;
    if (!this.#idmap) return [uid, gid];
    const hostUid = mapId(this.#idmap.uid, uid);
    const hostGid = mapId(this.#idmap.gid, gid);
    if (hostUid === undefined || hostGid === undefined) {
      throw new Oci2LxcError(
        "rootfs",
        `Cannot set the owner of ${path}: ${uid}:${gid} is outside the idmap`,
        { hint: `Widen the map given with --idmap (${describeIdMap(this.#idmap)}) to cover ${uid}:${gid}` },
      );
    }
    return [hostUid, hostGid];
  }

  #chmodAt(dirFd: number, name: Uint8Array, mode: number, path: string): void {
    const fd = openat(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0) {
      throw new Oci2LxcError(
        "rootfs",
        `Cannot set the mode of ${path}: open failed (errno ${-fd})`,
      );
    }
    try {
      chmodFd(fd, mode);
    } finally {
      close(fd);
    }
  }
}

/**
 * Components of a container path, without empty and `.` ones. `..` stays: it means "up from where the components
 * before it led", which only resolution inside the root can tell (`/var/run/..` is `/` when /var/run links to /run).
 */
function components(path: string): string[] {
  return path.split("/").filter((part) => part !== "" && part !== ".");
}

/** The components of a canonical directory key (a real path: no symlinks, no `..`). */
function canonParts(canon: string): string[] {
  return canon === "" ? [] : new TextDecoder().decode(keyToPath(canon)).split("/");
}

function keyToPath(canon: string): Uint8Array {
  return keyBytes(canon); // canonical keys hold one byte per character
}

function describeIdMap(map: IdMap): string {
  return `uid ${describeRanges(map.uid)}; gid ${describeRanges(map.gid)}`;
}
