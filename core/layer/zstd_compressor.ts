/**
 * Streaming zstd compression through the system libzstd, synchronous and push-based, with one reused output buffer: the
 * mirror image of `ZstdDecompressor` (zstd_decompressor.ts). Used to write Proxmox templates (`NAME.tar.zst`).
 *
 * @module
 */

import { describeError, Oci2LxcError } from "../errors.ts";
import { addressOf } from "../native/address.ts";
import {
  type LibZstd,
  libzstd,
  LIBZSTD_SONAME,
  ZSTD_c_checksumFlag,
  ZSTD_c_compressionLevel,
  ZSTD_c_nbWorkers,
  ZSTD_e_continue,
  ZSTD_e_end,
} from "../native/libzstd.ts";
import type { OutputSink } from "./decompressor.ts";

// ZSTD_inBuffer { const void* src; size_t size; size_t pos; } and ZSTD_outBuffer { void* dst; size_t size; size_t pos;
// }: three 64-bit words.
const BUFFER_STRUCT_SIZE = 24;
const ADDRESS = 0;
const SIZE = 1;
const POS = 2;

/** Default size of the one output buffer handed to the sink. */
export const DEFAULT_OUTPUT_SIZE = 1 << 20;

/** The level `zstd` uses by default, and Proxmox's vzdump too. */
const DEFAULT_LEVEL = 3;

/** Options for {@linkcode ZstdCompressor}. */
export interface ZstdCompressorOptions {
  /** Compression level, 1 to 19 (negative levels are faster still); default 3. */
  level?: number;
  /**
   * Worker threads for libzstd (`ZSTD_c_nbWorkers`); 0 compresses on the calling thread. Default: the number of CPUs,
   * at most 8. When libzstd was built without threads, compression quietly stays on the calling thread.
   */
  workers?: number;
  /** Size of the reused output buffer in bytes; 1 MiB by default. */
  outputSize?: number;
}

type State = "open" | "failed" | "closed";

/**
 * A zstd compressor over `libzstd.so.1` that writes one frame with a content checksum, readable by `zstd -d` and by GNU
 * tar's `--zstd`.
 *
 * Input is consumed before `push` returns: with worker threads, libzstd copies it into its own job buffers, so the
 * caller may reuse its buffer.
 *
 * @example Compressing bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { ZstdCompressor } from "./zstd_compressor.ts";
 * const parts: Uint8Array[] = [];
 * const zstd = new ZstdCompressor((chunk) => parts.push(chunk.slice()), "template.tar.zst");
 * zstd.push(new TextEncoder().encode("hello"));
 * zstd.finish();
 * assert.deepEqual([...parts[0]!.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]); // a zstd frame's magic number
 * ```
 */
export class ZstdCompressor {
  readonly #sink: OutputSink;
  readonly #name: string;
  readonly #zstd: LibZstd;
  readonly #cstream: Deno.PointerObject;
  readonly #input = new BigUint64Array(BUFFER_STRUCT_SIZE / 8);
  readonly #inputStruct = new Uint8Array(this.#input.buffer);
  readonly #outputWords = new BigUint64Array(BUFFER_STRUCT_SIZE / 8);
  readonly #outputStruct = new Uint8Array(this.#outputWords.buffer);
  readonly #output: Uint8Array;
  readonly #workers: number;
  #state: State = "open";
  #bytesIn = 0;
  #bytesOut = 0;

  /**
   * @param sink receives each compressed chunk, a view into a reused buffer
   * @param name names the output in error messages ("busybox.tar.zst")
   * @throws {Oci2LxcError} when libzstd cannot be loaded or rejects the level
   */
  constructor(sink: OutputSink, name: string, options: ZstdCompressorOptions = {}) {
    const outputSize = options.outputSize ?? DEFAULT_OUTPUT_SIZE;
    if (!Number.isSafeInteger(outputSize) || outputSize < 1) {
      throw new RangeError(`Cannot create a zstd compressor: output size ${outputSize} is out of range`);
    }
    const level = options.level ?? DEFAULT_LEVEL;
    if (!Number.isInteger(level) || level < -131072 || level > 22) {
      throw new RangeError(`Cannot create a zstd compressor: level ${level} is out of range`);
    }
    const workers = options.workers ?? Math.min(8, navigator.hardwareConcurrency || 1);
    if (!Number.isInteger(workers) || workers < 0 || workers > 200) {
      throw new RangeError(`Cannot create a zstd compressor: ${workers} workers is out of range`);
    }
    this.#sink = sink;
    this.#name = name;
    try {
      this.#zstd = libzstd();
    } catch (err) {
      throw new Oci2LxcError(
        "destination",
        `Cannot load ${LIBZSTD_SONAME} to compress ${name}: ${describeError(err)}`,
        {
          cause: err,
          hint: "Install zstd's library (Debian: apt-get install libzstd1) and allow FFI (--allow-ffi)",
        },
      );
    }
    this.#output = new Uint8Array(outputSize);
    this.#outputWords[ADDRESS] = addressOf(this.#output);
    this.#outputWords[SIZE] = BigInt(outputSize);
    const cstream = this.#zstd.ZSTD_createCStream();
    if (cstream === null) {
      throw new Oci2LxcError("destination", `Cannot compress ${name}: libzstd is out of memory`);
    }
    this.#cstream = cstream;
    try {
      this.#set(ZSTD_c_compressionLevel, level, "the compression level");
      this.#set(ZSTD_c_checksumFlag, 1, "the checksum flag");
    } catch (err) {
      this.close();
      throw err;
    }
    // A libzstd built without ZSTD_MULTITHREAD refuses any value above 0.
    this.#workers = workers > 0 && this.#try(ZSTD_c_nbWorkers, workers) ? workers : 0;
  }

  /** The worker threads libzstd accepted (0: compression runs on the calling thread). */
  get workers(): number {
    return this.#workers;
  }

  /** Uncompressed bytes pushed so far. */
  get bytesIn(): number {
    return this.#bytesIn;
  }

  /** Compressed bytes handed to the sink so far. */
  get bytesOut(): number {
    return this.#bytesOut;
  }

  /**
   * Compress `input`. Compressed output may reach the sink before this returns; libzstd keeps no reference to `input`
   * afterwards.
   *
   * @throws {Oci2LxcError} when libzstd fails; errors thrown by the sink pass through
   */
  push(input: Uint8Array): void {
    if (this.#state !== "open") throw this.#unusable();
    if (input.length === 0) return;
    const inWords = this.#input;
    inWords[ADDRESS] = addressOf(input);
    inWords[SIZE] = BigInt(input.length);
    inWords[POS] = 0n;
    try {
      for (;;) {
        this.#step(ZSTD_e_continue);
        if (Number(inWords[POS]) >= input.length) break;
      }
    } finally {
      inWords[ADDRESS] = 0n;
      inWords[SIZE] = 0n;
      inWords[POS] = 0n;
    }
    this.#bytesIn += input.length;
  }

  /**
   * End the frame: flush everything to the sink and release libzstd's memory.
   *
   * @throws {Oci2LxcError} when libzstd fails
   */
  finish(): void {
    if (this.#state !== "open") throw this.#unusable();
    try {
      // An empty ZSTD_inBuffer: size 0 needs no valid address.
      for (;;) {
        if (this.#step(ZSTD_e_end) === 0n) break;
      }
    } finally {
      this.close();
    }
  }

  /** Release libzstd's memory; safe to call more than once. */
  close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#zstd.ZSTD_freeCStream(this.#cstream);
  }

  /** One ZSTD_compressStream2 call with a fresh output buffer; returns its hint (0: done). */
  #step(directive: number): bigint {
    const outWords = this.#outputWords;
    outWords[POS] = 0n;
    const rc = this.#zstd.ZSTD_compressStream2(this.#cstream, this.#outputStruct, this.#inputStruct, directive);
    if (this.#zstd.ZSTD_isError(rc) !== 0) {
      this.#state = "failed";
      throw new Oci2LxcError("destination", `Cannot compress ${this.#name}: ${this.#errorName(rc)}`);
    }
    const produced = Number(outWords[POS]);
    if (produced > 0) {
      this.#bytesOut += produced;
      try {
        this.#sink(this.#output.subarray(0, produced));
      } catch (err) {
        this.#state = "failed";
        throw err;
      }
    }
    return rc;
  }

  #set(parameter: number, value: number, what: string): void {
    const rc = this.#zstd.ZSTD_CCtx_setParameter(this.#cstream, parameter, value);
    if (this.#zstd.ZSTD_isError(rc) !== 0) {
      throw new Oci2LxcError(
        "usage",
        `Cannot compress ${this.#name}: libzstd refuses ${what} ${value}: ${this.#errorName(rc)}`,
      );
    }
  }

  #try(parameter: number, value: number): boolean {
    return this.#zstd.ZSTD_isError(this.#zstd.ZSTD_CCtx_setParameter(this.#cstream, parameter, value)) === 0;
  }

  #unusable(): Error {
    return new Error(`Cannot compress ${this.#name}: the compressor was closed or failed before`);
  }

  #errorName(rc: bigint): string {
    const pointer = this.#zstd.ZSTD_getErrorName(rc);
    return pointer === null ? `zstd error ${rc}` : Deno.UnsafePointerView.getCString(pointer);
  }
}
