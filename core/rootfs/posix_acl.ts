/**
 * POSIX ACLs in their two forms: the binary value of the `system.posix_acl_access` and `system.posix_acl_default`
 * xattrs (what the kernel stores, and what layers carry as `SCHILY.xattr.system.posix_acl_*`), and the text GNU tar
 * writes as `SCHILY.acl.access` / `SCHILY.acl.default` pax records (what `tar --acls` restores; pct's template
 * extraction drops the xattr form).
 *
 * The text is libacl's long form with numeric ids, one entry a line, as GNU tar 1.34 writes it (`acl_to_text`):
 * `user::rw-\nuser:1000:r--\n…\nother::---\n`. Ids are written as numbers so that the reader's passwd file plays no
 * part (a template holds the container's ids, not the host's). Reading accepts what libacl's `acl_from_text` accepts
 * for that: entries separated by line breaks or commas, `#` comments, the short tags `u`, `g`, `m`, `o`, and a
 * `default:` prefix. Names instead of ids are refused: resolving them would need the image's passwd file, which is not
 * at hand while a layer is read.
 *
 * The binary form (linux/posix_acl_xattr.h): a little-endian u32 version 2, then for each entry a u16 tag, a u16
 * permission set and a u32 id (0xffffffff for the entries without one), sorted by tag and id.
 *
 * @module
 */

/** The xattr names of the access and default ACL. */
export const ACL_ACCESS_XATTR = "system.posix_acl_access";
export const ACL_DEFAULT_XATTR = "system.posix_acl_default";

const VERSION = 2;
const UNDEFINED_ID = 0xffffffff;
const USER_OBJ = 0x01;
const USER = 0x02;
const GROUP_OBJ = 0x04;
const GROUP = 0x08;
const MASK = 0x10;
const OTHER = 0x20;

const TAG_BY_NAME = new Map<string, number>([
  ["user", USER_OBJ],
  ["u", USER_OBJ],
  ["group", GROUP_OBJ],
  ["g", GROUP_OBJ],
  ["mask", MASK],
  ["m", MASK],
  ["other", OTHER],
  ["o", OTHER],
]);
const NAME_BY_TAG = new Map<number, string>([
  [USER_OBJ, "user"],
  [USER, "user"],
  [GROUP_OBJ, "group"],
  [GROUP, "group"],
  [MASK, "mask"],
  [OTHER, "other"],
]);

interface AclEntry {
  tag: number;
  perm: number;
  id: number;
}

/**
 * The binary xattr value for an ACL in text form, or a string saying why the text cannot be one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { aclTextToXattr, aclXattrToText } from "./posix_acl.ts";
 * const value = aclTextToXattr("user::rw-\nuser:1000:r--\ngroup::r--\nmask::r--\nother::---\n");
 * assert(value instanceof Uint8Array && value.length === 4 + 5 * 8);
 * assert.equal(aclXattrToText(value as Uint8Array), "user::rw-\nuser:1000:r--\ngroup::r--\nmask::r--\nother::---\n");
 * ```
 */
export function aclTextToXattr(text: string): Uint8Array | string {
  const entries: AclEntry[] = [];
  for (const raw of text.split(/[\n,]/)) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const fields = line.split(":").map((f) => f.trim());
    if (fields[0] === "default" || fields[0] === "d") fields.shift();
    // mask and other may leave out the empty qualifier: "mask:rw-".
    if (
      fields.length === 2 && (fields[0] === "mask" || fields[0] === "m" || fields[0] === "other" || fields[0] === "o")
    ) {
      fields.splice(1, 0, "");
    }
    if (fields.length !== 3) return `entry ${JSON.stringify(line)} is not tag:qualifier:permissions`;
    const [tagName, qualifier, perms] = fields as [string, string, string];
    let tag = TAG_BY_NAME.get(tagName);
    if (tag === undefined) return `entry ${JSON.stringify(line)} has an unknown tag`;
    let id = UNDEFINED_ID;
    if (qualifier !== "") {
      if (tag !== USER_OBJ && tag !== GROUP_OBJ) return `entry ${JSON.stringify(line)} cannot name a user or group`;
      if (!/^[0-9]{1,10}$/.test(qualifier) || Number(qualifier) >= UNDEFINED_ID) {
        return `entry ${JSON.stringify(line)} names ${qualifier} instead of a numeric id`;
      }
      id = Number(qualifier);
      tag = tag === USER_OBJ ? USER : GROUP;
    }
    const perm = parsePerms(perms);
    if (perm === undefined) return `entry ${JSON.stringify(line)} has permissions other than r, w, x and -`;
    entries.push({ tag, perm, id });
  }
  entries.sort((a, b) => a.tag - b.tag || a.id - b.id);
  const count = (tag: number) => entries.filter((e) => e.tag === tag).length;
  for (const [tag, name] of [[USER_OBJ, "user::"], [GROUP_OBJ, "group::"], [OTHER, "other::"]] as const) {
    if (count(tag) !== 1) return `it needs exactly one ${name} entry`;
  }
  if (count(MASK) > 1) return "it has more than one mask entry";
  if (count(MASK) === 0 && (count(USER) > 0 || count(GROUP) > 0)) return "it names users or groups but has no mask";
  for (let i = 1; i < entries.length; i++) {
    const a = entries[i - 1]!;
    const b = entries[i]!;
    if (a.tag === b.tag && a.id === b.id) return `it has two entries for ${NAME_BY_TAG.get(a.tag)}:${a.id}`;
  }
  const out = new Uint8Array(4 + 8 * entries.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, VERSION, true);
  entries.forEach((e, i) => {
    view.setUint16(4 + 8 * i, e.tag, true);
    view.setUint16(6 + 8 * i, e.perm, true);
    view.setUint32(8 + 8 * i, e.id, true);
  });
  return out;
}

/**
 * GNU tar's text for a binary ACL xattr value (numeric ids), or `undefined` when the value is not a version 2 ACL.
 */
export function aclXattrToText(value: Uint8Array): string | undefined {
  if (value.length < 4 || (value.length - 4) % 8 !== 0) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (view.getUint32(0, true) !== VERSION) return undefined;
  let text = "";
  for (let off = 4; off < value.length; off += 8) {
    const tag = view.getUint16(off, true);
    const perm = view.getUint16(off + 2, true);
    const name = NAME_BY_TAG.get(tag);
    if (name === undefined || perm > 7) return undefined;
    const qualifier = tag === USER || tag === GROUP ? String(view.getUint32(off + 4, true)) : "";
    text += `${name}:${qualifier}:${perm & 4 ? "r" : "-"}${perm & 2 ? "w" : "-"}${perm & 1 ? "x" : "-"}\n`;
  }
  return text;
}

/** `rwx`, `r-x`, `rw`… → bits; `undefined` for anything else. */
function parsePerms(text: string): number | undefined {
  if (text.length === 0 || text.length > 3) return undefined;
  let perm = 0;
  for (const c of text) {
    if (c === "r") perm |= 4;
    else if (c === "w") perm |= 2;
    else if (c === "x") perm |= 1;
    else if (c !== "-") return undefined;
  }
  return perm;
}
