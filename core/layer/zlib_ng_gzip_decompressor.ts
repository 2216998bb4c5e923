/**
 * Streaming gzip decompression through the zlib that Deno itself carries (zlib-ng behind `node:zlib`), driven
 * synchronously through the native handle of a `node:zlib` Gunzip: about twice as fast as the system libz through FFI
 * (~740 against ~385 MB/s of output, docs/performance.md), and the same contract and strictness as
 * {@linkcode GzipDecompressor}, which stays the fallback.
 *
 * The handle (`_handle.writeSync`, `_writeState`) is internal API of Deno's Node compatibility layer, the same calls
 * Node's own `zlib.gunzipSync` makes. {@linkcode zlibNgAvailable} checks that it is there and behaves; a Deno without
 * it gets the FFI decompressor.
 *
 * @module
 */

import zlib from "node:zlib";
import { Oci2LxcError } from "../errors.ts";
import type { OutputSink } from "./decompressor.ts";
import type { GzipDecompressorOptions } from "./gzip_decompressor.ts";
import { StreamDecompressor } from "./stream_decompressor.ts";

const Z_NO_FLUSH = 0;
const Z_FINISH = 4;
const Z_DATA_ERROR = -3;
const Z_MEM_ERROR = -4;
const Z_BUF_ERROR = -5;
/** The handle's input length is a 32-bit count. */
const MAX_PUSH = 1 << 30;

/** The native half of a `node:zlib` stream. */
interface ZlibHandle {
  /** Inflate `input[inOff, inOff+inLen)` into `out[outOff, outOff+outLen)`; results land in the write state. */
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  close(): void;
  /** Called synchronously from writeSync on a zlib error. */
  onerror: ((message: string, errno: number) => void) | undefined;
}

interface GunzipInternals {
  _handle?: ZlibHandle;
  /** [avail_out, avail_in] after the last writeSync. */
  _writeState?: Uint32Array;
}

/** A fresh handle in Node's GUNZIP mode, or undefined when this Deno has none we can drive. */
function gunzipHandle(): { handle: ZlibHandle; state: Uint32Array } | undefined {
  const stream = zlib.createGunzip() as unknown as GunzipInternals;
  const handle = stream._handle;
  const state = stream._writeState;
  if (typeof handle?.writeSync !== "function" || typeof handle.close !== "function") return undefined;
  if (!(state instanceof Uint32Array) || state.length < 2) return undefined;
  return { handle, state };
}

let available: boolean | undefined;

/**
 * Whether {@linkcode ZlibNgGzipDecompressor} works in this Deno: the handle exists and decodes a known gzip member to
 * its known bytes. Checked once per process.
 */
export function zlibNgAvailable(): boolean {
  if (available !== undefined) return available;
  try {
    // gzip -n of "oci2lxc\n".
    const sample = Uint8Array.from([
      0x1f,
      0x8b,
      0x08,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x03,
      0xcb,
      0x4f,
      0xce,
      0x34,
      0xca,
      0xa9,
      0x48,
      0xe6,
      0x02,
      0x00,
      0x5b,
      0x2e,
      0xba,
      0xa7,
      0x08,
      0x00,
      0x00,
      0x00,
    ]);
    let text = "";
    const gunzip = new ZlibNgGzipDecompressor((chunk) => text += new TextDecoder().decode(chunk), "probe", {
      outputSize: 64,
    });
    // Two members and zero padding: the behaviours layers rely on, not only one plain member.
    gunzip.push(new Uint8Array([...sample, ...sample, 0, 0, 0, 0]));
    gunzip.finish();
    available = text === "oci2lxc\noci2lxc\n";
  } catch {
    available = false;
  }
  return available;
}

/**
 * A gzip decompressor over Deno's built-in zlib. Concatenated members are decoded in order (the handle starts the next
 * member itself when a byte other than zero follows one); zero bytes after the last member are ignored, as `gzip -d`
 * does; anything else after the zeros fails, as in {@linkcode GzipDecompressor}.
 *
 * @example Decompressing a gzip blob
 * ```ts
 * import assert from "node:assert/strict";
 * import { ZlibNgGzipDecompressor } from "./zlib_ng_gzip_decompressor.ts";
 * const gzipBytes = new Uint8Array(
 *   await new Response(new Blob(["hello"]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
 * );
 * const parts: Uint8Array[] = [];
 * const gunzip = new ZlibNgGzipDecompressor((chunk) => parts.push(chunk.slice()), "layer 1");
 * gunzip.push(gzipBytes);
 * gunzip.finish();
 * assert.equal(new TextDecoder().decode(parts[0]), "hello");
 * ```
 */
export class ZlibNgGzipDecompressor extends StreamDecompressor {
  readonly #handle: ZlibHandle;
  /** [avail_out, avail_in] after each writeSync. */
  readonly #state: Uint32Array;
  /** Compressed bytes consumed before the current push, for error positions. */
  #consumed = 0;
  /** The last zlib error, set synchronously by the handle's onerror. */
  #error: { message: string; errno: number } | undefined;

  /**
   * @param sink receives each decompressed chunk, a view into a reused buffer
   * @param name names the blob in error messages ("layer 2 (sha256:…)")
   * @throws {Oci2LxcError} when this Deno has no usable zlib handle
   */
  constructor(sink: OutputSink, name: string, options: GzipDecompressorOptions = {}) {
    // The handle's output length is a 32-bit count.
    super("gzip", sink, name, options, 0xffff_ffff);
    const native = gunzipHandle();
    if (!native) {
      throw new Oci2LxcError("image", `Cannot decompress ${name}: this Deno's node:zlib has no synchronous handle`);
    }
    this.#handle = native.handle;
    this.#state = native.state;
    this.#handle.onerror = (message, errno) => this.#error = { message, errno };
  }

  /**
   * Decompress `input`; every byte of output reaches the sink before this returns, and no reference to `input` is kept.
   *
   * @throws {Oci2LxcError} on corrupt data or data after the last member
   */
  push(input: Uint8Array): void {
    if (this.phase === "closed" || this.phase === "failed") throw this.unusable();
    if (input.length === 0) return;
    if (input.length > MAX_PUSH) {
      for (let at = 0; at < input.length; at += MAX_PUSH) this.push(input.subarray(at, at + MAX_PUSH));
      return;
    }
    const start = this.#consumed;
    this.#consumed += input.length;
    if (this.phase === "padding") return this.expectPadding(input, 0, start);
    // The handle moves from one member to the next itself, so "inside" spans all members.
    this.phase = "inside";
    const output = this.output;
    const state = this.#state;
    let offset = 0;
    for (;;) {
      this.#handle.writeSync(Z_NO_FLUSH, input, offset, input.length - offset, output, 0, output.length);
      const left = state[1]!;
      // What zlib produced before an error still goes to the sink first, as the FFI decompressor does.
      const produced = output.length - state[0]!;
      if (produced > 0) this.emit(output.subarray(0, produced));
      if (this.#error) throw this.#failure(start + input.length - left);
      offset = input.length - left;
      // A full output buffer: zlib may have more for us from the same input.
      if (state[0] === 0) continue;
      if (left === 0) return;
      // Output space and input left: the stream ended and a zero byte follows (the handle goes on to the next member
      // for any other byte).
      this.phase = "padding";
      return this.expectPadding(input, offset, start);
    }
  }

  /** Z_FINISH with no input: zlib says Z_BUF_ERROR ("unexpected end of file") unless the last member ended. */
  protected override endInside(): void {
    const output = this.output;
    this.#handle.writeSync(Z_FINISH, output, 0, 0, output, 0, output.length);
    const error = this.#error;
    const produced = output.length - this.#state[0]!;
    if (error?.errno === Z_BUF_ERROR || (!error && produced > 0)) throw this.damaged("gzip stream is truncated");
    if (error) throw this.#failure(this.#consumed);
  }

  protected override release(): void {
    this.#handle.onerror = undefined;
    this.#handle.close();
  }

  #failure(position: number): Oci2LxcError {
    const { message, errno } = this.#error!;
    this.phase = "failed";
    if (errno === Z_MEM_ERROR) {
      return new Oci2LxcError("image", `Cannot decompress ${this.name}: zlib is out of memory`);
    }
    const where = `near compressed byte ${position}`;
    if (errno === Z_DATA_ERROR) {
      return this.damaged(`gzip data is corrupt: ${message} (${where})`);
    }
    return new Oci2LxcError("image", `Cannot decompress ${this.name}: zlib failed: ${message} (${where})`);
  }
}
