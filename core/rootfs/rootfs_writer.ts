/**
 * Apply layer tar entries to a directory the way `umoci unpack --keep-dirlinks` does, with every path confined to
 * that directory ({@linkcode ConfinedRoot}).
 *
 * Semantics, per layer, in one pass over the entries; this file dispatches each entry, and the pieces say the rest:
 * - Names are bytes and reach the disk byte for byte. A name is cleaned lexically first (`filepath.Clean("/" +
 *   name)`, as umoci and containerd do); absolute names and `..` components are reported as warnings.
 * - Whiteouts hide lower layers only (`whiteouts.ts`).
 * - A non-directory replaces anything (`remove_existing.ts`); a directory replaces a non-directory and merges into a
 *   directory. An existing symlink that resolves (inside the root) to a directory is kept when a layer brings a
 *   directory there (keep-dirlinks: `/lib -> usr/lib` survives), and entries below go through it. Missing parents
 *   are created (0755, root after the idmap); a non-directory where a parent must be is replaced by a directory; a
 *   dangling symlink in a parent position is followed and its target made, as umoci does.
 * - Metadata: owner (idmap applied), then mode (chown clears setuid and file capabilities), then xattrs (see
 *   `xattr_policy.ts`), then atime/mtime in nanoseconds (atime defaults to mtime), all in `entry_metadata.ts`.
 *   Symlinks get owner, xattrs and times, no mode; hardlinks get nothing (they share the inode; `link_writer.ts`).
 *   Directory metadata waits for {@linkcode RootfsWriter.endLayer} (`dir_metadata.ts`).
 * - Devices and FIFOs are made with mknod (`node_writer.ts`).
 *
 * @module
 */

import { basename, dirname } from "node:path";
import { describeError, Oci2LxcError } from "../errors.ts";
import { displayName, type TarEntry, type TarHandler } from "../tar/tar_entry.ts";
import {
  AT_FDCWD,
  check,
  chmodFd,
  close,
  Errno,
  fchmod,
  fsetxattr,
  fstat,
  futimens,
  LibcError,
  lstatMode,
  mkdirat,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_WRONLY,
  openat,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  writeAll,
} from "../native/libc.ts";
import { ConfinedRoot, type DirHandle } from "./confined_root.ts";
import { type DirMeta, DirMetadata } from "./dir_metadata.ts";
import {
  bytesKey,
  bytesStartAscii,
  checkPathLimits,
  cleanPath,
  joinKey,
  MAX_PATH_BYTES,
  PathLimitError,
  shortName,
} from "./entry_path.ts";
import { EntryMetadata, entryTimes, NO_XATTRS } from "./entry_metadata.ts";
import { type IdMap, mapId } from "./id_map.ts";
import { linkMeta, writeHardlink, writeSymlink } from "./link_writer.ts";
import { writeNode } from "./node_writer.ts";
import { removeExisting, type WriteContext } from "./remove_existing.ts";
import type { RootfsWarning } from "./rootfs_warning.ts";
import { Whiteouts } from "./whiteouts.ts";

export type { RootfsWarning, RootfsWarningCode } from "./rootfs_warning.ts";

/**
 * errnos that blame the filesystem written to, not the layer: the failure is then a "destination" error (exit 9), so
 * a script can tell a full disk from an image it must not retry (a "rootfs" error, exit 6).
 */
const DESTINATION_ERRNOS: ReadonlySet<string> = new Set(["ENOSPC", "EDQUOT", "EROFS", "EFBIG"]);

/** Options for {@linkcode RootfsWriter}. */
export interface RootfsWriterOptions {
  /** Shift owners (and ids inside ACLs and v3 capabilities) from container to host ids. */
  idmap?: IdMap;
  /** Receives every warning; by default warnings are dropped. */
  onWarning?: (warning: RootfsWarning) => void;
  /**
   * Not root: skip chown and devices, with warnings, instead of failing; directories stay owner-accessible until
   * {@linkcode RootfsWriter.finish}.
   */
  approximate?: boolean;
  /** Resolve paths with the userspace walk even where openat2 works (tests use this). */
  userspaceResolver?: boolean;
}

/** Counts of what the writer did, over all layers. */
export interface RootfsWriterStats {
  entries: number;
  files: number;
  bytes: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  devices: number;
  whiteouts: number;
}

interface OpenFile {
  fd: number;
  entry: TarEntry;
  uid: number;
  gid: number;
  xattrs: [string, Uint8Array][];
}

/**
 * Writes layers into a root directory; a {@linkcode TarHandler} for the tar reader. Call {@linkcode beginLayer},
 * feed the layer's entries, call {@linkcode endLayer}; repeat per layer; then {@linkcode finish} and
 * {@linkcode close} (close also after a failure).
 *
 * @example Writing one layer
 * ```ts
 * import assert from "node:assert/strict";
 * import { RootfsWriter } from "./rootfs_writer.ts";
 * const dir = Deno.makeTempDirSync();
 * // As a normal user owners cannot be set: approximate mode writes every file as the current user.
 * const writer = new RootfsWriter(dir, { approximate: Deno.uid() !== 0 });
 * const name = new TextEncoder().encode("hello");
 * writer.beginLayer("layer 1");
 * writer.entry({
 *   path: name, linkPath: new Uint8Array(0), type: "file", mode: 0o644, uid: 0, gid: 0,
 *   size: 2, mtime: 0, atime: undefined, devMajor: 0, devMinor: 0, uname: "", gname: "",
 *   xattrs: new Map(), offset: 0,
 * });
 * writer.data(new TextEncoder().encode("hi"));
 * writer.entryEnd();
 * writer.endLayer();
 * writer.close();
 * assert.equal(Deno.readTextFileSync(`${dir}/hello`), "hi");
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class RootfsWriter implements TarHandler {
  readonly #root: ConfinedRoot;
  readonly #meta: EntryMetadata;
  readonly #dirs: DirMetadata;
  readonly #ctx: WriteContext;
  readonly #whiteouts: Whiteouts;
  readonly #rootUid: number;
  readonly #rootGid: number;
  /** Where the rootfs is written, named when that filesystem is full or read-only. */
  readonly #place: string;
  #file: OpenFile | undefined;
  #closed = false;
  readonly #stats: RootfsWriterStats = {
    entries: 0,
    files: 0,
    bytes: 0,
    directories: 0,
    symlinks: 0,
    hardlinks: 0,
    devices: 0,
    whiteouts: 0,
  };

  /**
   * Open (creating it if missing) the root directory and give it mode 0755 and the container root's owner.
   *
   * @throws {Oci2LxcError} code "rootfs" when the directory cannot be opened or the idmap has no root
   */
  constructor(rootDir: string, options: RootfsWriterOptions = {}) {
    const meta = new EntryMetadata({
      idmap: options.idmap,
      approximate: options.approximate ?? false,
      onWarning: options.onWarning ?? (() => {}),
    });
    this.#meta = meta;
    this.#dirs = new DirMetadata(meta);
    const uid = meta.idmap ? mapId(meta.idmap.uid, 0) : 0;
    const gid = meta.idmap ? mapId(meta.idmap.gid, 0) : 0;
    if (uid === undefined || gid === undefined) {
      throw new Oci2LxcError("rootfs", "Cannot write the rootfs: the idmap does not map container root (uid/gid 0)", {
        hint: "Use an --idmap that starts at container id 0",
      });
    }
    this.#rootUid = uid;
    this.#rootGid = gid;
    // A conversion writes `…/.NAME.oci2lxc-staging-…/rootfs`, removed on failure: name the directory that holds it.
    this.#place = basename(rootDir) === "rootfs" ? dirname(dirname(rootDir)) : rootDir;
    try {
      const made = mkdirat(AT_FDCWD, new TextEncoder().encode(rootDir), 0o755);
      if (made !== -Errno.EEXIST) check(made, "mkdirat");
      this.#root = new ConfinedRoot(rootDir, {
        userspace: options.userspaceResolver ?? false,
        beforeChange: (dir) => this.#dirs.touch(dir),
        createdDir: (fd) => this.#initImplicitDir(fd),
      });
    } catch (err) {
      throw new Oci2LxcError("rootfs", `Cannot open rootfs directory ${rootDir}: ${describeError(err)}`, {
        cause: err,
      });
    }
    this.#ctx = { root: this.#root, dirs: this.#dirs, meta };
    this.#whiteouts = new Whiteouts(this.#ctx);
    try {
      meta.chownFd(this.#root.fd, this.#rootUid, this.#rootGid);
      check(chmodFd(this.#root.fd, 0o755), "chmod");
    } catch (err) {
      this.#root.close();
      throw new Oci2LxcError("rootfs", `Cannot prepare rootfs directory ${rootDir}: ${describeError(err)}`, {
        cause: err,
        hint: "Run as root, or pass --allow-approximate to keep going with your own uid and no devices",
      });
    }
  }

  /** True when paths are resolved by the kernel (openat2), false for the userspace walk. */
  get usesOpenat2(): boolean {
    return this.#root.usesOpenat2;
  }

  /** What has been written so far. */
  get stats(): Readonly<RootfsWriterStats> {
    return this.#stats;
  }

  /** Start a layer; `name` appears in errors and warnings (e.g. `2/5 sha256:ab12…`). */
  beginLayer(name: string): void {
    if (this.#closed) throw new Error("RootfsWriter is closed");
    if (this.#meta.layer !== undefined) throw new Error(`Cannot begin ${name}: ${this.#meta.layer} is not ended`);
    this.#meta.layer = name;
    this.#whiteouts.clear();
    this.#dirs.clear();
  }

  /** A member of the current layer. */
  entry(entry: TarEntry): void {
    if (this.#file !== undefined) this.#finishFile();
    if (this.#meta.layer === undefined) throw new Error("RootfsWriter.entry called outside beginLayer/endLayer");
    this.#root.release();
    this.#stats.entries++;
    try {
      this.#apply(entry);
    } catch (err) {
      throw this.#wrap(entry, err);
    }
  }

  /** Content of the current regular file. Chunks are written before returning. */
  data(chunk: Uint8Array): void {
    const file = this.#file;
    if (file === undefined) return; // whiteout files, skipped entries
    const r = writeAll(file.fd, chunk);
    if (r < 0) throw this.#wrap(file.entry, new LibcError("write", -r));
    this.#stats.bytes += chunk.length;
  }

  /** The current member is complete. */
  entryEnd(): void {
    if (this.#file !== undefined) this.#finishFile();
  }

  /** Settle directory metadata of the layer, deepest first, and forget the layer's bookkeeping. */
  endLayer(): void {
    if (this.#meta.layer === undefined) throw new Error("RootfsWriter.endLayer called without beginLayer");
    if (this.#file !== undefined) this.#finishFile();
    this.#dirs.settle(this.#root);
    this.#whiteouts.clear();
    this.#root.invalidate();
    this.#root.release();
    this.#meta.layer = undefined;
  }

  /**
   * Apply what had to wait for the last layer: in approximate mode, the exact modes of directories that deny their
   * owner (0500, 0000…), which stay owner-accessible while layers are applied. Call after the last
   * {@linkcode endLayer}; does nothing when running as root.
   */
  finish(): void {
    if (this.#meta.layer !== undefined) throw new Error(`Cannot finish the rootfs: ${this.#meta.layer} is not ended`);
    this.#dirs.finish(this.#root);
  }

  /** Close every fd. Safe to call after a failure and more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#file !== undefined) {
      close(this.#file.fd);
      this.#file = undefined;
    }
    this.#root.close();
  }

  #apply(entry: TarEntry): void {
    // The kernel would stop reading a name at a NUL byte and act on a shorter one.
    if (entry.path.includes(0)) throw new Error("the name contains a NUL byte");
    if (entry.linkPath.includes(0)) throw new Error("the link target contains a NUL byte");
    if (entry.type === "symlink" && entry.linkPath.length > MAX_PATH_BYTES) {
      throw new PathLimitError(
        `the symlink target is ${entry.linkPath.length} bytes long; Linux allows at most ${MAX_PATH_BYTES} (PATH_MAX)`,
      );
    }
    const clean = cleanPath(entry.path);
    checkPathLimits(clean.path, "the path");
    if (clean.hadDotDot || clean.absolute) {
      this.#meta.warn(
        "unsafe-path",
        entry,
        `${clean.hadDotDot ? "'..' in name" : "absolute name"}; resolved inside the rootfs`,
      );
    }
    if (clean.path.length === 0) return this.#rootEntry(entry);
    const name = clean.path.subarray(clean.nameStart);
    const parentPath = clean.path.subarray(0, Math.max(0, clean.nameStart - 1));
    if (bytesStartAscii(name, ".wh.")) {
      this.#stats.whiteouts++;
      return this.#whiteouts.apply(entry, parentPath, name);
    }
    const parent = this.#root.resolveDir(parentPath, true)!;
    this.#dirs.touch(parent);
    const canon = joinKey(parent.canon, bytesKey(name));
    switch (entry.type) {
      case "file":
        this.#writeFile(entry, parent, name);
        break;
      case "directory":
        this.#writeDir(entry, parent, name, canon, clean.path);
        break;
      case "symlink":
        writeSymlink(this.#ctx, entry, parent, name);
        this.#stats.symlinks++;
        break;
      case "hardlink":
        if (writeHardlink(this.#ctx, entry, parent, name, canon)) this.#stats.hardlinks++;
        break;
      case "char":
      case "block":
      case "fifo":
        if (writeNode(this.#ctx, entry, parent, name)) this.#stats.devices++;
        break;
      default:
        throw new Error(`unknown entry type ${String((entry as { type: unknown }).type)}`);
    }
    this.#whiteouts.wrote(parent.canon, canon);
  }

  #rootEntry(entry: TarEntry): void {
    if (entry.type !== "directory") {
      this.#meta.warn("root-entry", entry, `a ${entry.type} entry for the root directory was skipped`);
      return;
    }
    const h = this.#root.rootHandle;
    this.#dirs.record("", h.ino, h.dev, this.#dirMeta(entry, true));
  }

  /** What a directory entry says, owner shifted and xattrs checked before anything is made. */
  #dirMeta(entry: TarEntry, merged: boolean): DirMeta {
    const [uid, gid] = this.#meta.owner(entry);
    const xattrs = this.#meta.xattrs(entry);
    const [atime, mtime] = entryTimes(entry);
    return { uid, gid, mode: entry.mode & 0o7777, xattrs, atime, mtime, merged, entry };
  }

  #writeFile(entry: TarEntry, parent: DirHandle, name: Uint8Array): void {
    const [uid, gid] = this.#meta.owner(entry);
    const xattrs = this.#meta.xattrs(entry);
    const flags = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW;
    let fd = openat(parent.fd, name, flags, 0o600);
    if (fd === -Errno.EEXIST) {
      removeExisting(this.#ctx, parent, name);
      fd = openat(parent.fd, name, flags, 0o600);
    }
    check(fd, "openat");
    this.#file = { fd, entry, uid, gid, xattrs };
    this.#stats.files++;
  }

  #finishFile(): void {
    const file = this.#file!;
    this.#file = undefined;
    const meta = this.#meta;
    try {
      meta.chownFd(file.fd, file.uid, file.gid, true);
      check(fchmod(file.fd, file.entry.mode & 0o7777), "fchmod");
      for (const [name, value] of file.xattrs) {
        meta.xattrResult(fsetxattr(file.fd, name, value), name, file.entry, true);
      }
      const [atime, mtime] = entryTimes(file.entry);
      check(futimens(file.fd, atime, mtime), "futimens");
    } catch (err) {
      throw this.#wrap(file.entry, err);
    } finally {
      close(file.fd);
    }
  }

  #writeDir(entry: TarEntry, parent: DirHandle, name: Uint8Array, canon: string, path: Uint8Array): void {
    const meta = this.#dirMeta(entry, false);
    let made = mkdirat(parent.fd, name, 0o700);
    if (made === -Errno.EEXIST) {
      const mode = check(lstatMode(parent.fd, name), "statx");
      const type = mode & S_IFMT;
      if (type === S_IFDIR) {
        meta.merged = true;
      } else if (type === S_IFLNK && this.#root.resolveDir(path, false) !== null) {
        // keep-dirlinks: the link stays and later entries go through it. Like umoci, the entry's owner and times
        // land on the link itself.
        linkMeta(this.#ctx, entry, parent, name, meta.uid, meta.gid, NO_XATTRS);
        return;
      } else {
        removeExisting(this.#ctx, parent, name, mode);
        made = mkdirat(parent.fd, name, 0o700);
      }
    }
    if (!meta.merged) {
      check(made, "mkdirat");
      this.#whiteouts.created(canon);
    }
    const fd = check(openat(parent.fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW), "openat");
    const st = fstat(fd);
    close(fd);
    if (typeof st === "number") throw new LibcError("statx", -st);
    this.#dirs.record(canon, st.ino, st.dev, meta);
    this.#stats.directories++;
  }

  /** Owner and mode of a directory the walk created for a missing parent. */
  #initImplicitDir(fd: number): void {
    this.#meta.chownFd(fd, this.#rootUid, this.#rootGid);
    check(chmodFd(fd, 0o755), "chmod"); // mkdir obeyed the umask
  }

  #wrap(entry: TarEntry, err: unknown): Oci2LxcError {
    if (err instanceof Oci2LxcError) return err;
    if (err instanceof PathLimitError) {
      return new Oci2LxcError(
        "rootfs",
        `Cannot apply ${shortName(entry.path)} from ${this.#meta.layer}: ${err.reason}`,
        {
          cause: err,
          hint: "No program in the container could use this path; rebuild the image with shorter paths " +
            "(or without this entry)",
        },
      );
    }
    const errno = (err as { code?: unknown }).code;
    if (typeof errno === "string" && DESTINATION_ERRNOS.has(errno)) {
      return new Oci2LxcError(
        "destination",
        `Cannot apply ${displayName(entry.path)} from ${this.#meta.layer}: ${describeError(err)}`,
        {
          cause: err,
          hint: errno === "EROFS"
            ? `The filesystem that holds ${this.#place} is read-only; remount it writable, or convert into another DEST`
            : `Free space on the filesystem that holds ${this.#place}, or convert into a DEST on another one`,
        },
      );
    }
    return new Oci2LxcError(
      "rootfs",
      `Cannot apply ${displayName(entry.path)} from ${this.#meta.layer}: ${describeError(err)}`,
      { cause: err },
    );
  }
}
