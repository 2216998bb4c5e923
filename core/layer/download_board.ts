/**
 * Where the layer worker learns how far a layer's download has come: the main thread downloads a layer into a file
 * (the blob cache's download file) and posts each new length here, in shared memory; the worker reads the file up to
 * that length and waits (`Atomics.wait`, bounded) for more. So the worker reads a layer that is still downloading the
 * way it reads an archive, from the file in its own thread, and no byte crosses between the threads as a message: the
 * main thread's part of a download is the socket and one write.
 *
 * Per layer: a change counter and a state (downloading, done, failed) as Int32, the bytes written as BigInt64.
 *
 * @module
 */
import type { LocalRange } from "../image/blob.ts";
import { openRangeFile } from "../image/range_reader.ts";

/** States (0: downloading). */
const DONE = 1;
const FAILED = 2;
/** The longest wait for news without checking whether the reader cancelled. */
const WAIT_MS = 50;
/** Bytes read from the file at a time. */
const READ_SIZE = 256 << 10;

/** Thrown in the worker when a layer's download failed; the main thread reports the download's own error instead. */
export class DownloadFailed extends Error {
  constructor(name: string) {
    super(`Cannot read ${name}: its download failed`);
    this.name = "DownloadFailed";
  }
}

/** The shared memory of a board for `layers` layers. */
export function createDownloadBoard(layers: number): SharedArrayBuffer {
  const n = Math.max(1, layers);
  return new SharedArrayBuffer(n * 8 + n * 8);
}

/** Both threads' view of the board. */
export class DownloadBoard {
  /** Per layer: [change counter, state]. */
  readonly #flags: Int32Array;
  readonly #written: BigInt64Array;

  constructor(shared: SharedArrayBuffer, layers: number) {
    const n = Math.max(1, layers);
    this.#flags = new Int32Array(shared, 0, n * 2);
    this.#written = new BigInt64Array(shared, n * 8, n);
  }

  /** Main thread: `bytes` of `layer` are in its file now. */
  wrote(layer: number, bytes: number): void {
    Atomics.store(this.#written, layer, BigInt(bytes));
    this.#changed(layer);
  }

  /** Main thread: `layer`'s download ended, with `bytes` in the file. */
  done(layer: number, bytes: number): void {
    Atomics.store(this.#written, layer, BigInt(bytes));
    Atomics.store(this.#flags, layer * 2 + 1, DONE);
    this.#changed(layer);
  }

  /** Main thread: `layer`'s download failed (the main thread keeps the error). */
  failed(layer: number): void {
    Atomics.store(this.#flags, layer * 2 + 1, FAILED);
    this.#changed(layer);
  }

  #changed(layer: number): void {
    Atomics.add(this.#flags, layer * 2, 1);
    Atomics.notify(this.#flags, layer * 2);
  }

  /**
   * Worker: read `layer`'s file (`range`, opened through its held descriptor) as it grows, handing each piece to
   * `onChunk` (valid only during the call), until the download is done and every byte written is read.
   *
   * @param cancelled asked between waits; throw from it to stop
   * @throws {DownloadFailed} when the download failed
   */
  follow(
    layer: number,
    range: LocalRange,
    name: string,
    onChunk: (chunk: Uint8Array) => void,
    cancelled: () => void,
  ): void {
    const file = openRangeFile(range, name);
    const buffer = new Uint8Array(READ_SIZE);
    let at = 0;
    try {
      for (;;) {
        // The counter before the facts: a change after this load wakes the wait below at once.
        const seen = Atomics.load(this.#flags, layer * 2);
        const state = Atomics.load(this.#flags, layer * 2 + 1);
        const written = Number(Atomics.load(this.#written, layer));
        while (at < written) {
          const n = file.readSync(buffer.subarray(0, Math.min(READ_SIZE, written - at)));
          if (n === null || n === 0) break; // shorter than written: the file changed under us; the digest says so
          onChunk(buffer.subarray(0, n));
          at += n;
        }
        if (state === FAILED) throw new DownloadFailed(name);
        // Done: every byte written is read (or the file ended early, which the layer's size and digest checks report).
        if (state === DONE) return;
        cancelled();
        if (at >= written) Atomics.wait(this.#flags, layer * 2, seen, WAIT_MS);
      }
    } finally {
      file.close();
    }
  }
}
