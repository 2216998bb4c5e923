/**
 * Streaming gzip decompression through the system zlib, synchronous and push-based, with one reused output buffer.
 *
 * @module
 */

import { Oci2LxcError } from "../errors.ts";
import { addressOf, readCString } from "../native/address.ts";
import { type LibZ, libz } from "../native/libz.ts";
import type { OutputSink } from "./decompressor.ts";
import { type DecompressorOptions, StreamDecompressor } from "./stream_decompressor.ts";

const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_NEED_DICT = 2;
const Z_DATA_ERROR = -3;
const Z_MEM_ERROR = -4;
const Z_BUF_ERROR = -5;
const Z_NO_FLUSH = 0;
// 15-bit window plus 16: accept the gzip wrapper only. A zlib-wrapped or raw deflate blob is not a gzip layer, so it
// fails with zlib's header message.
const GZIP_WINDOW_BITS = 15 + 16;

// struct z_stream on LP64 Linux (x86_64, aarch64): 112 bytes.
//   0 next_in (ptr)   8 avail_in (u32)  16 total_in (ulong)
//  24 next_out (ptr) 32 avail_out (u32) 40 total_out (ulong)
//  48 msg (ptr)      56 state (ptr)     64 zalloc  72 zfree  80 opaque
//  88 data_type (int) 96 adler (ulong) 104 reserved (ulong)
// Zero-filled zalloc/zfree/opaque select zlib's own allocator.
const Z_STREAM_SIZE = 112;
const NEXT_IN_WORD = 0; // 64-bit word index
const AVAIL_IN_HALF = 2; // 32-bit word index
const NEXT_OUT_WORD = 3;
const AVAIL_OUT_HALF = 8;
const MSG_WORD = 6;

const MAX_PUSH = 1 << 30;

/** Options for {@linkcode GzipDecompressor}. */
export type GzipDecompressorOptions = DecompressorOptions;

/**
 * A gzip decompressor over `libz.so.1`. Concatenated members (what `pigz` and `cat a.gz b.gz` make) are decoded in
 * order, as `gzip -d` does. Zero bytes after the last member are ignored, as `gzip -d` does silently; any other data
 * after a member must be another gzip member, or decoding fails (stricter than `gzip -d`, like Go's `compress/gzip`
 * that Docker and containerd use).
 *
 * @example Decompressing a gzip blob
 * ```ts
 * import assert from "node:assert/strict";
 * import { GzipDecompressor } from "./gzip_decompressor.ts";
 * const gzipBytes = new Uint8Array(
 *   await new Response(new Blob(["hello"]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
 * );
 * const parts: Uint8Array[] = [];
 * const gunzip = new GzipDecompressor((chunk) => parts.push(chunk.slice()), "layer 1");
 * gunzip.push(gzipBytes);
 * gunzip.finish();
 * assert.equal(new TextDecoder().decode(parts[0]), "hello");
 * ```
 */
export class GzipDecompressor extends StreamDecompressor {
  readonly #zlib: LibZ;
  readonly #stream = new Uint8Array(Z_STREAM_SIZE);
  readonly #words = new BigUint64Array(this.#stream.buffer);
  readonly #halves = new Uint32Array(this.#stream.buffer);
  readonly #outputAddress: bigint;
  /** Compressed bytes consumed before the current push, for error positions. */
  #consumed = 0;
  /** Members started so far, 1-based, for error messages. */
  #member = 0;

  /**
   * @param sink receives each decompressed chunk, a view into a reused buffer
   * @param name names the blob in error messages ("layer 2 (sha256:…)")
   * @throws {Oci2LxcError} when zlib cannot be loaded or initialised
   */
  constructor(
    sink: OutputSink,
    name: string,
    options: GzipDecompressorOptions = {},
  ) {
    // avail_out is 32 bits wide.
    super("gzip", sink, name, options, 0xffff_ffff);
    this.#zlib = libz();
    this.#outputAddress = addressOf(this.output);
    const rc = this.#zlib.inflateInit2_(
      this.#stream,
      GZIP_WINDOW_BITS,
      this.#zlib.zlibVersion(),
      Z_STREAM_SIZE,
    );
    if (rc !== Z_OK) {
      this.phase = "closed";
      throw new Oci2LxcError(
        "image",
        `Cannot decompress ${name}: zlib initialisation failed with code ${rc}`,
      );
    }
  }

  /**
   * Decompress `input`; every byte of output reaches the sink before this returns, and zlib keeps no reference to
   * `input` afterwards.
   *
   * @throws {Oci2LxcError} on corrupt data or data after the last member
   */
  push(input: Uint8Array): void {
    if (this.phase === "closed" || this.phase === "failed") throw this.unusable();
    if (input.length === 0) return;
    if (input.length > MAX_PUSH) {
      // avail_in is 32 bits wide.
      for (let at = 0; at < input.length; at += MAX_PUSH) {
        this.push(input.subarray(at, at + MAX_PUSH));
      }
      return;
    }
    const start = this.#consumed;
    this.#consumed += input.length;
    if (this.phase === "padding") return this.expectPadding(input, 0, start);
    if (this.phase === "between") {
      if (input[0] === 0) {
        this.phase = "padding";
        return this.expectPadding(input, 0, start);
      }
      this.#nextMember();
    } else if (this.phase === "start") {
      this.phase = "inside";
      this.#member = 1;
    }
    const zlib = this.#zlib;
    const words = this.#words;
    const halves = this.#halves;
    const output = this.output;
    words[NEXT_IN_WORD] = addressOf(input);
    halves[AVAIL_IN_HALF] = input.length;
    for (;;) {
      words[NEXT_OUT_WORD] = this.#outputAddress;
      halves[AVAIL_OUT_HALF] = output.length;
      const rc = zlib.inflate(this.#stream, Z_NO_FLUSH);
      const produced: number = output.length - halves[AVAIL_OUT_HALF]!;
      if (produced > 0) this.emit(output.subarray(0, produced));
      const left: number = halves[AVAIL_IN_HALF]!;
      if (rc === Z_STREAM_END) {
        if (left === 0) {
          this.phase = "between";
          words[NEXT_IN_WORD] = 0n;
          return;
        }
        const offset = input.length - left;
        if (input[offset] === 0) {
          this.phase = "padding";
          words[NEXT_IN_WORD] = 0n;
          return this.expectPadding(input, offset, start);
        }
        // Another member follows in the same chunk; next_in already points at it.
        this.#nextMember();
        continue;
      }
      if (rc === Z_OK) {
        // Output space left over means zlib has taken all it can from the input.
        if (left === 0 && halves[AVAIL_OUT_HALF]! !== 0) break;
        continue;
      }
      // Z_BUF_ERROR: no progress possible, i.e. the input is used up.
      if (rc === Z_BUF_ERROR && left === 0) break;
      this.phase = "failed";
      throw this.#failure(rc, start + input.length - left);
    }
    // Drop the pointer into the caller's buffer: it is only valid during push.
    words[NEXT_IN_WORD] = 0n;
  }

  protected override release(): void {
    this.#zlib.inflateEnd(this.#stream);
  }

  #nextMember(): void {
    const rc = this.#zlib.inflateReset(this.#stream);
    if (rc !== Z_OK) {
      this.phase = "failed";
      throw this.#failure(rc, this.#consumed);
    }
    this.phase = "inside";
    this.#member++;
  }

  #failure(rc: number, position: number): Oci2LxcError {
    if (rc === Z_MEM_ERROR) {
      return new Oci2LxcError("image", `Cannot decompress ${this.name}: zlib is out of memory`);
    }
    const message = readCString(this.#words[MSG_WORD]!, `zlib error ${rc}`);
    const where = `gzip member ${this.#member}, near compressed byte ${position}`;
    if (rc === Z_DATA_ERROR || rc === Z_NEED_DICT) {
      return this.damaged(`gzip data is corrupt: ${message} (${where})`);
    }
    return new Oci2LxcError(
      "image",
      `Cannot decompress ${this.name}: zlib failed: ${message} (${where})`,
    );
  }
}
