/**
 * Streaming zstd decompression through the system libzstd, synchronous and push-based, with one reused output buffer.
 *
 * @module
 */

import { Oci2LxcError } from "../errors.ts";
import { addressOf } from "../native/address.ts";
import { type LibZstd, libzstd } from "../native/libzstd.ts";
import type { OutputSink } from "./decompressor.ts";
import { type DecompressorOptions, StreamDecompressor } from "./stream_decompressor.ts";

// ZSTD_inBuffer { const void* src; size_t size; size_t pos; } and ZSTD_outBuffer { void* dst; size_t size; size_t pos;
// }: three 64-bit words.
const BUFFER_STRUCT_SIZE = 24;
const ADDRESS = 0;
const SIZE = 1;
const POS = 2;

/** Options for {@linkcode ZstdDecompressor}. */
export type ZstdDecompressorOptions = DecompressorOptions;

/**
 * A zstd decompressor over `libzstd.so.1`. A sequence of frames, including skippable frames (zstd:chunked metadata), is
 * decoded in order, as `zstd -d` does. Any other data after the last frame is an error, as it is for `zstd -d`. Frames
 * whose window exceeds libzstd's default limit (128 MiB, `zstd --long=28` and above) are refused, as `zstd -d` refuses
 * them without `--memory`.
 *
 * @example Decompressing a zstd blob
 * ```ts
 * import assert from "node:assert/strict";
 * import { ZstdDecompressor } from "./zstd_decompressor.ts";
 * // "hello" as `printf hello | zstd --no-check` writes it: one frame with one raw block.
 * const zstdBytes = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0x29, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f]);
 * const parts: Uint8Array[] = [];
 * const unzstd = new ZstdDecompressor((chunk) => parts.push(chunk.slice()), "layer 1");
 * unzstd.push(zstdBytes);
 * unzstd.finish();
 * assert.equal(new TextDecoder().decode(parts[0]), "hello");
 * ```
 */
export class ZstdDecompressor extends StreamDecompressor {
  readonly #zstd: LibZstd;
  readonly #dstream: Deno.PointerObject;
  readonly #input = new BigUint64Array(BUFFER_STRUCT_SIZE / 8);
  readonly #inputStruct = new Uint8Array(this.#input.buffer);
  readonly #outputWords = new BigUint64Array(BUFFER_STRUCT_SIZE / 8);
  readonly #outputStruct = new Uint8Array(this.#outputWords.buffer);
  /** Compressed bytes consumed before the current push, for error positions. */
  #consumed = 0;

  /**
   * @param sink receives each decompressed chunk, a view into a reused buffer
   * @param name names the blob in error messages ("layer 2 (sha256:…)")
   * @throws {Oci2LxcError} when libzstd cannot be loaded or initialised
   */
  constructor(
    sink: OutputSink,
    name: string,
    options: ZstdDecompressorOptions = {},
  ) {
    super("zstd", sink, name, options, Number.MAX_SAFE_INTEGER);
    this.#zstd = libzstd();
    this.#outputWords[ADDRESS] = addressOf(this.output);
    this.#outputWords[SIZE] = BigInt(this.output.length);
    const dstream = this.#zstd.ZSTD_createDStream();
    if (dstream === null) {
      throw new Oci2LxcError(
        "image",
        `Cannot decompress ${name}: libzstd is out of memory`,
      );
    }
    this.#dstream = dstream;
    const rc = this.#zstd.ZSTD_initDStream(dstream);
    if (this.#zstd.ZSTD_isError(rc) !== 0) {
      this.#zstd.ZSTD_freeDStream(dstream);
      this.phase = "closed";
      throw new Oci2LxcError(
        "image",
        `Cannot decompress ${name}: ${this.#errorName(rc)}`,
      );
    }
  }

  /**
   * Decompress `input`; every byte of output reaches the sink before this returns, and libzstd keeps no reference to
   * `input` afterwards.
   *
   * @throws {Oci2LxcError} on corrupt data or data that is not a zstd frame
   */
  push(input: Uint8Array): void {
    if (this.phase === "closed" || this.phase === "failed") throw this.unusable();
    if (input.length === 0) return;
    const start = this.#consumed;
    this.#consumed += input.length;
    this.phase = "inside";
    const zstd = this.#zstd;
    const inWords = this.#input;
    const outWords = this.#outputWords;
    const output = this.output;
    const length = input.length;
    inWords[ADDRESS] = addressOf(input);
    inWords[SIZE] = BigInt(length);
    inWords[POS] = 0n;
    for (;;) {
      outWords[POS] = 0n;
      const rc = zstd.ZSTD_decompressStream(
        this.#dstream,
        this.#outputStruct,
        this.#inputStruct,
      );
      const produced = Number(outWords[POS]);
      if (zstd.ZSTD_isError(rc) !== 0) {
        this.phase = "failed";
        throw this.#failure(rc, start + Number(inWords[POS]));
      }
      if (produced > 0) this.emit(output.subarray(0, produced));
      // 0 means "a frame is complete and flushed", not "the stream is over": more frames may follow in this input or
      // the next push.
      const frameDone = rc === 0n;
      // libzstd holds back the last input byte until its output is flushed, so unconsumed input also covers output
      // still buffered inside it.
      if (Number(inWords[POS]) < length) continue;
      // Output left in libzstd mid-frame would be flushed by the next push; draining it now keeps the sink's view of
      // the stream current.
      if (produced === output.length && !frameDone) continue;
      this.phase = frameDone ? "between" : "inside";
      break;
    }
    inWords[ADDRESS] = 0n;
  }

  protected override release(): void {
    this.#zstd.ZSTD_freeDStream(this.#dstream);
  }

  #errorName(rc: bigint): string {
    const pointer = this.#zstd.ZSTD_getErrorName(rc);
    return pointer === null ? `zstd error ${rc}` : Deno.UnsafePointerView.getCString(pointer);
  }

  #failure(rc: bigint, position: number): Oci2LxcError {
    const name = this.#errorName(rc);
    const where = `near compressed byte ${position}`;
    if (/memory/i.test(name)) {
      return new Oci2LxcError(
        "image",
        `Cannot decompress ${this.name}: ${name} (${where})`,
        {
          hint:
            "The layer was compressed with a window larger than 128 MiB (zstd --long), which oci2lxc does not accept",
        },
      );
    }
    return this.damaged(`zstd data is corrupt: ${name} (${where})`);
  }
}
