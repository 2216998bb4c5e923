/**
 * A synchronous, push-based tar writer in POSIX pax format: every member gets a ustar header, and a pax extended header
 * (`x`) goes before it only when a field does not fit ustar: a long name or link target, an id or size beyond the octal
 * fields, a negative or fractional mtime, extended attributes (`SCHILY.xattr.NAME`, the form GNU tar and libarchive
 * read), POSIX ACLs (`SCHILY.acl.access` / `SCHILY.acl.default`, the form that `tar --acls` restores).
 *
 * Names are bytes and are written byte for byte; when a pax `path` or `linkpath` is not UTF-8, `hdrcharset=BINARY`
 * tells readers not to convert it. Numbers that overflow an octal field are also written there in GNU base-256, so
 * readers without pax still get them right.
 *
 * Memory stays flat: output goes through one reused buffer, and large data chunks go to the sink as they are.
 *
 * @module
 */

import { BLOCK_SIZE } from "./_header_fields.ts";
import { displayName, type TarEntryType } from "./tar_entry.ts";

/** Receives the archive in order; the chunk is valid only during the call. */
export type TarSink = (chunk: Uint8Array) => void;

/** One member to write. */
export interface TarWriterEntry {
  /** The member name as bytes, written as given; directories get a trailing `/` if they lack one. */
  readonly path: Uint8Array;
  readonly type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky (0 to 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Content size for regular files; ignored (0) for every other type. */
  readonly size?: number;
  /** Modification time: whole seconds since the epoch (may be negative). */
  readonly mtime: number;
  /** Nanoseconds to add to `mtime` (0 to 999999999); written as a pax fraction. */
  readonly mtimeNsec?: number;
  /** Target of a symlink (verbatim) or hardlink (another member's name). */
  readonly linkPath?: Uint8Array;
  readonly devMajor?: number;
  readonly devMinor?: number;
  /** Owner names; empty by default (readers then use the numeric ids). */
  readonly uname?: string;
  readonly gname?: string;
  /** Extended attributes, written as `SCHILY.xattr.NAME` records in this order. */
  readonly xattrs?: Iterable<readonly [string, Uint8Array]>;
  /** POSIX ACLs in GNU tar's text form (`user::rw-\n…`, see `core/rootfs/posix_acl.ts`). */
  readonly acls?: { readonly access?: string | undefined; readonly default?: string | undefined };
}

/** Options for {@linkcode TarWriter}. */
export interface TarWriterOptions {
  /** Size of the reused output buffer; 1 MiB by default, at least 4 KiB. */
  bufferSize?: number;
}

const TYPEFLAGS: Readonly<Record<TarEntryType, number>> = {
  file: 0x30,
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  directory: 0x35,
  fifo: 0x36,
};
const T_PAX = 0x78;

const SLASH = 0x2f;
const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;
/** Chunks at least this large skip the buffer. */
const DIRECT_WRITE = 64 * 1024;

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const PAX_DIR = encoder.encode("./PaxHeaders/");
const USTAR_MAGIC = encoder.encode("ustar\x0000");

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Write `value` as zero-padded octal in `length - 1` digits and a NUL. */
function putOctal(b: Uint8Array, at: number, length: number, value: number): void {
  const text = value.toString(8).padStart(length - 1, "0");
  for (let i = 0; i < length - 1; i++) b[at + i] = text.charCodeAt(i);
  b[at + length - 1] = 0;
}

/** Write `value` as GNU base-256 (big-endian two's complement, high bit of the first byte set). */
function putBase256(b: Uint8Array, at: number, length: number, value: number): void {
  let v = BigInt(value);
  if (v < 0n) v += 1n << BigInt(8 * length); // two's complement over the whole field
  for (let i = length - 1; i >= 0; i--) {
    b[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  b[at] = b[at]! | 0x80;
}

/** An octal field, or base-256 when the value does not fit; returns whether octal was used. */
function putNumber(b: Uint8Array, at: number, length: number, value: number): boolean {
  const max = length === 8 ? MAX_OCTAL_8 : MAX_OCTAL_12;
  if (value >= 0 && value <= max) {
    putOctal(b, at, length, value);
    return true;
  }
  putBase256(b, at, length, value);
  return false;
}

function putText(b: Uint8Array, at: number, length: number, text: string): void {
  const bytes = encoder.encode(text);
  b.set(bytes.subarray(0, length), at);
}

/** The decimal text of `sec + nsec / 1e9` with trailing zeros dropped, as pax `mtime` wants. */
function paxTime(sec: number, nsec: number): string {
  if (nsec === 0) return String(sec);
  if (sec >= 0) return `${sec}.${String(nsec).padStart(9, "0").replace(/0+$/, "")}`;
  // -2 s + 0.5 s is -1.5 s.
  const whole = -(sec + 1);
  const frac = 1_000_000_000 - nsec;
  return `-${whole}.${String(frac).padStart(9, "0").replace(/0+$/, "")}`;
}

/**
 * Writes a tar archive member by member to a sink, synchronously.
 *
 * Call {@linkcode TarWriter.add} for each member; for a regular file, follow it with {@linkcode TarWriter.write}
 * calls that together give exactly `size` bytes (the block padding is written after the last one). End with
 * {@linkcode TarWriter.finish}, which writes the end-of-archive marker.
 *
 * @example Writing one file
 * ```ts
 * import assert from "node:assert/strict";
 * import { TarWriter } from "./tar_writer.ts";
 * const parts: Uint8Array[] = [];
 * const tar = new TarWriter((chunk) => parts.push(chunk.slice()));
 * const data = new TextEncoder().encode("hello\n");
 * tar.add({ path: new TextEncoder().encode("./hello.txt"), type: "file", mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0 });
 * tar.write(data);
 * tar.finish();
 * // One header block, one data block, two zero blocks at the end.
 * assert.equal(parts.reduce((n, p) => n + p.length, 0), 4 * 512);
 * ```
 */
export class TarWriter {
  readonly #sink: TarSink;
  readonly #buffer: Uint8Array;
  #fill = 0;
  readonly #header = new Uint8Array(BLOCK_SIZE);
  /** Data bytes still owed for the current file. */
  #remaining = 0;
  /** Padding after the current file's data. */
  #padding = 0;
  #current: Uint8Array | undefined;
  #members = 0;
  #bytes = 0;
  #finished = false;

  /**
   * @param sink receives the archive in order, as views of a reused buffer or of the caller's data chunks
   * @param options the output buffer size
   */
  constructor(sink: TarSink, options: TarWriterOptions = {}) {
    const size = options.bufferSize ?? 1 << 20;
    if (!Number.isSafeInteger(size) || size < 4096) {
      throw new RangeError(`Cannot create a tar writer: buffer size ${size} is out of range`);
    }
    this.#sink = sink;
    this.#buffer = new Uint8Array(size);
  }

  /** Members written so far (extended headers not counted). */
  get members(): number {
    return this.#members;
  }

  /** Archive bytes produced so far, including what is still buffered. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Write the headers of one member. For a regular file with data, the data must follow through
   * {@linkcode TarWriter.write} before the next `add`.
   *
   * @throws {TypeError} when the previous file's data is incomplete or the writer is finished
   * @throws {RangeError} when a field is out of range (mode, negative id, bad xattr name)
   */
  add(entry: TarWriterEntry): void {
    this.#checkOpen();
    if (this.#remaining > 0) {
      throw new TypeError(
        `Cannot add a tar member: ${this.#remaining} bytes of ${displayName(this.#current!)} are still missing`,
      );
    }
    const path = entry.type === "directory" && entry.path[entry.path.length - 1] !== SLASH
      ? concat(entry.path, new Uint8Array([SLASH]))
      : entry.path;
    const xattrs = entry.xattrs === undefined ? [] : [...entry.xattrs];
    validate(entry, path, xattrs);
    const size = entry.type === "file" ? entry.size ?? 0 : 0;
    const link = entry.linkPath ?? new Uint8Array(0);
    const nsec = entry.mtimeNsec ?? 0;

    const h = this.#header;
    h.fill(0);
    const records: [string, Uint8Array][] = [];
    let binary = false;

    // Name: ustar name, or prefix + "/" + name, or a pax path.
    if (path.length <= 100) {
      h.set(path, 0);
    } else {
      const split = ustarSplit(path);
      if (split > 0) {
        h.set(path.subarray(split + 1), 0);
        h.set(path.subarray(0, split), 345);
      } else {
        h.set(path.subarray(0, 100), 0);
        records.push(["path", path]);
        binary ||= !isUtf8(path);
      }
    }
    putOctal(h, 100, 8, entry.mode);
    if (!putNumber(h, 108, 8, entry.uid)) records.push(["uid", encoder.encode(String(entry.uid))]);
    if (!putNumber(h, 116, 8, entry.gid)) records.push(["gid", encoder.encode(String(entry.gid))]);
    if (!putNumber(h, 124, 12, size)) records.push(["size", encoder.encode(String(size))]);
    if (!putNumber(h, 136, 12, entry.mtime) || nsec !== 0) {
      records.push(["mtime", encoder.encode(paxTime(entry.mtime, nsec))]);
    }
    h[156] = TYPEFLAGS[entry.type];
    if (link.length <= 100) {
      h.set(link, 157);
    } else {
      h.set(link.subarray(0, 100), 157);
      records.push(["linkpath", link]);
      binary ||= !isUtf8(link);
    }
    h.set(USTAR_MAGIC, 257);
    putText(h, 265, 32, entry.uname ?? "");
    putText(h, 297, 32, entry.gname ?? "");
    if (entry.type === "char" || entry.type === "block") {
      putNumber(h, 329, 8, entry.devMajor ?? 0);
      putNumber(h, 337, 8, entry.devMinor ?? 0);
    }
    // GNU tar writes the ACL records before the xattrs.
    if (entry.acls?.access !== undefined) records.push(["SCHILY.acl.access", encoder.encode(entry.acls.access)]);
    if (entry.acls?.default !== undefined) records.push(["SCHILY.acl.default", encoder.encode(entry.acls.default)]);
    for (const [name, value] of xattrs) {
      records.push([`SCHILY.xattr.${name}`, value]);
    }
    if (binary) records.unshift(["hdrcharset", encoder.encode("BINARY")]);

    if (records.length > 0) this.#paxHeader(path, entry.mtime, records);
    checksum(h);
    this.#append(h);
    this.#members++;
    this.#current = path;
    this.#remaining = size;
    this.#padding = (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
  }

  /**
   * Write part of the current file's data.
   *
   * @throws {TypeError} when more bytes arrive than the member's size
   */
  write(chunk: Uint8Array): void {
    this.#checkOpen();
    if (chunk.length === 0) return;
    if (chunk.length > this.#remaining) {
      throw new TypeError(
        `Cannot write ${chunk.length} bytes to ${
          this.#current ? displayName(this.#current) : "the archive"
        }: only ${this.#remaining} remain of its size`,
      );
    }
    this.#append(chunk);
    this.#remaining -= chunk.length;
    if (this.#remaining === 0 && this.#padding > 0) {
      this.#zeros(this.#padding);
      this.#padding = 0;
    }
  }

  /**
   * Write the end-of-archive marker (two zero blocks) and flush.
   *
   * @throws {TypeError} when the last file's data is incomplete
   */
  finish(): void {
    this.#checkOpen();
    if (this.#remaining > 0) {
      throw new TypeError(
        `Cannot finish the archive: ${this.#remaining} bytes of ${displayName(this.#current!)} are still missing`,
      );
    }
    this.#zeros(2 * BLOCK_SIZE);
    this.#flush();
    this.#finished = true;
  }

  #paxHeader(path: Uint8Array, mtime: number, records: readonly (readonly [string, Uint8Array])[]): void {
    const body = paxBody(records);
    const h = new Uint8Array(BLOCK_SIZE);
    // GNU tar's name for the header: DIR/PaxHeaders/BASE; only its length matters to readers.
    const slash = path.lastIndexOf(SLASH, path.length - 2);
    const base = path.subarray(slash + 1, path[path.length - 1] === SLASH ? path.length - 1 : path.length);
    h.set(PAX_DIR, 0);
    h.set(base.subarray(0, 100 - PAX_DIR.length), PAX_DIR.length);
    putOctal(h, 100, 8, 0o644);
    putOctal(h, 108, 8, 0);
    putOctal(h, 116, 8, 0);
    putNumber(h, 124, 12, body.length);
    putOctal(h, 136, 12, mtime >= 0 && mtime <= MAX_OCTAL_12 ? mtime : 0);
    h[156] = T_PAX;
    h.set(USTAR_MAGIC, 257);
    checksum(h);
    this.#append(h);
    this.#append(body);
    this.#zeros((BLOCK_SIZE - (body.length % BLOCK_SIZE)) % BLOCK_SIZE);
  }

  #checkOpen(): void {
    if (this.#finished) throw new TypeError("Cannot write to a tar archive after finish()");
  }

  #append(bytes: Uint8Array): void {
    this.#bytes += bytes.length;
    const buffer = this.#buffer;
    if (bytes.length >= DIRECT_WRITE) {
      this.#flush();
      this.#sink(bytes);
      return;
    }
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(buffer.length - this.#fill, bytes.length - at);
      buffer.set(at === 0 && n === bytes.length ? bytes : bytes.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
      if (this.#fill === buffer.length) this.#flush();
    }
  }

  #zeros(count: number): void {
    this.#bytes += count;
    const buffer = this.#buffer;
    let left = count;
    while (left > 0) {
      const n = Math.min(buffer.length - this.#fill, left);
      buffer.fill(0, this.#fill, this.#fill + n);
      this.#fill += n;
      left -= n;
      if (this.#fill === buffer.length) this.#flush();
    }
  }

  #flush(): void {
    if (this.#fill === 0) return;
    const n = this.#fill;
    this.#fill = 0;
    this.#sink(this.#buffer.subarray(0, n));
  }
}

function validate(
  entry: TarWriterEntry,
  path: Uint8Array,
  xattrs: readonly (readonly [string, Uint8Array])[],
): void {
  const bad = (why: string): never => {
    throw new RangeError(`Cannot write tar member ${displayName(path)}: ${why}`);
  };
  if (entry.path.length === 0) bad("the name is empty");
  if (entry.path.includes(0)) bad("the name holds a NUL byte");
  if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) bad(`mode ${entry.mode} is out of range`);
  for (const [what, id] of [["uid", entry.uid], ["gid", entry.gid]] as const) {
    if (!Number.isSafeInteger(id) || id < 0) bad(`${what} ${id} is out of range`);
  }
  if (entry.type === "file") {
    const size = entry.size ?? 0;
    if (!Number.isSafeInteger(size) || size < 0) bad(`size ${size} is out of range`);
  }
  if (!Number.isSafeInteger(entry.mtime)) bad(`mtime ${entry.mtime} is not a whole number of seconds`);
  const nsec = entry.mtimeNsec ?? 0;
  if (!Number.isInteger(nsec) || nsec < 0 || nsec > 999_999_999) bad(`mtime nanoseconds ${nsec} are out of range`);
  if (entry.type === "symlink" || entry.type === "hardlink") {
    if (!entry.linkPath || entry.linkPath.length === 0) bad("a link needs a target");
    if (entry.linkPath!.includes(0)) bad("the link target holds a NUL byte");
  }
  if (entry.type === "char" || entry.type === "block") {
    for (const n of [entry.devMajor ?? 0, entry.devMinor ?? 0]) {
      if (!Number.isSafeInteger(n) || n < 0) bad(`device number ${n} is out of range`);
    }
  }
  for (const [name] of xattrs) {
    if (name === "" || name.includes("=") || name.includes("\0") || name.includes("\n")) {
      bad(`xattr name ${JSON.stringify(name)} cannot be written in a pax record`);
    }
  }
}

/** Where to split a name into ustar prefix and name (index of the `/`), or -1. */
function ustarSplit(path: Uint8Array): number {
  // The name part must be 1 to 100 bytes, the prefix at most 155.
  const end = path[path.length - 1] === SLASH ? path.length - 1 : path.length;
  for (let i = Math.max(1, path.length - 101); i <= Math.min(155, end - 1); i++) {
    if (path[i] === SLASH) return i;
  }
  return -1;
}

/** `"<len> <key>=<value>\n"` records; `len` counts the whole record, its own digits included. */
function paxBody(records: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [key, value] of records) {
    const keyBytes = encoder.encode(key);
    const rest = keyBytes.length + value.length + 3; // space, '=', newline
    let length = rest + String(rest).length;
    if (String(length).length !== String(rest).length) length = rest + String(length).length;
    const head = encoder.encode(`${length} ${key}=`);
    const record = new Uint8Array(length);
    record.set(head, 0);
    record.set(value, head.length);
    record[length - 1] = 0x0a;
    parts.push(record);
    total += length;
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  return body;
}

/** Fill in the header checksum: the byte sum with the field counted as spaces, as `%06o\0 `. */
function checksum(h: Uint8Array): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) sum += h[i]!;
  putOctal(h, 148, 7, sum);
  h[155] = 0x20;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
