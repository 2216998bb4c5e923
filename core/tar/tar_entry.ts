/**
 * One member of a tar stream, after pax and GNU extension headers have been folded in. Names are bytes: a tar name need
 * not be UTF-8, and the rootfs must reproduce it byte for byte.
 *
 * @module
 */

/** The kinds of member a layer can hold. */
export type TarEntryType =
  | "file"
  | "directory"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo";

/** A tar member header with every extension applied. */
export interface TarEntry {
  /** The member name as raw bytes (pax `path` or GNU long name applied), without trailing slash. */
  readonly path: Uint8Array;
  /** Link target as raw bytes for symlinks and hardlinks; empty otherwise. */
  readonly linkPath: Uint8Array;
  readonly type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Content size in bytes; 0 for everything but regular files. */
  readonly size: number;
  /** Modification time in seconds since the epoch, with fractions from pax. */
  readonly mtime: number;
  /** Access time in seconds, when a pax header gave one. */
  readonly atime: number | undefined;
  readonly devMajor: number;
  readonly devMinor: number;
  readonly uname: string;
  readonly gname: string;
  /** Extended attributes from `SCHILY.xattr.NAME` pax records; values are bytes. */
  readonly xattrs: ReadonlyMap<string, Uint8Array>;
  /** Byte offset of this member's first header in the uncompressed stream, for error messages. */
  readonly offset: number;
}

/**
 * Receives a tar stream's members as they are parsed. Chunks passed to `data` are views into the parser's buffer: they
 * are valid only during the call, so write or copy them before returning.
 */
export interface TarHandler {
  /** A member's header; for regular files `data` calls follow, then `entryEnd`. */
  entry(entry: TarEntry): void;
  /** Part of the current regular file's content, in order. */
  data(chunk: Uint8Array): void;
  /** The current member is complete. */
  entryEnd(): void;
}

// deno-lint-ignore no-control-regex
const CONTROL_CHARACTERS = /[\x00-\x1f\x7f]/g;

/** Decode a byte name for messages; invalid UTF-8 becomes U+FFFD, control characters are escaped. */
export function displayName(bytes: Uint8Array): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  return text.replace(
    CONTROL_CHARACTERS,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}
