/**
 * Folding a member's pax records into its header fields: a record overrides the header's field (an empty value means
 * "use the header's", as POSIX says), `SCHILY.xattr.*` and `LIBARCHIVE.xattr.*` become extended attributes, and any
 * `GNU.sparse.*` record marks a sparse file, which we refuse rather than write wrong.
 *
 * @module
 */
import type { HeaderFields } from "./_header_block.ts";
import { decodeText } from "./_header_fields.ts";
import { paxAclXattr } from "./_pax_records.ts";

const EMPTY = new Uint8Array(0);

/** What the records said besides the header fields. */
export interface PaxExtras {
  /** Extended attributes, by name. */
  readonly xattrs: Map<string, Uint8Array> | undefined;
  /** Set when the member is a GNU sparse file: its real name, or empty when the records do not say. */
  readonly sparseName: Uint8Array | undefined;
  /** The last record whose value did not parse, for the error. */
  readonly badRecord: readonly [key: string, value: Uint8Array] | undefined;
}

/**
 * Apply `records` to `fields` in place. `ignored(key, reason)` is told of a record that is skipped: a
 * `LIBARCHIVE.xattr.*` record that does not decode, or a `SCHILY.acl.*` record we cannot turn into an ACL xattr.
 */
export function applyPaxRecords(
  fields: HeaderFields,
  records: ReadonlyMap<string, Uint8Array>,
  ignored: (key: string, reason: string) => void,
): PaxExtras {
  let xattrs: Map<string, Uint8Array> | undefined;
  let acls: [string, Uint8Array][] | undefined;
  let sparseName: Uint8Array | undefined;
  let badKey: string | undefined;
  for (const [key, value] of records) {
    if (key.startsWith("SCHILY.xattr.")) {
      xattrs ??= new Map();
      xattrs.set(key.slice(13), value.slice());
      continue;
    }
    if (key.startsWith("LIBARCHIVE.xattr.")) {
      const decoded = decodeLibarchiveXattr(key.slice(17), value);
      if (decoded === undefined) {
        ignored(key, "it does not decode");
        continue;
      }
      xattrs ??= new Map();
      xattrs.set(decoded[0], decoded[1]);
      continue;
    }
    if (key.startsWith("SCHILY.acl.")) {
      // GNU tar's ACL records (`tar --acls`) stand for the system.posix_acl_* xattrs.
      const acl = paxAclXattr(key, value);
      if (typeof acl === "string") ignored(key, acl);
      else if (acl !== undefined) (acls ??= []).push(acl);
      continue;
    }
    if (key.startsWith("GNU.sparse.")) {
      if (key === "GNU.sparse.name") sparseName = value;
      else sparseName ??= EMPTY;
      continue;
    }
    // An empty value means "use the header's field" (POSIX pax).
    if (value.length === 0) continue;
    switch (key) {
      case "path":
        fields.path = value;
        break;
      case "linkpath":
        fields.linkPath = value;
        break;
      case "size":
        fields.size = parseDecimal(value);
        if (Number.isNaN(fields.size)) badKey = key;
        break;
      case "uid":
        fields.uid = parseDecimal(value);
        if (Number.isNaN(fields.uid)) badKey = key;
        break;
      case "gid":
        fields.gid = parseDecimal(value);
        if (Number.isNaN(fields.gid)) badKey = key;
        break;
      case "uname":
        fields.uname = decodeText(value, 0, value.length);
        break;
      case "gname":
        fields.gname = decodeText(value, 0, value.length);
        break;
      case "mtime":
        fields.mtime = parseTime(value);
        if (Number.isNaN(fields.mtime)) badKey = key;
        break;
      case "atime":
        fields.atime = parseTime(value);
        if (Number.isNaN(fields.atime)) badKey = key;
        break;
    }
  }
  // An xattr record of the same name wins over GNU tar's ACL record.
  for (const [name, value] of acls ?? []) {
    xattrs ??= new Map();
    if (!xattrs.has(name)) xattrs.set(name, value);
  }
  const badRecord = badKey === undefined ? undefined : [badKey, records.get(badKey)!] as const;
  return { xattrs, sparseName, badRecord };
}

/** A non-negative decimal pax value, or NaN. */
function parseDecimal(value: Uint8Array): number {
  if (value.length === 0 || value.length > 16) return NaN;
  let n = 0;
  for (const c of value) {
    if (c < 0x30 || c > 0x39) return NaN;
    n = n * 10 + (c - 0x30);
  }
  return n <= Number.MAX_SAFE_INTEGER ? n : NaN;
}

const TIME = /^-?[0-9]{1,19}(\.[0-9]{0,18})?$/;

/** A pax time, `[-]seconds[.fraction]`, or NaN. */
function parseTime(value: Uint8Array): number {
  const text = decodeText(value, 0, value.length);
  return TIME.test(text) ? Number(text) : NaN;
}

/**
 * libarchive writes `LIBARCHIVE.xattr.<url-encoded name>=<base64 value>`. Returns undefined when either part does not
 * decode.
 */
function decodeLibarchiveXattr(encodedName: string, value: Uint8Array): [string, Uint8Array] | undefined {
  try {
    const name = decodeURIComponent(encodedName);
    const binary = atob(decodeText(value, 0, value.length));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return [name, bytes];
  } catch {
    return undefined;
  }
}
