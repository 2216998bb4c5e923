/**
 * A normalised text manifest of a directory tree, for comparing two trees (ours and `umoci unpack`'s) without comparing
 * timestamps or inode numbers.
 *
 * One line per path, sorted by the path's bytes:
 *
 * ```
 * <path> <type> <mode> <uid> <gid> [size=N sha256=HEX] [target=T] [dev=MAJ:MIN] [hardlink=P] [xattr.NAME=HEX]… [mtime=S.NNNNNNNNN]
 * ```
 *
 * `<path>` starts with `/` (the root is `/`); bytes outside 0x21–0x7e, `\` and `=` are written as `\xHH`, so names that
 * are not UTF-8 or contain spaces, tabs or newlines stay exact and each line stays one line. `<type>` is one of `dir
 * file symlink char block fifo socket`; `<mode>` is the permission bits in octal (4 digits). `hardlink=P` names the
 * first path (in sorted order) of the inode's group, on every member of a group of two or more. xattrs are sorted by
 * name; values in hex.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { compareBytes } from "./entry_path.ts";
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  check,
  close,
  Errno,
  getxattrFd,
  LibcError,
  listxattrFd,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  openat,
  read,
  readDir,
  readlinkat,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  type Stat,
  statx,
} from "../native/libc.ts";

/** Options for {@linkcode fsManifest}. */
export interface FsManifestOptions {
  /** Add `mtime=SEC.NSEC` to every line (off by default: times differ between tools). */
  mtime?: boolean;
  /** Add the root directory's own line (default true). */
  root?: boolean;
}

interface Item {
  path: Uint8Array;
  fields: string;
  ino: number;
  dev: number;
  linkable: boolean;
}

const TYPES = new Map<number, string>([
  [S_IFDIR, "dir"],
  [S_IFREG, "file"],
  [S_IFLNK, "symlink"],
  [S_IFCHR, "char"],
  [S_IFBLK, "block"],
  [S_IFIFO, "fifo"],
  [S_IFSOCK, "socket"],
]);

const HEX = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

/** Escape bytes for one manifest field. */
export function escapeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    out += b > 0x20 && b < 0x7f && b !== 0x5c && b !== 0x3d ? String.fromCharCode(b) : `\\x${HEX[b]}`;
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b];
  return out;
}

const readBuf = new Uint8Array(1 << 20);

/**
 * The manifest of the tree at `root`, one line per path (see the module doc).
 *
 * @example Comparing two trees
 * ```ts
 * import assert from "node:assert/strict";
 * import { fsManifest } from "./fs_manifest.ts";
 * const a = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${a}/x`, "1");
 * assert(fsManifest(a).includes("/x file"));
 * Deno.removeSync(a, { recursive: true });
 * ```
 */
export function fsManifest(
  root: string,
  options: FsManifestOptions = {},
): string {
  const items: Item[] = [];
  const rootFd = check(
    openat(AT_FDCWD, new TextEncoder().encode(root), O_RDONLY | O_DIRECTORY),
    "openat",
    root,
  );
  try {
    const st = statx(rootFd, new Uint8Array(0), 0x1000 /* AT_EMPTY_PATH */);
    if (typeof st === "number") throw new LibcError("statx", -st, root);
    if (options.root ?? true) {
      items.push(
        describe(rootFd, new Uint8Array(0), new Uint8Array(0), st, options),
      );
    }
    walk(rootFd, new Uint8Array(0), items, options);
  } finally {
    close(rootFd);
  }
  items.sort((a, b) => compareBytes(a.path, b.path));
  const groups = new Map<string, { first: Uint8Array; count: number }>();
  for (const it of items) {
    if (!it.linkable) continue;
    const key = `${it.dev}:${it.ino}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { first: it.path, count: 1 });
    else g.count++;
  }
  const lines: string[] = [];
  for (const it of items) {
    let line = `/${escapeBytes(it.path)} ${it.fields}`;
    if (it.linkable) {
      const g = groups.get(`${it.dev}:${it.ino}`)!;
      if (g.count > 1) {
        line = insertHardlink(line, `hardlink=/${escapeBytes(g.first)}`);
      }
    }
    lines.push(line);
  }
  return lines.join("\n") + "\n";
}

/** Put `hardlink=` before the xattrs and mtime so field order stays fixed. */
function insertHardlink(line: string, field: string): string {
  const i = line.search(/ (xattr\.|mtime=)/);
  return i < 0 ? `${line} ${field}` : `${line.slice(0, i)} ${field}${line.slice(i)}`;
}

function walk(
  dirFd: number,
  prefix: Uint8Array,
  items: Item[],
  options: FsManifestOptions,
): void {
  const entries = readDir(dirFd);
  if (typeof entries === "number") throw new LibcError("getdents64", -entries);
  for (const e of entries) {
    const path = new Uint8Array(
      prefix.length + (prefix.length ? 1 : 0) + e.name.length,
    );
    path.set(prefix);
    if (prefix.length) path[prefix.length] = 0x2f;
    path.set(e.name, prefix.length ? prefix.length + 1 : 0);
    const st = statx(dirFd, e.name, AT_SYMLINK_NOFOLLOW);
    if (typeof st === "number") throw new LibcError("statx", -st);
    items.push(describe(dirFd, e.name, path, st, options));
    if ((st.mode & S_IFMT) === S_IFDIR) {
      const fd = check(
        openat(dirFd, e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW),
        "openat",
      );
      try {
        walk(fd, path, items, options);
      } finally {
        close(fd);
      }
    }
  }
}

function describe(
  dirFd: number,
  name: Uint8Array,
  path: Uint8Array,
  st: Stat,
  options: FsManifestOptions,
): Item {
  const type = st.mode & S_IFMT;
  const parts = [
    TYPES.get(type) ?? `type${type.toString(8)}`,
    (st.mode & 0o7777).toString(8).padStart(4, "0"),
    String(st.uid),
    String(st.gid),
  ];
  const isRoot = name.length === 0;
  if (type === S_IFREG) {
    parts.push(`size=${st.size}`, `sha256=${hashFile(dirFd, name)}`);
  } else if (type === S_IFLNK) {
    const target = readlinkat(dirFd, name);
    if (typeof target === "number") throw new LibcError("readlinkat", -target);
    parts.push(`target=${escapeBytes(target)}`);
  } else if (type === S_IFCHR || type === S_IFBLK) {
    parts.push(`dev=${st.rdevMajor}:${st.rdevMinor}`);
  }
  const pathFd = isRoot ? -1 : check(openat(dirFd, name, O_PATH | O_NOFOLLOW), "openat");
  try {
    const fd = isRoot ? dirFd : pathFd;
    const names = listxattrFd(fd);
    if (typeof names !== "number") {
      for (const n of names.sort()) {
        const v = getxattrFd(fd, n);
        if (typeof v === "number") {
          if (v === -Errno.ENODATA) continue;
          throw new LibcError("getxattr", -v, n);
        }
        parts.push(
          `xattr.${escapeBytes(new TextEncoder().encode(n))}=${hex(v)}`,
        );
      }
    }
  } finally {
    if (pathFd >= 0) close(pathFd);
  }
  if (options.mtime) {
    parts.push(
      `mtime=${st.mtime.sec}.${String(st.mtime.nsec).padStart(9, "0")}`,
    );
  }
  return {
    path,
    fields: parts.join(" "),
    ino: st.ino,
    dev: st.dev,
    linkable: type !== S_IFDIR,
  };
}

function hashFile(dirFd: number, name: Uint8Array): string {
  const fd = check(openat(dirFd, name, O_RDONLY | O_NOFOLLOW), "openat");
  try {
    const hash = createHash("sha256");
    for (;;) {
      const n = read(fd, readBuf);
      if (n < 0) throw new LibcError("read", -n);
      if (n === 0) break;
      hash.update(readBuf.subarray(0, n));
    }
    return hash.digest("hex");
  } finally {
    close(fd);
  }
}
