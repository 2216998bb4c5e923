/**
 * Byte-level helpers for tar member names: lexical cleaning clamped at the root, the PATH_MAX/NAME_MAX limits a rootfs
 * path must keep, and a lossless string form of byte paths for map keys.
 *
 * @module
 */

import { displayName } from "../tar/tar_entry.ts";

const SLASH = 0x2f;
const DOT = 0x2e;

/** A member name after cleaning: relative, no `.`/`..`/empty components. */
export interface CleanPath {
  /** The cleaned path, components joined by `/`; empty for the root. */
  readonly path: Uint8Array;
  /** Where the last component starts in `path` (0 when there is one component or none). */
  readonly nameStart: number;
  /** The name had `..` components (now resolved lexically, clamped at the root). */
  readonly hadDotDot: boolean;
  /** The name started with `/`. */
  readonly absolute: boolean;
}

/**
 * Clean a member name the way `filepath.Clean("/" + name)` does (umoci, containerd): drop empty and `.` components,
 * resolve `..` against the components before it and never above the root. The result never starts with `/`. Names that
 * need no change are returned as views, not copies.
 *
 * @example Cleaning a hostile name
 * ```ts
 * import assert from "node:assert/strict";
 * import { cleanPath } from "./entry_path.ts";
 * const clean = cleanPath(new TextEncoder().encode("/a/../../etc/passwd"));
 * assert.equal(new TextDecoder().decode(clean.path), "etc/passwd");
 * assert(clean.hadDotDot && clean.absolute);
 * ```
 */
export function cleanPath(name: Uint8Array): CleanPath {
  if (isClean(name)) {
    return {
      path: name,
      nameStart: name.lastIndexOf(SLASH) + 1,
      hadDotDot: false,
      absolute: false,
    };
  }
  const parts: Uint8Array[] = [];
  let hadDotDot = false;
  let start = 0;
  for (let i = 0; i <= name.length; i++) {
    if (i < name.length && name[i] !== SLASH) continue;
    const len = i - start;
    if (len === 0 || (len === 1 && name[start] === DOT)) {
      // empty or "."
    } else if (len === 2 && name[start] === DOT && name[start + 1] === DOT) {
      hadDotDot = true;
      parts.pop();
    } else {
      parts.push(name.subarray(start, i));
    }
    start = i + 1;
  }
  const path = joinParts(parts);
  const last = parts[parts.length - 1];
  return {
    path,
    nameStart: last === undefined ? 0 : path.length - last.length,
    hadDotDot,
    absolute: name[0] === SLASH,
  };
}

/** True when the name has no empty, `.` or `..` component and no leading or trailing slash. */
function isClean(name: Uint8Array): boolean {
  const n = name.length;
  if (n === 0 || name[0] === SLASH || name[n - 1] === SLASH) return n === 0;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && name[i] !== SLASH) continue;
    const len = i - start;
    if (len === 0) return false;
    if (
      name[start] === DOT &&
      (len === 1 || (len === 2 && name[start + 1] === DOT))
    ) return false;
    start = i + 1;
  }
  return true;
}

/** Join components with `/`. */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  let len = parts.length === 0 ? 0 : parts.length - 1;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) out[off++] = SLASH;
    out.set(parts[i]!, off);
    off += parts[i]!.length;
  }
  return out;
}

/** Split a path on `/`, keeping empty, `.` and `..` components (views, not copies). */
export function splitPath(path: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i < path.length && path[i] !== SLASH) continue;
    parts.push(path.subarray(start, i));
    start = i + 1;
  }
  return parts;
}

/**
 * A lossless string form of bytes (one char per byte, U+0000–U+00FF), used as a map key and for canonical paths. Not
 * for display: use `displayName`.
 */
export function bytesKey(bytes: Uint8Array): string {
  if (bytes.length <= 4096) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, i + 4096) as unknown as number[],
    );
  }
  return out;
}

/** The bytes of a key made by {@linkcode bytesKey}. */
export function keyBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/** `parent/name` for keys, where the root is the empty key. */
export function joinKey(parent: string, name: string): string {
  return parent === "" ? name : `${parent}/${name}`;
}

/** The parent of a key; the root's parent is the root. */
export function parentKey(key: string): string {
  const i = key.lastIndexOf("/");
  return i < 0 ? "" : key.slice(0, i);
}

/** Number of components of a key (0 for the root). */
export function keyDepth(key: string): number {
  if (key === "") return 0;
  let depth = 1;
  for (let i = key.indexOf("/"); i >= 0; i = key.indexOf("/", i + 1)) depth++;
  return depth;
}

/** True when `bytes` equals the ASCII string `text`. */
export function bytesEqualAscii(bytes: Uint8Array, text: string): boolean {
  if (bytes.length !== text.length) return false;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

/** Bytewise order of two names (what `sort` gives in the C locale). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** True when `bytes` starts with the ASCII string `prefix`. */
export function bytesStartAscii(bytes: Uint8Array, prefix: string): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[i] !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The longest path a rootfs may hold, in bytes, as the container sees it (`/` plus the path below the root): Linux's
 * PATH_MAX is 4096 with the terminating NUL. Longer paths cannot be named by any program inside the container, and
 * walking them costs work in proportion to their depth.
 */
export const MAX_PATH_BYTES = 4095;

/** The longest name of one path component, in bytes: Linux's NAME_MAX. */
export const MAX_NAME_BYTES = 255;

/** A path that breaks {@linkcode MAX_PATH_BYTES} or {@linkcode MAX_NAME_BYTES}; `reason` says which and how. */
export class PathLimitError extends RangeError {
  /** Why the path is refused, e.g. `the path is 6001 bytes long …`. */
  readonly reason: string;

  constructor(reason: string) {
    super(reason);
    this.name = "PathLimitError";
    this.reason = reason;
  }
}

/**
 * Check a cleaned path (relative, as {@linkcode cleanPath} returns it) against the limits; `what` names it in the
 * reason ("the path", "the link target"). Linear in the path's length.
 *
 * @throws {PathLimitError} when the path or one of its components is too long
 */
export function checkPathLimits(path: Uint8Array, what: string): void {
  if (path.length + 1 > MAX_PATH_BYTES) {
    throw new PathLimitError(
      `${what} is ${path.length + 1} bytes long as an absolute path; ` +
        `Linux allows at most ${MAX_PATH_BYTES} (PATH_MAX)`,
    );
  }
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i < path.length && path[i] !== SLASH) continue;
    if (i - start > MAX_NAME_BYTES) {
      throw new PathLimitError(
        `${what} has a component of ${i - start} bytes (${
          shortName(path.subarray(start, i), 24)
        }); Linux allows at most ${MAX_NAME_BYTES} (NAME_MAX)`,
      );
    }
    start = i + 1;
  }
}

/**
 * A name for messages: control characters escaped, invalid UTF-8 as U+FFFD, and cut to about `max` characters with its
 * length in bytes, so a 900 KB name does not fill the terminal.
 */
export function shortName(bytes: Uint8Array, max = 120): string {
  if (bytes.length <= max) return displayName(bytes);
  // Decode a little more than needed so a character cut at the end does not show.
  const head = [...displayName(bytes.subarray(0, max + 4))].slice(0, max).join("");
  return `${head}… (${bytes.length} bytes)`;
}
