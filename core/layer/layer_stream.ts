/**
 * One layer blob in one pass: hash the compressed bytes (digest), decompress, hash the uncompressed bytes (diff_id) and
 * hand them on to the tar reader.
 *
 * @module
 */

import { type Digest, type DigestAlgorithm, Hasher, parseDigest } from "../digest.ts";
import { DigestMismatchError } from "../errors.ts";
import { createDecompressor } from "./decompress.ts";
import type { Compression, Decompressor, OutputSink } from "./decompressor.ts";

/** Options for {@linkcode LayerStream}. */
export interface LayerStreamOptions {
  /** How the blob is compressed (see `compressionOf`, `sniffCompression`). */
  compression: Compression;
  /** The descriptor's digest of the compressed blob; its algorithm is the one computed. */
  expectedDigest: string;
  /** The descriptor's size of the compressed blob, when known. */
  expectedSize?: number | undefined;
  /** The config's diff_id for this layer, when known; its algorithm is the one computed. */
  expectedDiffId?: string | undefined;
  /** Names the layer in messages: "layer 2 (sha256:ab12cd34ef56)". */
  name: string;
  /** Receives the uncompressed bytes; each chunk is valid only during the call. */
  sink: OutputSink;
  /**
   * The sink's side hashes the uncompressed bytes itself ({@linkcode DiffIdCheck}): `finish()` then neither computes
   * nor checks the diff_id and returns it as "". The layer worker uses it so that the main thread, which otherwise
   * waits on the worker's decompression, does that hashing. Ignored for an uncompressed blob whose diff_id is its
   * digest (one hash serves both).
   */
  diffIdElsewhere?: boolean | undefined;
}

/** What one layer turned out to be, once every byte has passed. */
export interface LayerStreamResult {
  /** Digest of the compressed blob, e.g. `sha256:…`. */
  digest: string;
  /** Size of the compressed blob in bytes. */
  size: number;
  /** Digest of the uncompressed tar stream. */
  diffId: string;
  /** Size of the uncompressed tar stream in bytes. */
  uncompressedSize: number;
}

/**
 * Verifies and decompresses one layer while it streams.
 *
 * A decompression error does not stop hashing: the stream keeps hashing what is pushed and reports at `finish()`, so a
 * damaged blob is reported as a digest mismatch (what the user can act on) rather than as whatever the decompressor
 * tripped over. Errors thrown by the sink propagate at once.
 *
 * @example Verifying an uncompressed layer
 * ```ts
 * import assert from "node:assert/strict";
 * import { LayerStream } from "./layer_stream.ts";
 * const tar = new Uint8Array(1024);
 * const digest = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";
 * const layer = new LayerStream({ compression: "none", expectedDigest: digest, name: "layer 1", sink: () => {} });
 * layer.push(tar);
 * assert.equal(layer.finish().diffId, digest);
 * ```
 */
export class LayerStream {
  readonly #name: string;
  readonly #sink: OutputSink;
  readonly #expectedDigest: Digest;
  readonly #expectedSize: number | undefined;
  readonly #expectedDiffId: Digest | undefined;
  readonly #blobHasher: Hasher;
  /** The same object as #blobHasher when the blob is the tar stream itself. */
  readonly #diffHasher: Hasher;
  readonly #decompressor: Decompressor;
  /** Whether the diff_id is computed and checked here (see LayerStreamOptions.diffIdElsewhere). */
  readonly #diffIdHere: boolean;
  #uncompressedSize = 0;
  #decompressError: unknown = undefined;
  #sinkFailed = false;
  #done = false;

  /** @throws {Oci2LxcError} when a digest is malformed or the decompressor cannot start */
  constructor(options: LayerStreamOptions) {
    this.#name = options.name;
    this.#sink = options.sink;
    this.#expectedDigest = parseDigest(options.expectedDigest, options.name);
    this.#expectedSize = options.expectedSize;
    this.#expectedDiffId = options.expectedDiffId === undefined
      ? undefined
      : parseDigest(options.expectedDiffId, `the diff_id of ${options.name}`);
    this.#blobHasher = new Hasher(this.#expectedDigest.algorithm);
    const diffAlgorithm = this.#expectedDiffId?.algorithm ??
      this.#expectedDigest.algorithm;
    const sameBytes = options.compression === "none" &&
      diffAlgorithm === this.#expectedDigest.algorithm;
    this.#diffHasher = sameBytes ? this.#blobHasher : new Hasher(diffAlgorithm);
    this.#diffIdHere = sameBytes || options.diffIdElsewhere !== true;
    const forward = sameBytes ? this.#forward : this.#diffIdHere ? this.#hashAndForward : this.#countAndForward;
    this.#decompressor = createDecompressor(
      options.compression,
      forward,
      options.name,
    );
  }

  /**
   * Hash, decompress and forward one chunk of the compressed blob.
   *
   * @throws whatever the sink throws; decompression errors wait for `finish()`
   */
  push(chunk: Uint8Array): void {
    if (this.#done || this.#sinkFailed) {
      throw new Error(
        `Cannot read ${this.#name}: the layer stream is finished or failed`,
      );
    }
    this.#blobHasher.update(chunk);
    if (this.#decompressError !== undefined) return;
    try {
      this.#decompressor.push(chunk);
    } catch (err) {
      if (this.#sinkFailed) {
        this.#decompressor.close();
        throw err;
      }
      this.#decompressError = err;
      this.#decompressor.close();
    }
  }

  /**
   * End of the blob: check size, digest, decompression and diff_id, in that order, and release native memory.
   *
   * @throws {DigestMismatchError} naming the layer and both values on a size, digest or diff_id mismatch
   * @throws {Oci2LxcError} when the blob matches its digest but does not decompress
   */
  finish(): LayerStreamResult {
    if (this.#done || this.#sinkFailed) {
      throw new Error(
        `Cannot read ${this.#name}: the layer stream is finished or failed`,
      );
    }
    this.#done = true;
    let decompressError = this.#decompressError;
    if (decompressError === undefined) {
      try {
        this.#decompressor.finish();
      } catch (err) {
        if (this.#sinkFailed) throw err;
        decompressError = err;
      }
    }
    const name = this.#name;
    const size = this.#blobHasher.size;
    const expectedSize = this.#expectedSize;
    if (expectedSize !== undefined && size !== expectedSize) {
      throw new DigestMismatchError(
        name,
        `${expectedSize} bytes`,
        `${size} bytes`,
        `Cannot verify ${name}: the blob is ${size} bytes, expected ${expectedSize} bytes`,
      );
    }
    const digest = this.#blobHasher.digest();
    const expectedDigest = this.#expectedDigest.text;
    if (digest !== expectedDigest) {
      throw new DigestMismatchError(
        name,
        expectedDigest,
        digest,
        `Cannot verify ${name}: the blob's digest is ${digest}, expected ${expectedDigest}`,
      );
    }
    if (decompressError !== undefined) throw decompressError;
    if (!this.#diffIdHere) return { digest, size, diffId: "", uncompressedSize: this.#uncompressedSize };
    const diffId = this.#diffHasher.digest();
    const expectedDiffId = this.#expectedDiffId?.text;
    if (expectedDiffId !== undefined && diffId !== expectedDiffId) throw diffIdMismatch(name, expectedDiffId, diffId);
    return { digest, size, diffId, uncompressedSize: this.#diffHasher.size };
  }

  /** Release native memory without checking anything (after a failure elsewhere). */
  close(): void {
    this.#done = true;
    this.#decompressor.close();
  }

  #forward = (chunk: Uint8Array): void => {
    try {
      this.#sink(chunk);
    } catch (err) {
      this.#sinkFailed = true;
      throw err;
    }
  };

  #hashAndForward = (chunk: Uint8Array): void => {
    this.#diffHasher.update(chunk);
    this.#forward(chunk);
  };

  #countAndForward = (chunk: Uint8Array): void => {
    this.#uncompressedSize += chunk.length;
    this.#forward(chunk);
  };
}

/** The error of a layer whose uncompressed content does not match its diff_id. */
export function diffIdMismatch(name: string, expected: string, actual: string): DigestMismatchError {
  return new DigestMismatchError(
    `diff_id of ${name}`,
    expected,
    actual,
    `Cannot verify ${name}: the uncompressed content's diff_id is ${actual}, expected ${expected}`,
  );
}

/**
 * The diff_id side of a layer read on two threads: hashes the uncompressed bytes as the reader takes them, and checks
 * them at the end against the expected diff_id (when one is given), with the same error {@linkcode LayerStream} gives.
 */
export class DiffIdCheck {
  readonly #hasher: Hasher;
  readonly #expected: string | undefined;
  readonly #name: string;

  /** @param expectedDiffId the config's diff_id (its algorithm is the one computed), or undefined to learn it */
  constructor(name: string, expectedDiffId: string | undefined, fallbackAlgorithm: DigestAlgorithm) {
    const expected = expectedDiffId === undefined ? undefined : parseDigest(expectedDiffId, `the diff_id of ${name}`);
    this.#hasher = new Hasher(expected?.algorithm ?? fallbackAlgorithm);
    this.#expected = expected?.text;
    this.#name = name;
  }

  update(chunk: Uint8Array): void {
    this.#hasher.update(chunk);
  }

  /**
   * The diff_id.
   *
   * @throws {DigestMismatchError} when it is not the expected one
   */
  finish(): string {
    const diffId = this.#hasher.digest();
    if (this.#expected !== undefined && diffId !== this.#expected) {
      throw diffIdMismatch(this.#name, this.#expected, diffId);
    }
    return diffId;
  }
}
