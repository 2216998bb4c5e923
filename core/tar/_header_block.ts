/**
 * The member fields of one header block: v7, ustar (with its path prefix, and star's shorter one) and GNU headers, told
 * apart by the magic field. Only what the block says: pax records and GNU long names, which override it, are folded in
 * by the parser afterwards.
 *
 * @module
 */
import { decodeText, fieldEnd, parseNumeric } from "./_header_fields.ts";
import { displayName } from "./tar_entry.ts";

const SLASH = 0x2f;

/** Header formats, told apart by the magic field. */
const V7 = 0;
const USTAR = 1;
const GNU = 2;

/** A member's fields as the header block (then pax records) give them; numbers are NaN or negative when invalid. */
export interface HeaderFields {
  /** The name, ustar prefix included, as bytes. */
  path: Uint8Array;
  /** A link's target as bytes. */
  linkPath: Uint8Array;
  /** The mode field, file type bits included. */
  mode: number;
  /** Owner user id. */
  uid: number;
  /** Owner group id. */
  gid: number;
  /** Seconds since the epoch; pax times may have a fraction. */
  mtime: number;
  /** Only pax records carry an access time. */
  atime: number | undefined;
  /** The size field, which only regular files follow with data. */
  size: number;
  /** Owner user name; empty in v7 headers. */
  uname: string;
  /** Owner group name; empty in v7 headers. */
  gname: string;
}

/** Decode the member fields of the header block at `b[p]`, whose size field says `size`. */
export function readHeaderFields(b: Uint8Array, p: number, size: number): HeaderFields {
  const format = b[p + 257] === 0x75 && b[p + 258] === 0x73 && b[p + 259] === 0x74 &&
      b[p + 260] === 0x61 && b[p + 261] === 0x72 // "ustar"
    ? (b[p + 262] === 0 ? USTAR : GNU) // "ustar\0" + "00", or GNU "ustar  \0"
    : V7;
  return {
    path: headerPath(b, p, format),
    linkPath: b.subarray(p + 157, fieldEnd(b, p + 157, 100)),
    mode: parseNumeric(b, p + 100, 8),
    uid: parseNumeric(b, p + 108, 8),
    gid: parseNumeric(b, p + 116, 8),
    mtime: parseNumeric(b, p + 136, 12),
    atime: undefined,
    size,
    uname: format === V7 ? "" : decodeText(b, p + 265, fieldEnd(b, p + 265, 32)),
    gname: format === V7 ? "" : decodeText(b, p + 297, fieldEnd(b, p + 297, 32)),
  };
}

/** The name field, behind the ustar prefix when there is one. */
function headerPath(b: Uint8Array, p: number, format: number): Uint8Array {
  const nameEnd = fieldEnd(b, p, 100);
  // star puts atime/ctime after a 131-byte prefix and marks it with "tar\0" at 508.
  const prefixLength = b[p + 508] === 0x74 && b[p + 509] === 0x61 && b[p + 510] === 0x72 && b[p + 511] === 0
    ? 131
    : 155;
  const prefixEnd = format === USTAR ? fieldEnd(b, p + 345, prefixLength) : p + 345;
  if (prefixEnd === p + 345) return b.subarray(p, nameEnd);
  const path = new Uint8Array(prefixEnd - (p + 345) + 1 + nameEnd - p);
  path.set(b.subarray(p + 345, prefixEnd));
  path[prefixEnd - (p + 345)] = SLASH;
  path.set(b.subarray(p, nameEnd), prefixEnd - (p + 345) + 1);
  return path;
}

/** The device numbers of a character or block device's header at `b[p]`. */
export function readDevice(b: Uint8Array, p: number): [major: number, minor: number] {
  return [parseNumeric(b, p + 329, 8), parseNumeric(b, p + 337, 8)];
}

/** ` for "name"` from a header's own name field, for messages about that header. */
export function nameAt(b: Uint8Array, p: number): string {
  const end = fieldEnd(b, p, 100);
  return end === p ? "" : ` for "${displayName(b.subarray(p, end))}"`;
}
