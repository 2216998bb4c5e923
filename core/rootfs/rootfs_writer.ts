/**
 * Apply layer tar entries to a directory the way `umoci unpack
 * --keep-dirlinks` does, with every path confined to that directory.
 *
 * Semantics, per layer, in one pass over the entries:
 * - Names are bytes and reach the disk byte for byte. A name is cleaned
 *   lexically first (`filepath.Clean("/" + name)`, as umoci and containerd
 *   do); absolute names and `..` components are reported as warnings.
 * - Whiteouts hide lower layers only. `.wh.NAME` removes NAME (a symlink as a
 *   link, a directory with its contents, nothing if absent);
 *   `.wh..wh..opq` removes what lower layers put in its directory. Both are
 *   order-aware like umoci: what this layer already wrote (and its parents)
 *   stays. `.wh.` alone is an error; `.wh..` removes the directory it is in
 *   (the Proxmox fixtures' reading), except at the root where it is ignored;
 *   `.wh...` is ignored. Whiteouts are never written.
 * - A non-directory replaces anything; a directory replaces a non-directory
 *   and merges into a directory. An existing symlink that resolves (inside the
 *   root) to a directory is kept when a layer brings a directory there
 *   (keep-dirlinks: `/lib -> usr/lib` survives), and entries below go
 *   through it. Missing parents are created (0755, root after the idmap); a
 *   non-directory where a parent must be is replaced by a directory; a
 *   dangling symlink in a parent position is followed and its target made,
 *   as umoci does.
 * - Metadata: owner (idmap applied), then mode (chown clears setuid and file
 *   capabilities), then xattrs (see `xattr_policy.ts`), then atime/mtime in
 *   nanoseconds (atime defaults to mtime). Symlinks get owner, xattrs and
 *   times, no mode; hardlinks get nothing (they share the inode). Directory
 *   metadata waits for {@linkcode RootfsWriter.endLayer}, deepest first, so a
 *   0500 or 0000 directory cannot block its children and its mtime is the
 *   layer's. Directories whose contents changed without an entry of their own
 *   keep their previous times (umoci restores parents the same way).
 * - Devices and FIFOs are made with mknod. When a device cannot be made
 *   (EPERM in a user namespace, or approximate mode) it is skipped with a
 *   warning and never turned into a regular file.
 *
 * @module
 */

import { describeError, Oci2LxcError } from "../errors.ts";
import { displayName, type TarEntry, type TarHandler } from "../tar/tar_entry.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  check,
  chmodFd,
  close,
  Errno,
  fchmod,
  fchown,
  fchownat,
  fsetxattr,
  fstat,
  futimens,
  LibcError,
  linkat,
  listxattrFd,
  lstatMode,
  makedev,
  mkdirat,
  mknodat,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  openat,
  readDir,
  removexattrFd,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  setxattrFd,
  symlinkat,
  type Timespec,
  unlinkat,
  utimensat,
  writeAll,
} from "../native/libc.ts";
import { ConfinedRoot, type DirHandle } from "./confined_root.ts";
import {
  bytesEqualAscii,
  bytesKey,
  bytesStartAscii,
  checkPathLimits,
  cleanPath,
  joinKey,
  keyBytes,
  MAX_PATH_BYTES,
  PathLimitError,
  shortName,
} from "./entry_path.ts";
import { describeRanges, type IdMap, mapId } from "./id_map.ts";
import { removeTree } from "./remove_tree.ts";
import { shiftXattr, xattrIsHostOwned, xattrSkipReason } from "./xattr_policy.ts";

/** What a {@linkcode RootfsWarning} is about. */
export type RootfsWarningCode =
  /** An absolute name or a `..` component, resolved inside the root instead. */
  | "unsafe-path"
  /** An entry for the root itself that is not a directory; skipped. */
  | "root-entry"
  /** `.wh..` at the root or `.wh...`; ignored. */
  | "whiteout-ignored"
  /** A character or block device that could not be made; skipped. */
  | "device-skipped"
  /** Owners were not applied (approximate mode); reported once. */
  | "ownership-skipped"
  /** An xattr that was not written (policy, or refused by the kernel or filesystem). */
  | "xattr-skipped";

/** Something the writer did differently from what the layer said, and why. */
export interface RootfsWarning {
  readonly code: RootfsWarningCode;
  /** The layer name given to {@linkcode RootfsWriter.beginLayer}. */
  readonly layer: string;
  /** The entry, for display. */
  readonly path: string;
  /** One sentence for the user. */
  readonly message: string;
}

/** Options for {@linkcode RootfsWriter}. */
export interface RootfsWriterOptions {
  /** Shift owners (and ids inside ACLs and v3 capabilities) from container to host ids. */
  idmap?: IdMap;
  /** Receives every warning; by default warnings are dropped. */
  onWarning?: (warning: RootfsWarning) => void;
  /**
   * Not root: skip chown and devices, with warnings, instead of failing;
   * directories stay owner-accessible until {@linkcode RootfsWriter.finish}.
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

interface DirMeta {
  uid: number;
  gid: number;
  mode: number;
  xattrs: [string, Uint8Array][];
  atime: Timespec;
  mtime: Timespec;
  /** The directory existed before this entry, so stale xattrs must go. */
  merged: boolean;
  entry: TarEntry;
}

/** A directory whose metadata is settled at the end of the layer. */
interface DirRecord {
  canon: string;
  ino: number;
  dev: number;
  /** Times before this layer changed the directory; restored when `meta` is absent. */
  saved: { atime: Timespec; mtime: Timespec } | undefined;
  /** What this layer's entry for the directory says. */
  meta: DirMeta | undefined;
}

interface OpenFile {
  fd: number;
  entry: TarEntry;
  uid: number;
  gid: number;
  xattrs: [string, Uint8Array][];
}

const EMPTY = new Uint8Array(0);
const DOT = new Uint8Array([0x2e]);
const NO_XATTRS: [string, Uint8Array][] = [];
const MAX_ID = 0xfffffffe; // (uid_t)-1 means "leave unchanged" to chown

/**
 * Writes layers into a root directory; a {@linkcode TarHandler} for the tar
 * reader. Call {@linkcode beginLayer}, feed the layer's entries, call
 * {@linkcode endLayer}; repeat per layer; then {@linkcode finish} and
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
  readonly #idmap: IdMap | undefined;
  readonly #approximate: boolean;
  readonly #onWarning: (w: RootfsWarning) => void;
  readonly #rootUid: number;
  readonly #rootGid: number;
  #layer: string | undefined;
  #file: OpenFile | undefined;
  /** Canonical paths this layer wrote, and their parents: whiteouts leave them alone. */
  #upper = new Set<string>();
  /**
   * Directories this layer made (not merged into a lower one): all they hold
   * is this layer's, so their entries need no place in {@linkcode #upper}
   * (memory flat: a base layer creates every directory).
   */
  #created = new Set<string>();
  #dirs = new Map<string, DirRecord>();
  #lastTouched: DirHandle | undefined;
  /** Approximate mode: directory modes that deny their owner, applied by finish(). */
  #finalModes = new Map<string, { mode: number; ino: number; dev: number }>();
  #ownershipWarned = false;
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
   * Open (creating it if missing) the root directory and give it mode 0755
   * and the container root's owner.
   *
   * @throws {Oci2LxcError} code "rootfs" when the directory cannot be opened or the idmap has no root
   */
  constructor(rootDir: string, options: RootfsWriterOptions = {}) {
    this.#idmap = options.idmap;
    this.#approximate = options.approximate ?? false;
    this.#onWarning = options.onWarning ?? (() => {});
    const uid = this.#idmap ? mapId(this.#idmap.uid, 0) : 0;
    const gid = this.#idmap ? mapId(this.#idmap.gid, 0) : 0;
    if (uid === undefined || gid === undefined) {
      throw new Oci2LxcError(
        "rootfs",
        "Cannot write the rootfs: the idmap does not map container root (uid/gid 0)",
        {
          hint: "Use an --idmap that starts at container id 0",
        },
      );
    }
    this.#rootUid = uid;
    this.#rootGid = gid;
    try {
      const made = mkdirat(AT_FDCWD, new TextEncoder().encode(rootDir), 0o755);
      if (made !== -Errno.EEXIST) check(made, "mkdirat");
      this.#root = new ConfinedRoot(rootDir, {
        userspace: options.userspaceResolver ?? false,
        beforeChange: (dir) => this.#touch(dir),
        createdDir: (fd) => this.#initImplicitDir(fd),
      });
    } catch (err) {
      throw new Oci2LxcError(
        "rootfs",
        `Cannot open rootfs directory ${rootDir}: ${describeError(err)}`,
        {
          cause: err,
        },
      );
    }
    try {
      this.#chownFd(this.#root.fd, this.#rootUid, this.#rootGid);
      check(chmodFd(this.#root.fd, 0o755), "chmod");
    } catch (err) {
      this.#root.close();
      throw new Oci2LxcError(
        "rootfs",
        `Cannot prepare rootfs directory ${rootDir}: ${describeError(err)}`,
        {
          cause: err,
          hint: "Run as root, or pass --allow-approximate to keep going with your own uid and no devices",
        },
      );
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
    if (this.#layer !== undefined) {
      throw new Error(
        `Cannot begin ${name}: ${this.#layer} is not ended`,
      );
    }
    this.#layer = name;
    this.#upper.clear();
    this.#created.clear();
    this.#dirs.clear();
    this.#lastTouched = undefined;
  }

  /** A member of the current layer. */
  entry(entry: TarEntry): void {
    if (this.#file !== undefined) this.#finishFile();
    if (this.#layer === undefined) {
      throw new Error("RootfsWriter.entry called outside beginLayer/endLayer");
    }
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
    if (this.#layer === undefined) {
      throw new Error("RootfsWriter.endLayer called without beginLayer");
    }
    if (this.#file !== undefined) this.#finishFile();
    // Descendants before ancestors, each directory opened once: deep trees cost linear work.
    this.#root.visitCanonical(this.#dirs.keys(), (canon, fd) => {
      const rec = this.#dirs.get(canon)!;
      try {
        this.#settleDir(rec, fd);
      } catch (err) {
        if (err instanceof Oci2LxcError) throw err;
        const path = rec.meta ? displayName(rec.meta.entry.path) : displayName(keyBytes(rec.canon)) || "/";
        throw new Oci2LxcError(
          "rootfs",
          `Cannot apply metadata of directory ${path} from ${this.#layer}: ${describeError(err)}`,
          { cause: err },
        );
      }
    });
    this.#dirs.clear();
    this.#upper.clear();
    this.#created.clear();
    this.#lastTouched = undefined;
    this.#root.invalidate();
    this.#root.release();
    this.#layer = undefined;
  }

  /**
   * Apply what had to wait for the last layer: in approximate mode, the exact
   * modes of directories that deny their owner (0500, 0000…), which stay
   * owner-accessible while layers are applied. Call after the last
   * {@linkcode endLayer}; does nothing when running as root.
   */
  finish(): void {
    if (this.#layer !== undefined) {
      throw new Error(
        `Cannot finish the rootfs: ${this.#layer} is not ended`,
      );
    }
    const pending = new Map(this.#finalModes);
    this.#finalModes.clear();
    this.#root.visitCanonical(pending.keys(), (canon, fd) => {
      const want = pending.get(canon)!;
      if (fd < 0) return; // removed by a later layer
      try {
        const st = fstat(fd);
        if (
          typeof st !== "number" && st.ino === want.ino && st.dev === want.dev
        ) {
          check(chmodFd(fd, want.mode), "chmod");
        }
      } catch (err) {
        const path = displayName(keyBytes(canon)) || "/";
        throw new Oci2LxcError(
          "rootfs",
          `Cannot set the mode of directory ${path}: ${describeError(err)}`,
          {
            cause: err,
          },
        );
      } finally {
        close(fd);
      }
    });
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

  // --- entries ----------------------------------------------------------------

  #apply(entry: TarEntry): void {
    // The kernel would stop reading a name at a NUL byte and act on a shorter one.
    if (entry.path.includes(0)) throw new Error("the name contains a NUL byte");
    if (entry.linkPath.includes(0)) {
      throw new Error("the link target contains a NUL byte");
    }
    if (entry.type === "symlink" && entry.linkPath.length > MAX_PATH_BYTES) {
      throw new PathLimitError(
        `the symlink target is ${entry.linkPath.length} bytes long; Linux allows at most ${MAX_PATH_BYTES} (PATH_MAX)`,
      );
    }
    const clean = cleanPath(entry.path);
    checkPathLimits(clean.path, "the path");
    if (clean.hadDotDot || clean.absolute) {
      this.#warn(
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
      return this.#whiteout(entry, parentPath, name);
    }
    const parent = this.#root.resolveDir(parentPath, true)!;
    this.#touch(parent);
    const canon = joinKey(parent.canon, bytesKey(name));
    switch (entry.type) {
      case "file":
        this.#writeFile(entry, parent, name);
        break;
      case "directory":
        this.#writeDir(entry, parent, name, canon, clean.path);
        break;
      case "symlink":
        this.#writeSymlink(entry, parent, name);
        break;
      case "hardlink":
        this.#writeHardlink(entry, parent, name, canon);
        break;
      case "char":
      case "block":
      case "fifo":
        this.#writeNode(entry, parent, name);
        break;
      default:
        throw new Error(
          `unknown entry type ${String((entry as { type: unknown }).type)}`,
        );
    }
    if (!this.#created.has(parent.canon)) this.#addUpper(canon);
  }

  #rootEntry(entry: TarEntry): void {
    if (entry.type !== "directory") {
      this.#warn(
        "root-entry",
        entry,
        `a ${entry.type} entry for the root directory was skipped`,
      );
      return;
    }
    const [uid, gid] = this.#owner(entry);
    const h = this.#root.rootHandle;
    this.#recordDir("", h.ino, h.dev, {
      uid,
      gid,
      mode: entry.mode & 0o7777,
      xattrs: this.#xattrs(entry),
      atime: toTimespec(entry.atime ?? entry.mtime),
      mtime: toTimespec(entry.mtime),
      merged: true,
      entry,
    });
  }

  #writeFile(entry: TarEntry, parent: DirHandle, name: Uint8Array): void {
    const [uid, gid] = this.#owner(entry);
    const xattrs = this.#xattrs(entry);
    const flags = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW;
    let fd = openat(parent.fd, name, flags, 0o600);
    if (fd === -Errno.EEXIST) {
      this.#removeExisting(parent, name);
      fd = openat(parent.fd, name, flags, 0o600);
    }
    check(fd, "openat");
    this.#file = { fd, entry, uid, gid, xattrs };
    this.#stats.files++;
  }

  #finishFile(): void {
    const file = this.#file!;
    this.#file = undefined;
    try {
      this.#chownFd(file.fd, file.uid, file.gid, true);
      check(fchmod(file.fd, file.entry.mode & 0o7777), "fchmod");
      for (const [name, value] of file.xattrs) {
        this.#xattrResult(
          fsetxattr(file.fd, name, value),
          name,
          file.entry,
          true,
        );
      }
      check(
        futimens(
          file.fd,
          toTimespec(file.entry.atime ?? file.entry.mtime),
          toTimespec(file.entry.mtime),
        ),
        "futimens",
      );
    } catch (err) {
      throw this.#wrap(file.entry, err);
    } finally {
      close(file.fd);
    }
  }

  #writeDir(
    entry: TarEntry,
    parent: DirHandle,
    name: Uint8Array,
    canon: string,
    path: Uint8Array,
  ): void {
    const [uid, gid] = this.#owner(entry);
    const xattrs = this.#xattrs(entry);
    let made = mkdirat(parent.fd, name, 0o700);
    let merged = false;
    if (made === -Errno.EEXIST) {
      const mode = check(lstatMode(parent.fd, name), "statx");
      const type = mode & S_IFMT;
      if (type === S_IFDIR) {
        merged = true;
      } else if (
        type === S_IFLNK && this.#root.resolveDir(path, false) !== null
      ) {
        // keep-dirlinks: the link stays and later entries go through it. Like
        // umoci, the entry's owner and times land on the link itself.
        this.#linkMeta(entry, parent, name, uid, gid, NO_XATTRS);
        return;
      } else {
        this.#removeExisting(parent, name, mode);
        made = mkdirat(parent.fd, name, 0o700);
      }
    }
    if (!merged) {
      check(made, "mkdirat");
      this.#created.add(canon);
    }
    const fd = check(
      openat(parent.fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW),
      "openat",
    );
    const st = fstat(fd);
    close(fd);
    if (typeof st === "number") throw new LibcError("statx", -st);
    this.#recordDir(canon, st.ino, st.dev, {
      uid,
      gid,
      mode: entry.mode & 0o7777,
      xattrs,
      atime: toTimespec(entry.atime ?? entry.mtime),
      mtime: toTimespec(entry.mtime),
      merged,
      entry,
    });
    this.#stats.directories++;
  }

  #writeSymlink(entry: TarEntry, parent: DirHandle, name: Uint8Array): void {
    if (entry.linkPath.length === 0) throw new Error("symlink target is empty");
    const [uid, gid] = this.#owner(entry);
    const xattrs = this.#xattrs(entry);
    let r = symlinkat(entry.linkPath, parent.fd, name);
    if (r === -Errno.EEXIST) {
      this.#removeExisting(parent, name);
      r = symlinkat(entry.linkPath, parent.fd, name);
    }
    check(r, "symlinkat");
    this.#linkMeta(entry, parent, name, uid, gid, xattrs);
    this.#stats.symlinks++;
  }

  /** Owner, xattrs and times of a symlink, never following it. */
  #linkMeta(
    entry: TarEntry,
    parent: DirHandle,
    name: Uint8Array,
    uid: number,
    gid: number,
    xattrs: [string, Uint8Array][],
  ): void {
    if (this.#mayChown()) {
      check(
        fchownat(parent.fd, name, uid, gid, AT_SYMLINK_NOFOLLOW),
        "fchownat",
      );
    }
    if (xattrs.length > 0) {
      const fd = check(openat(parent.fd, name, O_PATH | O_NOFOLLOW), "openat");
      try {
        for (const [key, value] of xattrs) {
          this.#xattrResult(setxattrFd(fd, key, value), key, entry, false);
        }
      } finally {
        close(fd);
      }
    }
    const at = toTimespec(entry.atime ?? entry.mtime);
    check(
      utimensat(
        parent.fd,
        name,
        at,
        toTimespec(entry.mtime),
        AT_SYMLINK_NOFOLLOW,
      ),
      "utimensat",
    );
  }

  #writeHardlink(
    entry: TarEntry,
    parent: DirHandle,
    name: Uint8Array,
    canon: string,
  ): void {
    const src = cleanPath(entry.linkPath);
    const shown = displayName(entry.linkPath);
    if (src.hadDotDot || src.absolute) {
      this.#warn(
        "unsafe-path",
        entry,
        `hardlink target ${shown} resolved inside the rootfs`,
      );
    }
    if (src.path.length === 0) {
      throw new Error("hardlink target is the root directory");
    }
    checkPathLimits(src.path, "the hardlink target");
    const srcName = src.path.subarray(src.nameStart);
    const srcParentPath = src.path.subarray(0, Math.max(0, src.nameStart - 1));
    let srcParent = this.#root.resolveDir(srcParentPath, false);
    if (srcParent === null) {
      throw new Error(`hardlink target ${shown} does not exist`);
    }
    if (joinKey(srcParent.canon, bytesKey(srcName)) === canon) return; // a link to itself changes nothing
    const existing = lstatMode(parent.fd, name);
    if (existing !== -Errno.ENOENT) {
      this.#removeExisting(parent, name, check(existing, "statx"));
      srcParent = this.#root.resolveDir(srcParentPath, false);
      if (srcParent === null) {
        throw new Error(`hardlink target ${shown} does not exist`);
      }
    }
    // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink, as umoci does.
    const r = linkat(srcParent.fd, srcName, parent.fd, name, 0);
    if (r === -Errno.ENOENT) {
      throw new Error(`hardlink target ${shown} does not exist`);
    }
    if (r === -Errno.EPERM) {
      const mode = lstatMode(srcParent.fd, srcName);
      if (mode >= 0 && (mode & S_IFMT) === S_IFDIR) {
        throw new Error(`hardlink target ${shown} is a directory`);
      }
    }
    check(r, "linkat");
    this.#stats.hardlinks++;
  }

  #writeNode(entry: TarEntry, parent: DirHandle, name: Uint8Array): void {
    const isDevice = entry.type !== "fifo";
    let dev = 0n;
    if (isDevice) {
      const { devMajor: major, devMinor: minor } = entry;
      const ok = Number.isInteger(major) && Number.isInteger(minor) &&
        major >= 0 && minor >= 0 &&
        major <= 0xfff && minor <= 0xfffff;
      if (!ok) {
        throw new Error(
          `device number ${major}:${minor} is out of range (major < 4096, minor < 1048576)`,
        );
      }
      dev = makedev(major, minor);
    }
    const [uid, gid] = this.#owner(entry);
    const xattrs = this.#xattrs(entry);
    const existing = lstatMode(parent.fd, name);
    if (existing !== -Errno.ENOENT) {
      this.#removeExisting(parent, name, check(existing, "statx"));
    }
    if (isDevice && this.#approximate) {
      this.#warn(
        "device-skipped",
        entry,
        `${entry.type} device ${entry.devMajor}:${entry.devMinor} not created (not root)`,
      );
      return;
    }
    const typeBits = entry.type === "char" ? S_IFCHR : entry.type === "block" ? S_IFBLK : S_IFIFO;
    const r = mknodat(parent.fd, name, typeBits, dev);
    if (r === -Errno.EPERM && isDevice) {
      this.#warn(
        "device-skipped",
        entry,
        `${entry.type} device ${entry.devMajor}:${entry.devMinor} not created (EPERM)`,
      );
      return;
    }
    check(r, "mknodat");
    const fd = check(openat(parent.fd, name, O_PATH | O_NOFOLLOW), "openat");
    try {
      this.#chownFd(fd, uid, gid);
      check(chmodFd(fd, entry.mode & 0o7777), "chmod");
      for (const [key, value] of xattrs) {
        this.#xattrResult(setxattrFd(fd, key, value), key, entry, false);
      }
      const at = toTimespec(entry.atime ?? entry.mtime);
      check(
        utimensat(fd, EMPTY, at, toTimespec(entry.mtime), AT_EMPTY_PATH),
        "utimensat",
      );
    } finally {
      close(fd);
    }
    this.#stats.devices++;
  }

  // --- whiteouts --------------------------------------------------------------

  #whiteout(entry: TarEntry, parentPath: Uint8Array, name: Uint8Array): void {
    if (bytesEqualAscii(name, ".wh..wh..opq")) {
      const dir = this.#root.resolveDir(parentPath, false);
      if (dir !== null) this.#opaque(dir);
      return;
    }
    const rest = name.subarray(4);
    if (rest.length === 0) throw new Error("whiteout '.wh.' names nothing");
    if (bytesEqualAscii(rest, "..")) {
      this.#warn("whiteout-ignored", entry, "whiteout of '..' ignored");
      return;
    }
    let dirPath = parentPath;
    let target = rest;
    if (bytesEqualAscii(rest, ".")) {
      // `X/.wh..` removes X itself (what the Proxmox fixtures expect).
      if (parentPath.length === 0) {
        this.#warn(
          "whiteout-ignored",
          entry,
          "whiteout of the root directory ignored",
        );
        return;
      }
      const slash = parentPath.lastIndexOf(0x2f);
      dirPath = parentPath.subarray(0, Math.max(0, slash));
      target = parentPath.subarray(slash + 1);
    }
    const dir = this.#root.resolveDir(dirPath, false);
    if (dir === null) return;
    this.#removeExceptUpper(dir, target, joinKey(dir.canon, bytesKey(target)));
  }

  /** Remove what lower layers put in `dir`, keeping what this layer wrote. */
  #opaque(dir: DirHandle): void {
    const fd = check(openat(dir.fd, DOT, O_RDONLY | O_DIRECTORY), "openat");
    try {
      this.#removeChildrenExceptUpper({
        fd,
        canon: dir.canon,
        ino: dir.ino,
        dev: dir.dev,
      });
    } finally {
      close(fd);
    }
  }

  #removeChildrenExceptUpper(dir: DirHandle): void {
    const entries = readDir(dir.fd);
    if (typeof entries === "number") check(entries, "getdents64");
    for (const e of entries as { name: Uint8Array }[]) {
      this.#removeExceptUpper(
        dir,
        e.name,
        joinKey(dir.canon, bytesKey(e.name)),
      );
    }
  }

  #removeExceptUpper(parent: DirHandle, name: Uint8Array, canon: string): void {
    const mode = lstatMode(parent.fd, name);
    if (mode === -Errno.ENOENT) return;
    check(mode, "statx");
    const type = mode & S_IFMT;
    if (!this.#upper.has(canon) && !this.#created.has(parent.canon)) {
      this.#removeExisting(parent, name, mode);
      return;
    }
    // This layer's own entry, or a directory it made: nothing below is a lower layer's.
    if (type !== S_IFDIR || this.#created.has(canon)) return;
    const fd = check(
      openat(parent.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW),
      "openat",
    );
    try {
      const st = fstat(fd);
      if (typeof st === "number") throw new LibcError("statx", -st);
      this.#removeChildrenExceptUpper({ fd, canon, ino: st.ino, dev: st.dev });
    } finally {
      close(fd);
    }
  }

  /** Remove `parent/name` whatever it is; `mode` if already known. */
  #removeExisting(parent: DirHandle, name: Uint8Array, mode?: number): void {
    const m = mode ?? lstatMode(parent.fd, name);
    if (m === -Errno.ENOENT) return;
    check(m, "statx");
    this.#touch(parent);
    const type = m & S_IFMT;
    if (type === S_IFDIR) {
      removeTree(parent.fd, name);
      this.#root.invalidate();
    } else {
      const r = unlinkat(parent.fd, name, 0);
      if (r !== -Errno.ENOENT) check(r, "unlinkat");
      if (type === S_IFLNK) this.#root.invalidate();
    }
  }

  // --- directory bookkeeping -------------------------------------------------

  /** Remember a directory's times before this layer changes what is in it. */
  #touch(dir: DirHandle): void {
    if (dir === this.#lastTouched) return;
    const rec = this.#dirs.get(dir.canon);
    if (rec === undefined || rec.ino !== dir.ino || rec.dev !== dir.dev) {
      const st = fstat(dir.fd);
      if (typeof st === "number") throw new LibcError("statx", -st);
      this.#dirs.set(dir.canon, {
        canon: dir.canon,
        ino: st.ino,
        dev: st.dev,
        saved: { atime: st.atime, mtime: st.mtime },
        meta: undefined,
      });
    }
    this.#lastTouched = dir;
  }

  #recordDir(canon: string, ino: number, dev: number, meta: DirMeta): void {
    const rec = this.#dirs.get(canon);
    if (rec !== undefined && rec.ino === ino && rec.dev === dev) {
      rec.meta = meta;
      return;
    }
    this.#dirs.set(canon, {
      canon,
      ino,
      dev,
      saved: undefined,
      meta,
    });
  }

  /** Settle one directory; `fd` is its O_PATH fd (closed here) or -errno from opening it. */
  #settleDir(rec: DirRecord, fd: number): void {
    if (fd === -Errno.ENOENT || fd === -Errno.ENOTDIR || fd === -Errno.ELOOP) {
      return; // removed later in the layer
    }
    check(fd, "openat");
    try {
      const st = fstat(fd);
      if (typeof st === "number") throw new LibcError("statx", -st);
      if (st.ino !== rec.ino || st.dev !== rec.dev) return; // replaced later in the layer
      const meta = rec.meta;
      if (meta === undefined) {
        if (rec.saved) {
          check(
            utimensat(
              fd,
              EMPTY,
              rec.saved.atime,
              rec.saved.mtime,
              AT_EMPTY_PATH,
            ),
            "utimensat",
          );
        }
        return;
      }
      this.#chownFd(fd, meta.uid, meta.gid);
      let mode = meta.mode;
      if (this.#approximate) {
        // Without CAP_DAC_OVERRIDE a directory that denies its owner would
        // block later layers; keep owner rwx until finish().
        if ((mode & 0o700) !== 0o700) {
          this.#finalModes.set(rec.canon, { mode, ino: rec.ino, dev: rec.dev });
          mode |= 0o700;
        } else {
          this.#finalModes.delete(rec.canon);
        }
      }
      check(chmodFd(fd, mode), "chmod");
      if (meta.merged) {
        const names = listxattrFd(fd);
        if (typeof names !== "number") {
          const keep = new Set(meta.xattrs.map(([n]) => n));
          for (const n of names) {
            if (!keep.has(n) && !xattrIsHostOwned(n)) {
              check(removexattrFd(fd, n), "removexattr", n);
            }
          }
        }
      }
      for (const [key, value] of meta.xattrs) {
        this.#xattrResult(setxattrFd(fd, key, value), key, meta.entry, true);
      }
      check(
        utimensat(fd, EMPTY, meta.atime, meta.mtime, AT_EMPTY_PATH),
        "utimensat",
      );
    } finally {
      close(fd);
    }
  }

  #addUpper(canon: string): void {
    let key = canon;
    while (key !== "" && !this.#upper.has(key)) {
      this.#upper.add(key);
      const i = key.lastIndexOf("/");
      key = i < 0 ? "" : key.slice(0, i);
    }
  }

  /** Owner and mode of a directory the walk created for a missing parent. */
  #initImplicitDir(fd: number): void {
    this.#chownFd(fd, this.#rootUid, this.#rootGid);
    check(chmodFd(fd, 0o755), "chmod"); // mkdir obeyed the umask
  }

  // --- metadata helpers ------------------------------------------------------

  #mayChown(): boolean {
    if (!this.#approximate) return true;
    if (!this.#ownershipWarned) {
      this.#ownershipWarned = true;
      this.#onWarning({
        code: "ownership-skipped",
        layer: this.#layer ?? "",
        path: "",
        message: "owners were not applied (approximate mode); every file belongs to the current user",
      });
    }
    return false;
  }

  /** chown an fd (O_PATH or not); `plain` says it is a regular open fd. */
  #chownFd(fd: number, uid: number, gid: number, plain = false): void {
    if (!this.#mayChown()) return;
    check(
      plain ? fchown(fd, uid, gid) : fchownat(fd, EMPTY, uid, gid, AT_EMPTY_PATH),
      "fchownat",
    );
  }

  #owner(entry: TarEntry): [number, number] {
    for (
      const [kind, id] of [["uid", entry.uid], ["gid", entry.gid]] as const
    ) {
      if (!Number.isInteger(id) || id < 0 || id > MAX_ID) {
        throw new Error(
          `${kind} ${id} is not a valid owner`,
        );
      }
    }
    const idmap = this.#idmap;
    if (idmap === undefined) return [entry.uid, entry.gid];
    const uid = mapId(idmap.uid, entry.uid);
    if (uid === undefined) {
      throw this.#unmapped(
        entry,
        `uid ${entry.uid}`,
        describeRanges(idmap.uid),
      );
    }
    const gid = mapId(idmap.gid, entry.gid);
    if (gid === undefined) {
      throw this.#unmapped(
        entry,
        `gid ${entry.gid}`,
        describeRanges(idmap.gid),
      );
    }
    return [uid, gid];
  }

  #unmapped(entry: TarEntry, what: string, ranges: string): Oci2LxcError {
    return new Oci2LxcError(
      "rootfs",
      `Cannot map owner of ${displayName(entry.path)} in ${this.#layer}: ${what} is outside the idmap (${ranges})`,
      { hint: "Use a wider --idmap" },
    );
  }

  /** The xattrs to write for an entry, policy applied and ids shifted. */
  #xattrs(entry: TarEntry): [string, Uint8Array][] {
    if (entry.xattrs.size === 0) return NO_XATTRS;
    const out: [string, Uint8Array][] = [];
    for (const [name, value] of entry.xattrs) {
      if (name.includes("\0")) {
        throw new Error(
          `xattr name ${JSON.stringify(name)} contains a NUL byte`,
        );
      }
      const skip = xattrSkipReason(name);
      if (skip !== undefined) {
        const why = skip === "trusted" ? "trusted.* attributes are not written" : "host-specific attribute";
        this.#warn("xattr-skipped", entry, `xattr ${name} skipped: ${why}`);
        continue;
      }
      const shifted = shiftXattr(name, value, this.#idmap);
      if (typeof shifted === "string") {
        const ranges = shifted.startsWith("gid") ? this.#idmap!.gid : this.#idmap!.uid;
        throw this.#unmapped(
          entry,
          `${shifted} in xattr ${name}`,
          describeRanges(ranges),
        );
      }
      out.push([name, shifted]);
    }
    return out;
  }

  /** Accept a setxattr result, turning the failures umoci tolerates into warnings. */
  #xattrResult(
    r: number,
    name: string,
    entry: TarEntry,
    regularOrDir: boolean,
  ): void {
    if (r >= 0) return;
    const userOnSpecial = r === -Errno.EPERM && name.startsWith("user.") &&
      !regularOrDir;
    if (
      r === -Errno.EOPNOTSUPP || userOnSpecial ||
      (r === -Errno.EPERM && this.#approximate)
    ) {
      this.#warn(
        "xattr-skipped",
        entry,
        `xattr ${name} skipped: ${new LibcError("setxattr", -r).message}`,
      );
      return;
    }
    check(r, "setxattr", name);
  }

  #warn(code: RootfsWarningCode, entry: TarEntry, message: string): void {
    this.#onWarning({
      code,
      layer: this.#layer ?? "",
      path: displayName(entry.path),
      message,
    });
  }

  #wrap(entry: TarEntry, err: unknown): Oci2LxcError {
    if (err instanceof Oci2LxcError) return err;
    if (err instanceof PathLimitError) {
      return new Oci2LxcError(
        "rootfs",
        `Cannot apply ${shortName(entry.path)} from ${this.#layer}: ${err.reason}`,
        {
          cause: err,
          hint: "No program in the container could use this path; rebuild the image with shorter paths " +
            "(or without this entry)",
        },
      );
    }
    return new Oci2LxcError(
      "rootfs",
      `Cannot apply ${displayName(entry.path)} from ${this.#layer}: ${describeError(err)}`,
      { cause: err },
    );
  }
}

/** Seconds (with a fraction) as a timespec. */
function toTimespec(seconds: number): Timespec {
  if (!Number.isFinite(seconds)) return { sec: 0, nsec: 0 };
  let sec = Math.floor(seconds);
  let nsec = Math.round((seconds - sec) * 1e9);
  if (nsec >= 1e9) {
    sec += 1;
    nsec -= 1e9;
  }
  return { sec, nsec };
}
