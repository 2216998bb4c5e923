/**
 * A synchronous, push-based tar reader for layer streams: ustar, old v7,
 * GNU (long names and links, base-256 numbers) and pax (per-file and global
 * headers, `SCHILY.xattr.*`, `LIBARCHIVE.xattr.*`).
 *
 * Memory stays flat whatever the member sizes: file data is handed to the
 * handler as views of the pushed chunks, only header blocks that straddle
 * two chunks are copied (into one reused 512-byte buffer), and extension
 * header bodies are bounded by {@linkcode MAX_EXTENSION_SIZE}.
 *
 * @module
 */

import { Oci2LxcError } from "../errors.ts";
import { BLOCK_SIZE, checkHeader, decodeText, fieldEnd, parseNumeric } from "./_header_fields.ts";
import { parsePaxRecords, paxAclXattr } from "./_pax_records.ts";
import { displayName, type TarEntry, type TarEntryType, type TarHandler } from "./tar_entry.ts";

/**
 * Largest pax or GNU long-name body we accept, and the most extension data
 * that may pile up for one member or in the global pax state. A real path
 * or xattr set is far smaller; the bound keeps a hostile layer from making
 * us buffer without limit.
 */
export const MAX_EXTENSION_SIZE = 1024 * 1024;

/** Options for {@linkcode TarParser}. */
export interface TarParserOptions {
  /** What the stream is, for messages, e.g. `"layer sha256:ab12…"`. Default `"tar stream"`. */
  name?: string;
  /** Receives recoverable oddities: missing or short end marker, trailing data. */
  onWarning?: (message: string) => void;
}

// Parser states.
const HEADER = 0; // collecting a header block
const DATA = 1; // handing a regular file's content to the handler
const SKIP = 2; // discarding padding or data nobody reads
const EXTENSION = 3; // collecting a pax or GNU long-name body
const END = 4; // after the first zero block: everything is ignored
const DONE = 5; // finish() was called or an error was thrown

// Type flags that matter to the state machine.
const T_PAX = 0x78; // 'x'
const T_PAX_GLOBAL = 0x67; // 'g'
const T_LONG_NAME = 0x4c; // 'L'
const T_LONG_LINK = 0x4b; // 'K'

const SLASH = 0x2f;
const EMPTY = new Uint8Array(0);
const EMPTY_XATTRS: ReadonlyMap<string, Uint8Array> = new Map();

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
  0x44: "directory", // 'D' GNU dumpdir: a directory followed by a listing we skip
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

/** Header formats, told apart by the magic field. */
const V7 = 0;
const USTAR = 1;
const GNU = 2;

/**
 * Parses a tar stream pushed in chunks of any size and reports each member
 * to a {@linkcode TarHandler}, synchronously, from inside `push`.
 *
 * After `push` or `finish` throws, the parser is spent: later calls throw.
 *
 * @example Parsing an archive with no members
 * ```ts
 * import { TarParser } from "./tar_parser.ts";
 *
 * const names: string[] = [];
 * const parser = new TarParser({
 *   entry: (entry) => names.push(new TextDecoder().decode(entry.path)),
 *   data: () => {},
 *   entryEnd: () => {},
 * }, { name: "example" });
 * parser.push(new Uint8Array(1024)); // two zero blocks: the end-of-archive marker
 * parser.finish();
 * console.assert(names.length === 0);
 * ```
 */
export class TarParser {
  readonly #handler: TarHandler;
  readonly #name: string;
  readonly #onWarning: ((message: string) => void) | undefined;

  #state = HEADER;
  /** Bytes of the stream consumed so far. */
  #offset = 0;

  /** A header block that straddles chunks is assembled here. */
  readonly #block = new Uint8Array(BLOCK_SIZE);
  #blockFill = 0;

  /** DATA: content bytes left; SKIP: bytes left to discard. */
  #remaining = 0;
  /** Padding after the current file's content. */
  #padding = 0;
  /** The member whose data is flowing, for messages. */
  #current: TarEntry | undefined;

  /** An extension body that straddles chunks is assembled here; grows up to the limit. */
  #ext: Uint8Array = EMPTY;
  #extFill = 0;
  #extSize = 0;
  #extType = 0;
  #extOffset = 0;

  /** Extension state waiting for the member it describes. */
  #paxLocal: Map<string, Uint8Array> | undefined;
  #longName: Uint8Array | undefined;
  #longLink: Uint8Array | undefined;
  #pendingBytes = 0;
  /** Offset of the first extension header of the pending member, or -1. */
  #memberStart = -1;

  #paxGlobal: Map<string, Uint8Array> | undefined;
  #globalBytes = 0;

  /** Offset of the first zero block, once seen. */
  #endAt = -1;
  #junkSeen = false;

  /**
   * @param handler receives members and their data, synchronously
   * @param options a name for messages and a warning sink
   */
  constructor(handler: TarHandler, options: TarParserOptions = {}) {
    this.#handler = handler;
    this.#name = options.name ?? "tar stream";
    this.#onWarning = options.onWarning;
  }

  /** Bytes consumed so far (the caller's whole input, including ignored trailing data). */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Feed the next chunk of the stream. Handler calls for every member that
   * this chunk completes happen before `push` returns; data views are only
   * valid during the `data` call.
   *
   * @throws {Oci2LxcError} code `image` when the stream is not a valid tar
   */
  push(chunk: Uint8Array): void {
    if (this.#state === DONE) throw this.#spent();
    try {
      this.#consume(chunk);
    } catch (err) {
      this.#state = DONE;
      throw err;
    }
  }

  /**
   * Signal the end of the stream. Accepts a stream that ends cleanly after a
   * member without an end-of-archive marker (with a warning), as GNU tar does.
   *
   * @throws {Oci2LxcError} code `image` when the stream ends inside a header or member
   */
  finish(): void {
    if (this.#state === DONE) throw this.#spent();
    const state = this.#state;
    this.#state = DONE;
    switch (state) {
      case HEADER:
        if (this.#blockFill > 0) {
          throw this.#error(
            `stream ends ${this.#blockFill} bytes into a header block`,
            this.#offset - this.#blockFill,
          );
        }
        if (this.#memberStart >= 0) {
          throw this.#error(
            "stream ends after an extended header, before its member",
            this.#offset,
          );
        }
        this.#warn(
          this.#offset === 0
            ? "stream is empty; treating it as an archive with no members"
            : `no end-of-archive marker; the stream ends after the last member at byte ${this.#offset}`,
        );
        return;
      case DATA:
        throw this.#error(
          `member "${displayName(this.#current!.path)}" is truncated, ${this.#remaining} bytes of data missing`,
          this.#offset,
        );
      case SKIP:
        throw this.#error(
          `stream ends ${this.#remaining} bytes before the end of a member's last block`,
          this.#offset,
        );
      case EXTENSION:
        throw this.#error(
          `stream ends inside an extended header body (${this.#extSize - this.#extFill} bytes missing)`,
          this.#offset,
        );
      case END:
        if (!this.#junkSeen && this.#offset - this.#endAt < 2 * BLOCK_SIZE) {
          this.#warnLoneZeroBlock();
        }
        return;
    }
  }

  #consume(chunk: Uint8Array): void {
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      switch (this.#state) {
        case HEADER: {
          if (this.#blockFill === 0 && len - pos >= BLOCK_SIZE) {
            const at = this.#offset;
            this.#offset += BLOCK_SIZE;
            pos += BLOCK_SIZE;
            this.#header(chunk, pos - BLOCK_SIZE, at);
          } else {
            const n = Math.min(BLOCK_SIZE - this.#blockFill, len - pos);
            this.#block.set(chunk.subarray(pos, pos + n), this.#blockFill);
            this.#blockFill += n;
            this.#offset += n;
            pos += n;
            if (this.#blockFill === BLOCK_SIZE) {
              this.#blockFill = 0;
              this.#header(this.#block, 0, this.#offset - BLOCK_SIZE);
            }
          }
          break;
        }
        case DATA: {
          const n = Math.min(this.#remaining, len - pos);
          const view = chunk.subarray(pos, pos + n);
          pos += n;
          this.#offset += n;
          this.#remaining -= n;
          this.#handler.data(view);
          if (this.#remaining === 0) {
            this.#current = undefined;
            this.#skipThenHeader(this.#padding);
            this.#handler.entryEnd();
          }
          break;
        }
        case SKIP: {
          const n = Math.min(this.#remaining, len - pos);
          pos += n;
          this.#offset += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = HEADER;
          break;
        }
        case EXTENSION: {
          const size = this.#extSize;
          if (this.#extFill === 0 && len - pos >= size) {
            pos += size;
            this.#offset += size;
            this.#extension(chunk, pos - size, pos);
          } else {
            const n = Math.min(size - this.#extFill, len - pos);
            this.#ext.set(chunk.subarray(pos, pos + n), this.#extFill);
            this.#extFill += n;
            this.#offset += n;
            pos += n;
            if (this.#extFill < size) break;
            this.#extFill = 0;
            this.#extension(this.#ext, 0, size);
          }
          this.#skipThenHeader(padding(size));
          break;
        }
        case END: {
          if (!this.#junkSeen) {
            for (let i = pos; i < len; i++) {
              if (chunk[i] !== 0) {
                this.#trailingJunk(this.#offset + (i - pos));
                break;
              }
            }
          }
          this.#offset += len - pos;
          pos = len;
          break;
        }
      }
    }
  }

  #skipThenHeader(bytes: number): void {
    if (bytes > 0) {
      this.#state = SKIP;
      this.#remaining = bytes;
    } else {
      this.#state = HEADER;
    }
  }

  /** Handle the header block at `b[p]`, which starts at stream offset `at`. */
  #header(b: Uint8Array, p: number, at: number): void {
    const check = checkHeader(b, p);
    if (check.kind === "zero") {
      if (this.#memberStart >= 0) {
        throw this.#error(
          "end-of-archive marker follows an extended header, before its member",
          at,
        );
      }
      this.#endAt = at;
      this.#state = END;
      return;
    }
    if (check.kind === "bad") {
      throw this.#error(
        `header checksum does not match (recorded ${
          Number.isNaN(check.recorded) ? "unreadable" : check.recorded
        }, computed ${check.computed}); this is not a tar header or the stream is corrupt`,
        at,
      );
    }
    const typeflag = b[p + 156]!;
    const size = parseNumeric(b, p + 124, 12);
    if (!(size >= 0)) {
      throw this.#error(
        `header has an invalid size field${this.#nameAt(b, p)}`,
        at,
      );
    }
    const global = typeflag === T_PAX_GLOBAL;
    // A global header describes no member, so it does not start one.
    if (!global && this.#memberStart < 0) this.#memberStart = at;
    if (
      !global && typeflag !== T_PAX && typeflag !== T_LONG_NAME &&
      typeflag !== T_LONG_LINK
    ) {
      this.#member(b, p, typeflag, size);
      return;
    }
    if (!global) this.#pendingBytes += size;
    if (size > MAX_EXTENSION_SIZE || this.#pendingBytes > MAX_EXTENSION_SIZE) {
      throw this.#error(
        `extended header of ${size} bytes${this.#nameAt(b, p)} exceeds the limit of ${MAX_EXTENSION_SIZE} bytes`,
        at,
      );
    }
    this.#extType = typeflag;
    this.#extSize = size;
    this.#extOffset = at;
    if (size === 0) {
      this.#extension(EMPTY, 0, 0);
      return;
    }
    if (this.#ext.length < size) {
      this.#ext = new Uint8Array(
        Math.min(
          MAX_EXTENSION_SIZE,
          Math.max(size, 2 * this.#ext.length, 4096),
        ),
      );
    }
    this.#extFill = 0;
    this.#state = EXTENSION;
  }

  /** ` for "name"` from a header's own name field, for messages about that header. */
  #nameAt(b: Uint8Array, p: number): string {
    const end = fieldEnd(b, p, 100);
    return end === p ? "" : ` for "${displayName(b.subarray(p, end))}"`;
  }

  /** A pax or GNU long-name body, complete in `b[start, end)`. */
  #extension(b: Uint8Array, start: number, end: number): void {
    switch (this.#extType) {
      case T_LONG_NAME:
        this.#longName = b.slice(start, fieldEnd(b, start, end - start));
        return;
      case T_LONG_LINK:
        this.#longLink = b.slice(start, fieldEnd(b, start, end - start));
        return;
      case T_PAX:
        this.#paxLocal ??= new Map();
        this.#parsePax(b, start, end, this.#paxLocal);
        return;
      case T_PAX_GLOBAL: {
        const records = new Map<string, Uint8Array>();
        this.#parsePax(b, start, end, records);
        const global = this.#paxGlobal ?? new Map<string, Uint8Array>();
        for (const [key, value] of records) {
          const old = global.get(key);
          if (old) this.#globalBytes -= key.length + old.length;
          // An empty value removes the keyword (POSIX pax "keyword=").
          if (value.length === 0) {
            global.delete(key);
          } else {
            global.set(key, value);
            this.#globalBytes += key.length + value.length;
          }
        }
        if (this.#globalBytes > MAX_EXTENSION_SIZE) {
          throw this.#error(
            `global pax headers hold more than ${MAX_EXTENSION_SIZE} bytes`,
            this.#extOffset,
          );
        }
        this.#paxGlobal = global.size > 0 ? global : undefined;
        return;
      }
    }
  }

  #parsePax(
    b: Uint8Array,
    start: number,
    end: number,
    into: Map<string, Uint8Array>,
  ): void {
    try {
      parsePaxRecords(b, start, end, into);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      throw this.#error(
        `malformed pax header: ${err.message}`,
        this.#extOffset,
        err,
      );
    }
  }

  /** A member header at `b[p]`: fold in pending extensions, report it, set up its data. */
  #member(
    b: Uint8Array,
    p: number,
    typeflag: number,
    headerSize: number,
  ): void {
    const at = this.#memberStart;
    const format = b[p + 257] === 0x75 && b[p + 258] === 0x73 && b[p + 259] === 0x74 &&
        b[p + 260] === 0x61 && b[p + 261] === 0x72 // "ustar"
      ? (b[p + 262] === 0 ? USTAR : GNU) // "ustar\0" + "00", or GNU "ustar  \0"
      : V7;

    // Fields from the header block.
    let path: Uint8Array;
    if (this.#longName !== undefined) {
      path = this.#longName;
    } else {
      const nameEnd = fieldEnd(b, p, 100);
      // star puts atime/ctime after a 131-byte prefix and marks it with "tar\0" at 508.
      const prefixLength = b[p + 508] === 0x74 && b[p + 509] === 0x61 && b[p + 510] === 0x72 &&
          b[p + 511] === 0
        ? 131
        : 155;
      const prefixEnd = format === USTAR ? fieldEnd(b, p + 345, prefixLength) : p + 345;
      if (prefixEnd > p + 345) {
        path = new Uint8Array(prefixEnd - (p + 345) + 1 + nameEnd - p);
        path.set(b.subarray(p + 345, prefixEnd));
        path[prefixEnd - (p + 345)] = SLASH;
        path.set(b.subarray(p, nameEnd), prefixEnd - (p + 345) + 1);
      } else {
        path = b.subarray(p, nameEnd);
      }
    }
    let linkPath = this.#longLink ??
      b.subarray(p + 157, fieldEnd(b, p + 157, 100));
    const mode = parseNumeric(b, p + 100, 8);
    let uid = parseNumeric(b, p + 108, 8);
    let gid = parseNumeric(b, p + 116, 8);
    let mtime = parseNumeric(b, p + 136, 12);
    let size = headerSize;
    let atime: number | undefined;
    let uname = "";
    let gname = "";
    let devMajor = 0;
    let devMinor = 0;
    if (format !== V7) {
      uname = decodeText(b, p + 265, fieldEnd(b, p + 265, 32));
      gname = decodeText(b, p + 297, fieldEnd(b, p + 297, 32));
    }

    // pax records override the header; a local record overrides a global one.
    let records = this.#paxLocal;
    if (this.#paxGlobal !== undefined) {
      if (records === undefined) {
        records = this.#paxGlobal;
      } else {
        const merged = new Map(this.#paxGlobal);
        for (const [key, value] of records) merged.set(key, value);
        records = merged;
      }
    }
    let xattrs: Map<string, Uint8Array> | undefined;
    let acls: [string, Uint8Array][] | undefined;
    let sparseName: Uint8Array | undefined;
    let badKey: string | undefined;
    if (records !== undefined) {
      for (const [key, value] of records) {
        if (key.startsWith("SCHILY.xattr.")) {
          xattrs ??= new Map();
          xattrs.set(key.slice(13), value.slice());
          continue;
        }
        if (key.startsWith("LIBARCHIVE.xattr.")) {
          const decoded = decodeLibarchiveXattr(key.slice(17), value);
          if (decoded === undefined) {
            this.#warn(
              `ignoring undecodable pax record ${key} in member at byte ${at}`,
            );
            continue;
          }
          xattrs ??= new Map();
          xattrs.set(decoded[0], decoded[1]);
          continue;
        }
        const acl = paxAclXattr(key, value);
        if (typeof acl === "string") {
          this.#warn(`ignoring pax record ${key} in member at byte ${at}: ${acl}`);
          continue;
        }
        if (acl !== undefined) (acls ??= []).push(acl);
        if (key.startsWith("SCHILY.acl.")) continue;
        if (key.startsWith("GNU.sparse.")) {
          if (key === "GNU.sparse.name") sparseName = value;
          else sparseName ??= EMPTY;
          continue;
        }
        // An empty value means "use the header's field" (POSIX pax).
        if (value.length === 0) continue;
        switch (key) {
          case "path":
            path = value;
            break;
          case "linkpath":
            linkPath = value;
            break;
          case "size":
            size = parseDecimal(value);
            if (Number.isNaN(size)) badKey = key;
            break;
          case "uid":
            uid = parseDecimal(value);
            if (Number.isNaN(uid)) badKey = key;
            break;
          case "gid":
            gid = parseDecimal(value);
            if (Number.isNaN(gid)) badKey = key;
            break;
          case "uname":
            uname = decodeText(value, 0, value.length);
            break;
          case "gname":
            gname = decodeText(value, 0, value.length);
            break;
          case "mtime":
            mtime = parseTime(value);
            if (Number.isNaN(mtime)) badKey = key;
            break;
          case "atime":
            atime = parseTime(value);
            if (Number.isNaN(atime)) badKey = key;
            break;
        }
      }
      // GNU tar's ACL records become the xattrs they stand for; an xattr record of the same name wins.
      for (const [name, value] of acls ?? []) {
        xattrs ??= new Map();
        if (!xattrs.has(name)) xattrs.set(name, value);
      }
    }

    // Trailing slashes name directories; the rootfs wants the bare path.
    let pathEnd = path.length;
    while (pathEnd > 1 && path[pathEnd - 1] === SLASH) pathEnd--;
    const hadSlash = pathEnd < path.length;
    const entryPath = path.slice(0, pathEnd);
    const shown = () => `member "${displayName(entryPath)}"`;

    if (badKey !== undefined) {
      const value = records!.get(badKey)!;
      throw this.#error(
        `${shown()} has an invalid pax ${badKey} "${displayName(value)}"`,
        at,
      );
    }
    if (sparseName !== undefined) {
      const name = sparseName.length > 0 ? `member "${displayName(sparseName)}"` : shown();
      throw this.#error(
        `${name} is a GNU sparse file, which is not supported`,
        at,
      );
    }
    let type = TYPES[typeflag];
    if (type === undefined) {
      const what = UNSUPPORTED[typeflag] ?? "unknown to this reader";
      throw this.#error(
        `${shown()} has unsupported type '${typeName(typeflag)}' (${what})`,
        at,
      );
    }
    // Old tars mark directories only by the trailing slash on a "file".
    if (type === "file" && hadSlash) type = "directory";
    if (!(mode >= 0)) {
      throw this.#error(`${shown()} has an invalid mode field`, at);
    }
    if (!(uid >= 0)) {
      throw this.#error(`${shown()} has an invalid uid field`, at);
    }
    if (!(gid >= 0)) {
      throw this.#error(`${shown()} has an invalid gid field`, at);
    }
    if (Number.isNaN(mtime)) {
      throw this.#error(`${shown()} has an invalid mtime field`, at);
    }
    if (type === "char" || type === "block") {
      devMajor = parseNumeric(b, p + 329, 8);
      devMinor = parseNumeric(b, p + 337, 8);
      if (!(devMajor >= 0 && devMinor >= 0)) {
        throw this.#error(`${shown()} has an invalid device number`, at);
      }
    }

    // Only regular files carry data; GNU tar, Go and Python ignore the size
    // field of links, devices and directories. A GNU dumpdir's listing is
    // data, but nobody needs it.
    const isFile = type === "file";
    const dataSize = isFile || typeflag === 0x44 ? size : 0;
    const entry: TarEntry = {
      path: entryPath,
      linkPath: type === "symlink" || type === "hardlink" ? linkPath.slice() : EMPTY,
      type,
      mode: mode & 0o7777,
      uid,
      gid,
      size: isFile ? size : 0,
      mtime,
      atime,
      devMajor,
      devMinor,
      uname,
      gname,
      xattrs: xattrs ?? EMPTY_XATTRS,
      offset: at,
    };

    // The pending extension state is used up, whatever the handler does.
    this.#paxLocal = undefined;
    this.#longName = undefined;
    this.#longLink = undefined;
    this.#pendingBytes = 0;
    this.#memberStart = -1;

    if (isFile && dataSize > 0) {
      this.#current = entry;
      this.#remaining = dataSize;
      this.#padding = padding(dataSize);
      this.#state = DATA;
      this.#handler.entry(entry);
      return;
    }
    this.#skipThenHeader(dataSize + padding(dataSize));
    this.#handler.entry(entry);
    this.#handler.entryEnd();
  }

  #trailingJunk(at: number): void {
    this.#junkSeen = true;
    if (at < this.#endAt + 2 * BLOCK_SIZE) this.#warnLoneZeroBlock();
    this.#warn(
      `ignoring data after the end-of-archive marker, from byte ${at}`,
    );
  }

  #warnLoneZeroBlock(): void {
    this.#warn(
      `end-of-archive marker is a single zero block at byte ${this.#endAt}`,
    );
  }

  #warn(message: string): void {
    this.#onWarning?.(`${this.#name}: ${message}`);
  }

  #error(reason: string, at: number, cause?: unknown): Oci2LxcError {
    return new Oci2LxcError(
      "image",
      `Cannot read ${this.#name}: ${reason} at byte ${at}`,
      {
        cause,
      },
    );
  }

  #spent(): Oci2LxcError {
    return new Oci2LxcError(
      "image",
      `Cannot read ${this.#name}: the parser has already finished or failed`,
    );
  }
}

/** Bytes of padding after `size` bytes of content, to the next block. */
function padding(size: number): number {
  const rest = size % BLOCK_SIZE;
  return rest === 0 ? 0 : BLOCK_SIZE - rest;
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
 * libarchive writes `LIBARCHIVE.xattr.<url-encoded name>=<base64 value>`.
 * Returns undefined when either part does not decode.
 */
function decodeLibarchiveXattr(
  encodedName: string,
  value: Uint8Array,
): [string, Uint8Array] | undefined {
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

/** A type flag for messages: the character, or `\xNN` when not printable. */
function typeName(typeflag: number): string {
  return typeflag >= 0x21 && typeflag < 0x7f
    ? String.fromCharCode(typeflag)
    : `\\x${typeflag.toString(16).padStart(2, "0")}`;
}
