/**
 * The rootfs as the uncompressed pax tar `pct create` extracts. It runs GNU tar (`tar xpf - --zstd --numeric-owner
 * --xattrs --xattrs-include=user.* --xattrs-include=security.capability --acls --anchored --exclude ./dev/* …`),
 * inside the container's user namespace for unprivileged containers, which shifts the owners itself. So:
 *
 * - members are named `./…` (the `./dev/*` exclude only matches that form), with `./` first, parents before
 *   children, names sorted bytewise;
 * - owners are the container's ids: for a rootfs written with an id map they are shifted back (as are the root uid
 *   of v3 file capabilities and the ids in POSIX ACLs, `xattr_policy.ts`); an owner outside the map is an error;
 * - modes, mtimes (nanoseconds as pax fractions), symlinks, hardlinks, devices, FIFOs and xattrs are kept; names are
 *   read as bytes through libc, never decoded; sockets cannot be archived and are skipped;
 * - xattrs follow the rootfs writer's policy (`trusted.*`, `security.selinux`, `system.nfs4_acl` stay out);
 * - POSIX ACLs are written twice: as `SCHILY.xattr.system.posix_acl_*` (for readers that restore every xattr) and as
 *   GNU tar's `SCHILY.acl.access`/`SCHILY.acl.default` text with numeric ids, since pct's `--xattrs-include`
 *   patterns drop the former and `--acls` restores only the latter.
 *
 * @module
 */

import { Oci2LxcError } from "../errors.ts";
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  close,
  Errno,
  errnoName,
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
  strerror,
} from "../native/libc.ts";
import { bytesStartAscii, compareBytes } from "../rootfs/entry_path.ts";
import { type IdMap, unmapId } from "../rootfs/id_map.ts";
import { ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR, aclXattrToText } from "../rootfs/posix_acl.ts";
import { unshiftXattr, xattrSkipReason } from "../rootfs/xattr_policy.ts";
import type { TarEntryType } from "../tar/tar_entry.ts";
import { TarWriter } from "../tar/tar_writer.ts";
import { latin1, memberPath, show } from "./member_name.ts";
import { TemplateFindings, UNPRIVILEGED_IDS } from "./template_findings.ts";

/** Options for {@linkcode tarRootfs}. */
export interface RootfsTarOptions {
  /** The id map the rootfs was written with; owners are shifted back to container ids. */
  idmap?: IdMap | undefined;
  /** Receives findings worth telling the user (skipped sockets, devices pct cannot make). */
  onWarning?: ((message: string) => void) | undefined;
  /**
   * Files the template holds instead of the rootfs's, by path below `/etc` (`etc/resolv.conf`), owned by root; the
   * rootfs itself is not changed. A missing `/etc` is added; an `/etc` that is not a directory is left alone with a
   * warning.
   */
  etcFiles?: ReadonlyMap<string, TemplateFile> | undefined;
}

/** A generated file for {@linkcode RootfsTarOptions.etcFiles}. */
export interface TemplateFile {
  readonly data: Uint8Array;
  readonly mode: number;
}

/** What {@linkcode tarRootfs} wrote. */
export interface RootfsTarResult {
  /** Tar members written (pax headers not counted). */
  members: number;
  /** Uncompressed archive bytes. */
  tarBytes: number;
  /** Sockets left out. */
  skipped: number;
}

const SLASH = 0x2f;
const DOT_SLASH = new Uint8Array([0x2e, SLASH]);
const EMPTY = new Uint8Array(0);

const TYPES = new Map<number, TarEntryType>([
  [S_IFDIR, "directory"],
  [S_IFREG, "file"],
  [S_IFLNK, "symlink"],
  [S_IFCHR, "char"],
  [S_IFBLK, "block"],
  [S_IFIFO, "fifo"],
]);

/**
 * Write the rootfs at `rootfsDir` as an uncompressed pax tar to `sink`, in the form `pct create` wants (see the
 * module notes).
 *
 * @throws {Oci2LxcError} `rootfs` when the tree cannot be read or an owner is outside the id map
 */
export function tarRootfs(
  rootfsDir: string,
  sink: (chunk: Uint8Array) => void,
  options: RootfsTarOptions = {},
): RootfsTarResult {
  const walker = new RootfsWalker(rootfsDir, new TarWriter(sink), options);
  return walker.run();
}

/** One walk over the tree, parents before children, each directory's names in bytewise order. */
class RootfsWalker {
  readonly #root: string;
  readonly #tar: TarWriter;
  readonly #idmap: IdMap | undefined;
  readonly #warn: (message: string) => void;
  readonly #buffer = new Uint8Array(1 << 20);
  /** Inodes with more than one link: the first member's name and the links still to come. */
  readonly #links = new Map<string, { path: Uint8Array; left: number }>();
  #skipped = 0;
  readonly #findings = new TemplateFindings();
  /** Generated files by member name (`./etc/hosts`), and their names inside `./etc/`. */
  readonly #etcFiles = new Map<string, TemplateFile>();
  readonly #etcNames: Uint8Array[] = [];

  constructor(root: string, tar: TarWriter, options: RootfsTarOptions) {
    this.#root = root;
    this.#tar = tar;
    this.#idmap = options.idmap;
    this.#warn = options.onWarning ?? (() => {});
    for (const [path, file] of options.etcFiles ?? []) {
      const m = /^etc\/([^/]+)$/.exec(path);
      if (!m || m[1] === "." || m[1] === "..") {
        throw new TypeError(`Cannot add ${path} to the template: not a file in /etc`);
      }
      this.#etcFiles.set(`./${path}`, file);
      this.#etcNames.push(new TextEncoder().encode(m[1]));
    }
  }

  run(): RootfsTarResult {
    const rootFd = openat(AT_FDCWD, new TextEncoder().encode(this.#root), O_RDONLY | O_DIRECTORY);
    if (rootFd < 0) this.#fail(this.#root, "open", -rootFd);
    try {
      const st = statx(rootFd, EMPTY, AT_EMPTY_PATH);
      if (typeof st === "number") this.#fail(this.#root, "stat", -st);
      this.#add(DOT_SLASH, st, rootFd, EMPTY);
      this.#walk(rootFd, DOT_SLASH);
      this.#tar.finish();
    } finally {
      close(rootFd);
    }
    this.#findings.report(this.#warn);
    return { members: this.#tar.members, tarBytes: this.#tar.bytes, skipped: this.#skipped };
  }

  /** Archive the children of the directory open as `dirFd`, whose member name is `prefix` (ends with `/`). */
  #walk(dirFd: number, prefix: Uint8Array, dirSt?: Stat): void {
    const found = readDir(dirFd);
    if (typeof found === "number") this.#fail(prefix, "read the directory", -found);
    const entries: { name: Uint8Array; generated?: boolean }[] = found;
    const isRoot = prefix.length === 2;
    const isEtc = this.#etcFiles.size > 0 && latin1(prefix) === "./etc/";
    if (isRoot && this.#etcFiles.size > 0 && !entries.some((e) => latin1(e.name) === "etc")) {
      entries.push({ name: new TextEncoder().encode("etc"), generated: true });
    }
    if (isEtc) {
      for (const name of this.#etcNames) {
        if (!entries.some((e) => compareBytes(e.name, name) === 0)) entries.push({ name, generated: true });
      }
    }
    entries.sort((a, b) => compareBytes(a.name, b.name));
    for (const { name, generated } of entries) {
      const path = memberPath(prefix, name);
      if (isEtc && this.#addEtcFile(path, dirSt!)) continue;
      if (generated) {
        // /etc is missing from the rootfs: a root-owned 0755 directory holds the generated files.
        const now = { mtime: { sec: Math.floor(Date.now() / 1000), nsec: 0 } };
        this.#tar.add({ path, type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: now.mtime.sec });
        for (const etcName of [...this.#etcNames].sort(compareBytes)) {
          this.#addEtcFile(new Uint8Array([...path, SLASH, ...etcName]), now);
        }
        continue;
      }
      const st = statx(dirFd, name, AT_SYMLINK_NOFOLLOW);
      if (typeof st === "number") this.#fail(path, "stat", -st);
      const type = st.mode & S_IFMT;
      if (type === S_IFSOCK) {
        this.#skipped++;
        this.#findings.note("socket", path);
        continue;
      }
      if (isRoot && type !== S_IFDIR && this.#etcFiles.size > 0 && latin1(name) === "etc") {
        this.#warn(
          `/etc in the image is not a directory, so the template holds no generated ${
            [...this.#etcFiles.keys()].map((k) => k.slice(1)).join(", ")
          }`,
        );
      }
      if (type === S_IFDIR) {
        const fd = openat(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (fd < 0) this.#fail(path, "open", -fd);
        try {
          this.#add(path, st, fd, EMPTY);
          const child = new Uint8Array(path.length + 1);
          child.set(path);
          child[path.length] = SLASH;
          this.#walk(fd, child, st);
        } finally {
          close(fd);
        }
        continue;
      }
      if (st.nlink > 1 && this.#hardlink(path, st)) continue;
      if (type === S_IFREG) {
        const fd = openat(dirFd, name, O_RDONLY | O_NOFOLLOW);
        if (fd < 0) this.#fail(path, "open", -fd);
        try {
          this.#add(path, st, fd, EMPTY);
          this.#copyData(fd, path, st.size);
        } finally {
          close(fd);
        }
        continue;
      }
      let target: Uint8Array = EMPTY;
      if (type === S_IFLNK) {
        const t = readlinkat(dirFd, name);
        if (typeof t === "number") this.#fail(path, "read the link", -t);
        target = t;
      }
      const fd = openat(dirFd, name, O_PATH | O_NOFOLLOW);
      if (fd < 0) this.#fail(path, "open", -fd);
      try {
        this.#add(path, st, fd, target);
      } finally {
        close(fd);
      }
      if ((type === S_IFCHR || type === S_IFBLK) && !bytesStartAscii(path, "./dev/")) {
        this.#findings.note("device", path);
      }
    }
  }

  /** Write the generated file for member `path`, if there is one (mtime of its directory); whether it did. */
  #addEtcFile(path: Uint8Array, dirSt: Pick<Stat, "mtime">): boolean {
    const file = this.#etcFiles.get(latin1(path));
    if (file === undefined) return false;
    this.#tar.add({
      path,
      type: "file",
      mode: file.mode,
      uid: 0,
      gid: 0,
      size: file.data.length,
      mtime: dirSt.mtime.sec,
      mtimeNsec: dirSt.mtime.nsec,
    });
    this.#tar.write(file.data);
    return true;
  }

  /** Write a hardlink member if this inode was archived before; remember it otherwise. */
  #hardlink(path: Uint8Array, st: Stat): boolean {
    const key = `${st.dev}:${st.ino}`;
    const first = this.#links.get(key);
    if (first === undefined) {
      this.#links.set(key, { path, left: st.nlink - 1 });
      return false;
    }
    this.#tar.add({
      path,
      type: "hardlink",
      linkPath: first.path,
      mode: st.mode & 0o7777,
      uid: this.#owner(path, "uid", st.uid),
      gid: this.#owner(path, "gid", st.gid),
      mtime: st.mtime.sec,
      mtimeNsec: st.mtime.nsec,
    });
    // Links outside the rootfs never come; those inside free the entry at the last one.
    if (--first.left <= 0) this.#links.delete(key);
    return true;
  }

  #add(path: Uint8Array, st: Stat, fd: number, target: Uint8Array): void {
    const type = TYPES.get(st.mode & S_IFMT)!;
    const xattrs = this.#xattrs(fd, path);
    const acls = this.#acls(path, xattrs);
    const uid = this.#owner(path, "uid", st.uid);
    const gid = this.#owner(path, "gid", st.gid);
    if (this.#idmap === undefined && (uid >= UNPRIVILEGED_IDS || gid >= UNPRIVILEGED_IDS)) {
      this.#findings.note("high-id", path, `${uid}:${gid}`);
    }
    this.#tar.add({
      path,
      type,
      mode: st.mode & 0o7777,
      uid,
      gid,
      ...(type === "file" ? { size: st.size } : {}),
      mtime: st.mtime.sec,
      mtimeNsec: st.mtime.nsec,
      ...(target.length > 0 ? { linkPath: target } : {}),
      ...(type === "char" || type === "block" ? { devMajor: st.rdevMajor, devMinor: st.rdevMinor } : {}),
      xattrs,
      ...(acls === undefined ? {} : { acls }),
    });
  }

  /** The ACLs among `xattrs` (ids already the container's) as GNU tar's text, or `undefined` when none. */
  #acls(path: Uint8Array, xattrs: readonly [string, Uint8Array][]): { access?: string; default?: string } | undefined {
    let acls: { access?: string; default?: string } | undefined;
    for (const [name, value] of xattrs) {
      if (name !== ACL_ACCESS_XATTR && name !== ACL_DEFAULT_XATTR) continue;
      const text = aclXattrToText(value);
      if (text === undefined) {
        this.#findings.note("bad-acl", path, name);
        continue;
      }
      acls ??= {};
      if (name === ACL_ACCESS_XATTR) acls.access = text;
      else acls.default = text;
    }
    return acls;
  }

  #copyData(fd: number, path: Uint8Array, size: number): void {
    const buffer = this.#buffer;
    let left = size;
    while (left > 0) {
      const n = read(fd, left < buffer.length ? buffer.subarray(0, left) : buffer);
      if (n < 0) {
        if (n === -Errno.EINTR) continue;
        this.#fail(path, "read", -n);
      }
      if (n === 0) {
        throw new Oci2LxcError("rootfs", `Cannot archive ${show(path)}: the file shrank while it was read`, {
          hint: "Nothing may change the rootfs while the template is written; run again",
        });
      }
      this.#tar.write(buffer.subarray(0, n));
      left -= n;
    }
  }

  #xattrs(fd: number, path: Uint8Array): [string, Uint8Array][] {
    const names = listxattrFd(fd);
    if (typeof names === "number") {
      if (names === -Errno.EOPNOTSUPP || names === -Errno.ENODATA) return [];
      this.#fail(path, "list the xattrs of", -names);
    }
    if (names.length === 0) return [];
    const out: [string, Uint8Array][] = [];
    for (const name of names.sort()) {
      if (xattrSkipReason(name) !== undefined) continue;
      const value = getxattrFd(fd, name);
      if (typeof value === "number") {
        if (value === -Errno.ENODATA) continue;
        this.#fail(path, `read the xattr ${name} of`, -value);
      }
      out.push([name, this.#unshiftXattr(path, name, value)]);
    }
    return out;
  }

  /** Container id for a host id on disk. */
  #owner(path: Uint8Array, kind: "uid" | "gid", id: number): number {
    if (this.#idmap === undefined) return id;
    const container = unmapId(this.#idmap[kind], id);
    if (container === undefined) throw this.#unmapped(path, kind, id);
    return container;
  }

  #unmapped(path: Uint8Array, kind: "uid" | "gid", id: number): Oci2LxcError {
    return new Oci2LxcError(
      "rootfs",
      `Cannot archive ${show(path)}: it is owned by host ${kind} ${id}, which the id map does not cover`,
      { hint: "Pass the id map the rootfs was written with (--idmap), or none for a privileged rootfs" },
    );
  }

  /** Shift ids inside v3 capabilities and POSIX ACLs back to container ids. */
  #unshiftXattr(path: Uint8Array, name: string, value: Uint8Array): Uint8Array {
    if (this.#idmap === undefined) return value;
    const out = unshiftXattr(name, value, this.#idmap);
    if (out instanceof Uint8Array) return out;
    throw this.#unmapped(path, out.kind, out.id);
  }

  #fail(path: Uint8Array | string, action: string, errno: number): never {
    const shown = typeof path === "string" ? path : show(path);
    throw new Oci2LxcError("rootfs", `Cannot ${action} ${shown}: ${errnoName(errno)} (${strerror(errno)})`, {
      cause: new LibcError(action, errno, shown),
    });
  }
}
