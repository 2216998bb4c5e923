/**
 * Whiteouts, order-aware like umoci's: they hide lower layers only. `.wh.NAME` removes NAME (a symlink as a link, a
 * directory with its contents, nothing if absent); `.wh..wh..opq` removes what lower layers put in its directory.
 * What this layer already wrote (and its parents) stays. `.wh.` alone is an error; `.wh..` removes the directory it
 * is in (the Proxmox fixtures' reading), except at the root where it is ignored; `.wh...` is ignored. Whiteouts are
 * never written.
 *
 * @module
 */

import {
  check,
  close,
  Errno,
  fstat,
  LibcError,
  lstatMode,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_RDONLY,
  openat,
  readDir,
  S_IFDIR,
  S_IFMT,
} from "../native/libc.ts";
import type { TarEntry } from "../tar/tar_entry.ts";
import type { ConfinedRoot, DirHandle } from "./confined_root.ts";
import { bytesEqualAscii, bytesKey, joinKey } from "./entry_path.ts";
import type { EntryMetadata } from "./entry_metadata.ts";
import { removeExisting, type WriteContext } from "./remove_existing.ts";

const DOT = new Uint8Array([0x2e]);

/** What the current layer wrote, which its whiteouts leave alone, and applying those whiteouts. */
export class Whiteouts {
  readonly #ctx: WriteContext;
  readonly #root: ConfinedRoot;
  readonly #meta: EntryMetadata;
  /** Canonical paths this layer wrote, and their parents: whiteouts leave them alone. */
  #upper = new Set<string>();
  /**
   * Directories this layer made (not merged into a lower one): all they hold is this layer's, so their entries need
   * no place in {@linkcode #upper} (memory flat: a base layer creates every directory).
   */
  #created = new Set<string>();

  constructor(ctx: WriteContext) {
    this.#ctx = ctx;
    this.#root = ctx.root;
    this.#meta = ctx.meta;
  }

  /** Forget the layer: the next one's whiteouts may remove all of it. */
  clear(): void {
    this.#upper.clear();
    this.#created.clear();
  }

  /** The layer made the directory `canon` (it did not merge into a lower one). */
  created(canon: string): void {
    this.#created.add(canon);
  }

  /** The layer wrote `canon`, whose parent is `parentCanon`. */
  wrote(parentCanon: string, canon: string): void {
    if (this.#created.has(parentCanon)) return;
    let key = canon;
    while (key !== "" && !this.#upper.has(key)) {
      this.#upper.add(key);
      const i = key.lastIndexOf("/");
      key = i < 0 ? "" : key.slice(0, i);
    }
  }

  /** Apply the whiteout `name` (it starts with `.wh.`) found in `parentPath`. */
  apply(entry: TarEntry, parentPath: Uint8Array, name: Uint8Array): void {
    if (bytesEqualAscii(name, ".wh..wh..opq")) {
      const dir = this.#root.resolveDir(parentPath, false);
      if (dir !== null) this.#opaque(dir);
      return;
    }
    const rest = name.subarray(4);
    if (rest.length === 0) throw new Error("whiteout '.wh.' names nothing");
    if (bytesEqualAscii(rest, "..")) {
      this.#meta.warn("whiteout-ignored", entry, "whiteout of '..' ignored");
      return;
    }
    let dirPath = parentPath;
    let target = rest;
    if (bytesEqualAscii(rest, ".")) {
      // `X/.wh..` removes X itself (what the Proxmox fixtures expect).
      if (parentPath.length === 0) {
        this.#meta.warn("whiteout-ignored", entry, "whiteout of the root directory ignored");
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
      this.#removeChildrenExceptUpper({ fd, canon: dir.canon, ino: dir.ino, dev: dir.dev });
    } finally {
      close(fd);
    }
  }

  #removeChildrenExceptUpper(dir: DirHandle): void {
    const entries = readDir(dir.fd);
    if (typeof entries === "number") check(entries, "getdents64");
    for (const e of entries as { name: Uint8Array }[]) {
      this.#removeExceptUpper(dir, e.name, joinKey(dir.canon, bytesKey(e.name)));
    }
  }

  #removeExceptUpper(parent: DirHandle, name: Uint8Array, canon: string): void {
    const mode = lstatMode(parent.fd, name);
    if (mode === -Errno.ENOENT) return;
    check(mode, "statx");
    const type = mode & S_IFMT;
    if (!this.#upper.has(canon) && !this.#created.has(parent.canon)) {
      removeExisting(this.#ctx, parent, name, mode);
      return;
    }
    // This layer's own entry, or a directory it made: nothing below is a lower layer's.
    if (type !== S_IFDIR || this.#created.has(canon)) return;
    const fd = check(openat(parent.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), "openat");
    try {
      const st = fstat(fd);
      if (typeof st === "number") throw new LibcError("statx", -st);
      this.#removeChildrenExceptUpper({ fd, canon, ino: st.ino, dev: st.dev });
    } finally {
      close(fd);
    }
  }
}
