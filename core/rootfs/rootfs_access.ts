/**
 * Confined file access to an assembled rootfs, for the planner and for plugins: read /etc/passwd, create /etc/network,
 * write a config file. Every path is resolved inside the root (symlinks included, absolute targets re-rooted), so an
 * image cannot steer a plugin's write to the host.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import {
  AT_SYMLINK_NOFOLLOW,
  chmodFd,
  close,
  Errno,
  fchownat,
  fstat,
  mkdirat,
  O_CREAT,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_RDONLY,
  O_TRUNC,
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
import { type IdMap, mapId } from "./id_map.ts";

const encoder = new TextEncoder();
const MAX_LINKS = 40;
const EMPTY = new Uint8Array(0);

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
 * import { RootfsAccess } from "./rootfs_access.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/etc`);
 * Deno.writeTextFileSync(`${dir}/etc/hostname`, "inside\n");
 * Deno.symlinkSync("/etc/hostname", `${dir}/name`); // absolute: re-rooted at the rootfs
 * const root = new RootfsAccess(dir);
 * console.assert(root.readText("/name") === "inside\n");
 * root.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class RootfsAccess {
  readonly #root: ConfinedRoot;
  readonly #idmap: IdMap | undefined;
  /** The rootfs directory on the host, for messages. */
  readonly path: string;

  constructor(path: string, options: { idmap?: IdMap | undefined } = {}) {
    this.path = path;
    this.#idmap = options.idmap;
    this.#root = new ConfinedRoot(path);
  }

  /** The file's bytes, or undefined when it is missing or not a regular file. */
  readFile(path: string, limit = 16 << 20): Uint8Array | undefined {
    const fd = this.#open(path, O_RDONLY);
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
    const found = this.#locate(path);
    if (!found) return undefined;
    const st = statx(found.dirFd, found.name, AT_SYMLINK_NOFOLLOW);
    if (typeof st === "number") return undefined;
    const type = st.mode & S_IFMT;
    return type === S_IFREG ? "file" : type === S_IFDIR ? "directory" : "other";
  }

  /** The path with every symlink resolved inside the root, or undefined when it does not exist. */
  realPath(path: string): string | undefined {
    const found = this.#locate(path);
    if (!found || typeof statx(found.dirFd, found.name, AT_SYMLINK_NOFOLLOW) === "number") return undefined;
    const name = new TextDecoder().decode(found.name);
    if (name === ".") return "/";
    const dir = this.#canonOf.get(found.dirFd) ?? "";
    return `/${dir ? `${dir}/` : ""}${name}`;
  }

  /** What `path` itself is, without following a final symlink ("symlink" for a link). */
  lkind(path: string): PathKind | "symlink" {
    const parts = components(path);
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
    const fd = this.#open(path, O_RDONLY | O_DIRECTORY);
    if (fd === undefined) return undefined;
    try {
      const entries = readDir(fd);
      return typeof entries === "number" ? undefined : entries.length === 0;
    } finally {
      close(fd);
    }
  }

  /** Create a directory and its missing parents (parents: 0755, root-owned). */
  mkdir(path: string, options: CreateOptions = {}): void {
    const parts = components(path);
    let dir = "";
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const parent = this.#root.resolveDir(encoder.encode(dir), true);
      if (!parent) {
        throw new Oci2LxcError(
          "rootfs",
          `Cannot create ${path} in the rootfs: ${dir} is not a directory`,
        );
      }
      const name = encoder.encode(parts[i]!);
      const made = mkdirat(
        parent.fd,
        name,
        last ? (options.mode ?? 0o755) : 0o755,
      );
      if (made === 0) {
        this.#chown(parent.fd, name, last ? options : {}, path);
        if (last && options.mode !== undefined) {
          this.#chmodAt(parent.fd, name, options.mode, path);
        }
      } else if (made !== -Errno.EEXIST) {
        throw new Oci2LxcError(
          "rootfs",
          `Cannot create ${path} in the rootfs: mkdir failed (errno ${-made})`,
        );
      } else if (this.kind(`${dir}/${parts[i]}`) !== "directory") {
        throw new Oci2LxcError(
          "rootfs",
          `Cannot create ${path} in the rootfs: ${dir}/${parts[i]} exists and is not a directory`,
        );
      }
      dir = dir ? `${dir}/${parts[i]}` : parts[i]!;
    }
    this.#root.invalidate();
  }

  /**
   * Write a file, replacing what is there. A symlink at the path is replaced by the file, never written through.
   */
  writeFile(
    path: string,
    data: Uint8Array | string,
    options: CreateOptions = {},
  ): void {
    const parts = components(path);
    if (parts.length === 0) {
      throw new Oci2LxcError(
        "rootfs",
        `Cannot write ${path} in the rootfs: it names the root`,
      );
    }
    const parentPath = parts.slice(0, -1).join("/");
    if (parentPath) this.mkdir(parentPath);
    const parent = this.#root.resolveDir(encoder.encode(parentPath), false);
    if (!parent) {
      throw new Oci2LxcError(
        "rootfs",
        `Cannot write ${path} in the rootfs: its directory is missing`,
      );
    }
    const name = encoder.encode(parts[parts.length - 1]!);
    const mode = statx(parent.fd, name, AT_SYMLINK_NOFOLLOW);
    if (typeof mode !== "number" && (mode.mode & S_IFMT) !== S_IFREG) {
      if ((mode.mode & S_IFMT) === S_IFDIR) {
        throw new Oci2LxcError(
          "rootfs",
          `Cannot write ${path} in the rootfs: it is a directory`,
        );
      }
      unlinkat(parent.fd, name, 0);
      this.#root.invalidate(); // it may have been a symlink that cached directories went through
    }
    const dirFd = openat(parent.fd, EMPTY, O_RDONLY | O_DIRECTORY);
    const usable = dirFd >= 0 ? dirFd : parent.fd;
    try {
      const fd = openat(
        usable,
        name,
        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
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
        this.#chownFd(fd, options, path);
        chmodFd(fd, options.mode ?? 0o644);
      } finally {
        close(fd);
      }
    } finally {
      if (dirFd >= 0) close(dirFd);
    }
  }

  /** Create (or replace a non-directory with) a symlink at `path` holding `target` verbatim. */
  symlink(target: string, path: string): void {
    const parts = components(path);
    if (parts.length === 0) throw new Oci2LxcError("rootfs", `Cannot create a symlink at ${path}: it names the root`);
    const parent = this.#root.resolveDir(encoder.encode(parts.slice(0, -1).join("/")), true);
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
    const [uid, gid] = this.#ids({}, path);
    if (this.#idmap) fchownat(parent.fd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
  }

  /** Release the root's file descriptors. */
  close(): void {
    this.#root.close();
  }

  /** Find the directory fd and final name of `path`, following symlinks (bounded) inside the root. */
  /** Canonical directory path of each fd #locate returned, for realPath. */
  #canonOf = new Map<number, string>();

  #locate(path: string): { dirFd: number; name: Uint8Array } | undefined {
    let parts = components(path);
    for (let hops = 0; hops <= MAX_LINKS; hops++) {
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
      const base = new TextDecoder().decode(keyToPath(parent.canon));
      parts = components(text.startsWith("/") ? text : `${base}/${text}`);
    }
    return undefined; // a loop: treat as missing, like ELOOP
  }

  #open(path: string, flags: number): number | undefined {
    const found = this.#locate(path);
    if (!found) return undefined;
    const fd = openat(found.dirFd, found.name, flags | O_NOFOLLOW);
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
      );
    }
    return [hostUid, hostGid];
  }

  #chown(
    dirFd: number,
    name: Uint8Array,
    options: CreateOptions,
    path: string,
  ): void {
    const [uid, gid] = this.#ids(options, path);
    if (uid === 0 && gid === 0 && !this.#idmap) return;
    fchownat(dirFd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
  }

  #chownFd(fd: number, options: CreateOptions, path: string): void {
    const [uid, gid] = this.#ids(options, path);
    if (uid === 0 && gid === 0 && !this.#idmap) return;
    fchownat(fd, EMPTY, uid, gid, 0x1000 /* AT_EMPTY_PATH */);
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

/** Lexical components of a container path, `..` clamped at the root (the kernel does the same in-root). */
function components(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out;
}

function keyToPath(canon: string): Uint8Array {
  return keyBytes(canon); // canonical keys hold one byte per character
}
