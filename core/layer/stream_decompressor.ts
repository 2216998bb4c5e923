/**
 * What every layer decompressor does the same way around its native library: the output-size check, handing output to
 * the sink (a sink error makes the decompressor unusable, since the library still points into the caller's input), and
 * the end of the stream: `finish` refuses an empty or truncated stream and always releases native memory, `close` only
 * releases it. A subclass decodes (`push`), says how to release (`release`) and, where the library can tell, whether a
 * stream that stopped inside its data really ended (`endInside`).
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import type { Decompressor, OutputSink } from "./decompressor.ts";

/** Default size of the one output buffer handed to the sink. */
export const DEFAULT_OUTPUT_SIZE = 1 << 20;

/** Options for the decompressors. */
export interface DecompressorOptions {
  /** Size of the reused output buffer in bytes; 1 MiB by default. */
  outputSize?: number;
}

/** Where a decompressor is in its stream. */
export type Phase =
  | "start" // nothing fed yet
  | "inside" // inside a gzip member or zstd frame
  | "between" // a member or frame ended exactly at the end of the input so far
  | "padding" // zero bytes after the last gzip member
  | "failed" // an error was thrown; only close() is useful now
  | "closed";

const DAMAGED = { hint: "The layer blob is damaged; fetch or save the image again" };

/** The shared lifecycle of a push-based decompressor of `format` data. */
export abstract class StreamDecompressor implements Decompressor {
  /** Where the stream is; subclasses move it as they decode. */
  protected phase: Phase = "start";
  /** Names the blob in error messages ("layer 2 (sha256:…)"). */
  protected readonly name: string;
  /** The reused output buffer handed to the sink. */
  protected readonly output: Uint8Array;
  readonly #sink: OutputSink;
  readonly #format: "gzip" | "zstd";

  /**
   * Check the options and allocate the output buffer; the subclass then opens its library.
   *
   * @param maxOutputSize the largest output buffer the library's counters can describe
   * @throws {RangeError} when `options.outputSize` is out of range
   */
  constructor(
    format: "gzip" | "zstd",
    sink: OutputSink,
    name: string,
    options: DecompressorOptions,
    maxOutputSize: number,
  ) {
    const outputSize = options.outputSize ?? DEFAULT_OUTPUT_SIZE;
    if (!Number.isSafeInteger(outputSize) || outputSize < 1 || outputSize > maxOutputSize) {
      throw new RangeError(`Cannot create a ${format} decompressor: output size ${outputSize} is out of range`);
    }
    this.#format = format;
    this.#sink = sink;
    this.name = name;
    this.output = new Uint8Array(outputSize);
  }

  abstract push(input: Uint8Array): void;

  /** Release the library's memory; called once. */
  protected abstract release(): void;

  /**
   * At `finish` in the `inside` phase: throw unless the stream ended after all. The default says it is truncated; a
   * library that can tell the end of its data from a pause may check.
   */
  protected endInside(): void {
    throw this.damaged(`${this.#format} stream is truncated`);
  }

  /**
   * End of input: release the library's memory.
   *
   * @throws {Oci2LxcError} when the stream is empty or truncated
   */
  finish(): void {
    const phase = this.phase;
    try {
      if (phase === "closed" || phase === "failed") throw this.unusable();
      if (phase === "start") throw this.damaged(`${this.#format} stream is empty`);
      if (phase === "inside") this.endInside();
    } finally {
      this.close();
    }
  }

  /** Release the library's memory; safe to call more than once. */
  close(): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.release();
  }

  /** Hand `chunk` to the sink; an error from it leaves the decompressor failed. */
  protected emit(chunk: Uint8Array): void {
    try {
      this.#sink(chunk);
    } catch (err) {
      // The library still points into the caller's input; it cannot resume.
      this.phase = "failed";
      throw err;
    }
  }

  /**
   * Check that `input[from…]`, after the last gzip member, is zero bytes: `gzip -d` ignores zero padding, and anything
   * else is not a gzip file. Fails the decompressor when it is not.
   *
   * @param start position of `input` in the whole blob, for the message
   */
  protected expectPadding(input: Uint8Array, from: number, start: number): void {
    for (let i = from; i < input.length; i++) {
      if (input[i] !== 0) {
        this.phase = "failed";
        throw this.damaged(
          `unexpected data after the last gzip member and its zero padding, at compressed byte ${start + i}`,
        );
      }
    }
  }

  /** The error for a call after a failure or close. */
  protected unusable(): Error {
    return new Error(`Cannot decompress ${this.name}: the decompressor was closed or failed before`);
  }

  /** The error for damaged data: `reason` says what is wrong with it. */
  protected damaged(reason: string): Oci2LxcError {
    return new Oci2LxcError("image", `Cannot decompress ${this.name}: ${reason}`, DAMAGED);
  }
}
