/**
 * A synchronous, push-based tar reader for layer streams: ustar, old v7, GNU (long names and links, base-256 numbers)
 * and pax (per-file and global headers, `SCHILY.xattr.*`, `LIBARCHIVE.xattr.*`).
 *
 * Memory stays flat whatever the member sizes: file data is handed to the handler as views of the pushed chunks, only
 * header blocks that straddle two chunks are copied (into one reused 512-byte buffer), and extension header bodies are
 * bounded by {@linkcode MAX_EXTENSION_SIZE}.
 *
 * @module
 */

import { Oci2LxcError } from "../errors.ts";
import { nameAt, readHeaderFields } from "./_header_block.ts";
import { BLOCK_SIZE, checkHeader, parseNumeric } from "./_header_fields.ts";
import { memberEntry } from "./_member_entry.ts";
import { applyPaxRecords, type PaxExtras } from "./_pax_fields.ts";
import { isExtension, isGlobal, MAX_EXTENSION_SIZE, PendingExtensions } from "./_pending_extensions.ts";
import { displayName, type TarEntry, type TarHandler } from "./tar_entry.ts";

export { MAX_EXTENSION_SIZE };

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

const EMPTY = new Uint8Array(0);
const NO_PAX: PaxExtras = { xattrs: undefined, sparseName: undefined, badRecord: undefined };

/**
 * Parses a tar stream pushed in chunks of any size and reports each member to a {@linkcode TarHandler}, synchronously,
 * from inside `push`.
 *
 * After `push` or `finish` throws, the parser is spent: later calls throw.
 *
 * @example Parsing an archive with no members
 * ```ts
 * import assert from "node:assert/strict";
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
 * assert.equal(names.length, 0);
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

  /** Extension state waiting for the members it describes. */
  readonly #pending = new PendingExtensions();
  /** Offset of the first extension header of the pending member, or -1. */
  #memberStart = -1;

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
   * Feed the next chunk of the stream. Handler calls for every member that this chunk completes happen before `push`
   * returns; data views are only valid during the `data` call.
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
   * Signal the end of the stream. Accepts a stream that ends cleanly after a member without an end-of-archive marker
   * (with a warning), as GNU tar does.
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
      throw this.#error(`header has an invalid size field${nameAt(b, p)}`, at);
    }
    const global = isGlobal(typeflag);
    // A global header describes no member, so it does not start one.
    if (!global && this.#memberStart < 0) this.#memberStart = at;
    if (!isExtension(typeflag)) {
      this.#member(b, p, typeflag, size);
      return;
    }
    if (!this.#pending.admit(typeflag, size)) {
      throw this.#error(
        `extended header of ${size} bytes${nameAt(b, p)} exceeds the limit of ${MAX_EXTENSION_SIZE} bytes`,
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
      this.#ext = new Uint8Array(Math.min(MAX_EXTENSION_SIZE, Math.max(size, 2 * this.#ext.length, 4096)));
    }
    this.#extFill = 0;
    this.#state = EXTENSION;
  }

  /** A pax or GNU long-name body, complete in `b[start, end)`. */
  #extension(b: Uint8Array, start: number, end: number): void {
    this.#pending.add(this.#extType, b, start, end, (reason, cause) => this.#error(reason, this.#extOffset, cause));
  }

  /** A member header at `b[p]`: fold in pending extensions, report it, set up its data. */
  #member(b: Uint8Array, p: number, typeflag: number, headerSize: number): void {
    const at = this.#memberStart;
    const pending = this.#pending;
    const fields = readHeaderFields(b, p, headerSize);
    if (pending.longName !== undefined) fields.path = pending.longName;
    if (pending.longLink !== undefined) fields.linkPath = pending.longLink;
    // pax records override the header.
    const records = pending.records();
    const pax = records === undefined
      ? NO_PAX
      : applyPaxRecords(fields, records, (key, reason) =>
        this.#warn(`ignoring pax record ${key} in member at byte ${at}: ${reason}`));
    const { entry, dataSize } = memberEntry(b, p, typeflag, fields, pax, at, (reason) => this.#error(reason, at));

    // The pending extension state is used up, whatever the handler does.
    pending.useUp();
    this.#memberStart = -1;

    if (entry.type === "file" && dataSize > 0) {
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
