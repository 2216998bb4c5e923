/**
 * A member's {@linkcode TarEntry} from its decoded fields: the type from the type flag, the path without its trailing
 * slashes, and every field checked, so a handler only ever sees valid numbers. Also how many data bytes follow the
 * header, which is not always the entry's size.
 *
 * @module
 */
import type { HeaderFields } from "./_header_block.ts";
import { readDevice } from "./_header_block.ts";
import type { PaxExtras } from "./_pax_fields.ts";
import { displayName, type TarEntry, type TarEntryType } from "./tar_entry.ts";

const SLASH = 0x2f;
const EMPTY = new Uint8Array(0);
const EMPTY_XATTRS: ReadonlyMap<string, Uint8Array> = new Map();
const T_DUMPDIR = 0x44; // 'D'

const TYPES: Readonly<Record<number, TarEntryType>> = {
  0x00: "file", // old-style regular file
  0x30: "file", // '0'
  0x37: "file", // '7' contiguous file, a regular file everywhere but on Masscomp
  0x31: "hardlink",
  0x32: "symlink",
  0x33: "char",
  0x34: "block",
  0x35: "directory",
  0x36: "fifo",
  [T_DUMPDIR]: "directory", // GNU dumpdir: a directory followed by a listing we skip
};

const UNSUPPORTED: Readonly<Record<number, string>> = {
  0x41: "Solaris ACL", // 'A'
  0x45: "Solaris extended attribute", // 'E'
  0x4d: "GNU multi-volume continuation", // 'M'
  0x4e: "old GNU long name", // 'N'
  0x53: "GNU sparse file", // 'S'
  0x56: "GNU volume label", // 'V'
  0x58: "Solaris extended header", // 'X'
};

/** A member, and the bytes of data that follow its header (before padding). */
export interface MemberEntry {
  /** The member as the handler sees it. */
  readonly entry: TarEntry;
  /** Bytes of data after the header: a regular file's size, a GNU dumpdir's listing, else 0. */
  readonly dataSize: number;
}

/**
 * Check the fields of the member whose header is at `b[p]` (stream offset `at`) and make its entry.
 *
 * @param error builds the error for a member that cannot be read
 */
export function memberEntry(
  b: Uint8Array,
  p: number,
  typeflag: number,
  fields: HeaderFields,
  pax: PaxExtras,
  at: number,
  error: (reason: string) => Error,
): MemberEntry {
  const { path, mode, uid, gid, mtime, size } = fields;
  // Trailing slashes name directories; the rootfs wants the bare path.
  let pathEnd = path.length;
  while (pathEnd > 1 && path[pathEnd - 1] === SLASH) pathEnd--;
  const hadSlash = pathEnd < path.length;
  const entryPath = path.slice(0, pathEnd);
  const shown = () => `member "${displayName(entryPath)}"`;

  if (pax.badRecord !== undefined) {
    const [key, value] = pax.badRecord;
    throw error(`${shown()} has an invalid pax ${key} "${displayName(value)}"`);
  }
  if (pax.sparseName !== undefined) {
    const name = pax.sparseName.length > 0 ? `member "${displayName(pax.sparseName)}"` : shown();
    throw error(`${name} is a GNU sparse file, which is not supported`);
  }
  let type = TYPES[typeflag];
  if (type === undefined) {
    const what = UNSUPPORTED[typeflag] ?? "unknown to this reader";
    throw error(`${shown()} has unsupported type '${typeName(typeflag)}' (${what})`);
  }
  // Old tars mark directories only by the trailing slash on a "file".
  if (type === "file" && hadSlash) type = "directory";
  if (!(mode >= 0)) throw error(`${shown()} has an invalid mode field`);
  if (!(uid >= 0)) throw error(`${shown()} has an invalid uid field`);
  if (!(gid >= 0)) throw error(`${shown()} has an invalid gid field`);
  if (Number.isNaN(mtime)) throw error(`${shown()} has an invalid mtime field`);
  let devMajor = 0;
  let devMinor = 0;
  if (type === "char" || type === "block") {
    [devMajor, devMinor] = readDevice(b, p);
    if (!(devMajor >= 0 && devMinor >= 0)) throw error(`${shown()} has an invalid device number`);
  }

  // Only regular files carry data; GNU tar, Go and Python ignore the size field of links, devices and directories. A
  // GNU dumpdir's listing is data, but nobody needs it.
  const isFile = type === "file";
  const entry: TarEntry = {
    path: entryPath,
    linkPath: type === "symlink" || type === "hardlink" ? fields.linkPath.slice() : EMPTY,
    type,
    mode: mode & 0o7777,
    uid,
    gid,
    size: isFile ? size : 0,
    mtime,
    atime: fields.atime,
    devMajor,
    devMinor,
    uname: fields.uname,
    gname: fields.gname,
    xattrs: pax.xattrs ?? EMPTY_XATTRS,
    offset: at,
  };
  return { entry, dataSize: isFile || typeflag === T_DUMPDIR ? size : 0 };
}

/** A type flag for messages: the character, or `\xNN` when not printable. */
function typeName(typeflag: number): string {
  return typeflag >= 0x21 && typeflag < 0x7f
    ? String.fromCharCode(typeflag)
    : `\\x${typeflag.toString(16).padStart(2, "0")}`;
}
