/**
 * Member names of the template (`./etc/hosts`): bytes as the rootfs holds them, compared as ASCII and shown in
 * messages without the leading dot.
 *
 * @module
 */

const SLASH = 0x2f;
const lossy = new TextDecoder("utf-8", { fatal: false });

/** One char per byte, for comparing member names with ASCII text. */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** `prefix/name` as a new member name (`prefix` ends with `/`). */
export function memberPath(prefix: Uint8Array, name: Uint8Array): Uint8Array {
  const path = new Uint8Array(prefix.length + name.length);
  path.set(prefix);
  path.set(name, prefix.length);
  return path;
}

/** A member name for messages: `/etc/passwd`, control characters escaped. */
export function show(path: Uint8Array): string {
  const text = lossy.decode(path.subarray(path[0] === 0x2e && path[1] === SLASH ? 1 : 0));
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`) || "/";
}
