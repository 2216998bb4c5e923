/**
 * Parsing of pax extended header bodies: a sequence of `"<length> <key>=<value>\n"` records, where `length` counts the
 * whole record in bytes. Values stay bytes: tools write raw bytes into `path` and `SCHILY.xattr.*` values, whatever pax
 * says about UTF-8.
 *
 * @module
 */

import { ACL_ACCESS_XATTR, ACL_DEFAULT_XATTR, aclTextToXattr } from "../rootfs/posix_acl.ts";
import { decodeText } from "./_header_fields.ts";

const SPACE = 0x20;
const EQUALS = 0x3d;
const NEWLINE = 0x0a;

/**
 * Parse the records in `b[start, end)` into `into` (a later record with the same key wins). Values are copied, since
 * `b` is a reused buffer or the caller's chunk. Stops at a NUL where a record should begin, as libarchive does for
 * writers that pad the body.
 *
 * @throws {SyntaxError} when a record is malformed; the message is the reason.
 */
export function parsePaxRecords(
  b: Uint8Array,
  start: number,
  end: number,
  into: Map<string, Uint8Array>,
): void {
  let p = start;
  while (p < end && b[p] !== 0) {
    let length = 0;
    let q = p;
    while (q < end && b[q] !== SPACE) {
      const c = b[q]!;
      if (c < 0x30 || c > 0x39) {
        throw new SyntaxError(
          `pax record at body byte ${p - start} has no decimal length`,
        );
      }
      length = length * 10 + (c - 0x30);
      if (length > end - p) {
        throw new SyntaxError(
          `pax record at body byte ${p - start} claims ${length} bytes but only ${end - p} remain`,
        );
      }
      q++;
    }
    const recordEnd = p + length;
    // The shortest well-formed record is "5 k=\n" (key, '=' and newline after the space).
    if (
      q === p || q >= end || recordEnd < q + 3 || b[recordEnd - 1] !== NEWLINE
    ) {
      throw new SyntaxError(
        `pax record at body byte ${p - start} is malformed`,
      );
    }
    const keyStart = q + 1;
    let eq = keyStart;
    while (eq < recordEnd - 1 && b[eq] !== EQUALS) eq++;
    if (eq === keyStart || eq >= recordEnd - 1) {
      throw new SyntaxError(
        `pax record at body byte ${p - start} has no key=value`,
      );
    }
    into.set(decodeText(b, keyStart, eq), b.slice(eq + 1, recordEnd - 1));
    p = recordEnd;
  }
}

/**
 * The xattr that a GNU tar ACL record (`SCHILY.acl.access`, `SCHILY.acl.default`) stands for: `[name, binary value]`; a
 * string saying why it cannot be used; or `undefined` when `key` is no such record. `SCHILY.acl.ace` (NFSv4 ACLs) has
 * no POSIX form and is refused.
 */
export function paxAclXattr(key: string, value: Uint8Array): [string, Uint8Array] | string | undefined {
  if (!key.startsWith("SCHILY.acl.")) return undefined;
  const name = key === "SCHILY.acl.access"
    ? ACL_ACCESS_XATTR
    : key === "SCHILY.acl.default"
    ? ACL_DEFAULT_XATTR
    : undefined;
  if (name === undefined) return "it is not a POSIX ACL";
  // An empty default ACL is how GNU tar says "none".
  if (value.length === 0) return undefined;
  const binary = aclTextToXattr(decodeText(value, 0, value.length));
  return typeof binary === "string" ? binary : [name, binary];
}
