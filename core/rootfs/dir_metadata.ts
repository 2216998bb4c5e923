/**
 * Directory metadata of a layer, settled at its end: deepest first, so a 0500 or 0000 directory cannot block its
 * children, and after every entry below it, so its mtime is the layer's. A directory whose contents changed without
 * an entry of its own gets its previous times back (umoci restores parents the same way). In approximate mode (not
 * root, no CAP_DAC_OVERRIDE) a directory that denies its owner keeps owner rwx until the last layer is written.
 *
 * @module
 */

import { describeError, Oci2LxcError } from "../errors.ts";
import {
  AT_EMPTY_PATH,
  check,
  chmodFd,
  close,
  Errno,
  fstat,
  LibcError,
  listxattrFd,
  removexattrFd,
  setxattrFd,
  type Timespec,
  utimensat,
} from "../native/libc.ts";
import { displayName, type TarEntry } from "../tar/tar_entry.ts";
import type { ConfinedRoot, DirHandle } from "./confined_root.ts";
import { keyBytes } from "./entry_path.ts";
import { EMPTY, type EntryMetadata } from "./entry_metadata.ts";
import { xattrIsHostOwned } from "./xattr_policy.ts";

/** What a layer's entry for a directory says, shifted and checked. */
export interface DirMeta {
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

/** The directories a layer touched or brought, and the modes that wait for the last layer. */
export class DirMetadata {
  readonly #meta: EntryMetadata;
  #dirs = new Map<string, DirRecord>();
  #lastTouched: DirHandle | undefined;
  /** Approximate mode: directory modes that deny their owner, applied by {@linkcode finish}. */
  #finalModes = new Map<string, { mode: number; ino: number; dev: number }>();

  constructor(meta: EntryMetadata) {
    this.#meta = meta;
  }

  /** Remember a directory's times before this layer changes what is in it. */
  touch(dir: DirHandle): void {
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

  /** The layer's entry for the directory `canon` (inode `ino` on `dev`). */
  record(canon: string, ino: number, dev: number, meta: DirMeta): void {
    const rec = this.#dirs.get(canon);
    if (rec !== undefined && rec.ino === ino && rec.dev === dev) {
      rec.meta = meta;
      return;
    }
    this.#dirs.set(canon, { canon, ino, dev, saved: undefined, meta });
  }

  /** Settle every directory of the layer, descendants before ancestors, and forget them. */
  settle(root: ConfinedRoot): void {
    // Each directory opened once, in one pass over the tree: deep trees cost linear work.
    root.visitCanonical(this.#dirs.keys(), (canon, fd) => {
      const rec = this.#dirs.get(canon)!;
      try {
        this.#settleDir(rec, fd);
      } catch (err) {
        if (err instanceof Oci2LxcError) throw err;
        const path = rec.meta ? displayName(rec.meta.entry.path) : displayName(keyBytes(rec.canon)) || "/";
        throw new Oci2LxcError(
          "rootfs",
          `Cannot apply metadata of directory ${path} from ${this.#meta.layer}: ${describeError(err)}`,
          { cause: err },
        );
      }
    });
    this.clear();
  }

  /** Forget the layer's directories. */
  clear(): void {
    this.#dirs.clear();
    this.#lastTouched = undefined;
  }

  /** Apply the modes that waited for the last layer (approximate mode only; nothing waits as root). */
  finish(root: ConfinedRoot): void {
    const pending = new Map(this.#finalModes);
    this.#finalModes.clear();
    root.visitCanonical(pending.keys(), (canon, fd) => {
      const want = pending.get(canon)!;
      if (fd < 0) return; // removed by a later layer
      try {
        const st = fstat(fd);
        if (typeof st !== "number" && st.ino === want.ino && st.dev === want.dev) {
          check(chmodFd(fd, want.mode), "chmod");
        }
      } catch (err) {
        const path = displayName(keyBytes(canon)) || "/";
        throw new Oci2LxcError("rootfs", `Cannot set the mode of directory ${path}: ${describeError(err)}`, {
          cause: err,
        });
      } finally {
        close(fd);
      }
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
        if (rec.saved) check(utimensat(fd, EMPTY, rec.saved.atime, rec.saved.mtime, AT_EMPTY_PATH), "utimensat");
        return;
      }
      this.#meta.chownFd(fd, meta.uid, meta.gid);
      let mode = meta.mode;
      if (this.#meta.approximate) {
        // Without CAP_DAC_OVERRIDE a directory that denies its owner would block later layers; keep owner rwx
        // until finish().
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
            if (!keep.has(n) && !xattrIsHostOwned(n)) check(removexattrFd(fd, n), "removexattr", n);
          }
        }
      }
      for (const [key, value] of meta.xattrs) {
        this.#meta.xattrResult(setxattrFd(fd, key, value), key, meta.entry, true);
      }
      check(utimensat(fd, EMPTY, meta.atime, meta.mtime, AT_EMPTY_PATH), "utimensat");
    } finally {
      close(fd);
    }
  }
}
